"""Turns one event into notifications: matches rules, renders each rule's template, sends it
through the rule's provider, and records the outcome in the notification log.

A notification already SENT or DEAD is not sent again, so a redelivered event is harmless.
`dispatch` returns None when the event is fully handled, or the delay after which it should be
redelivered because an attempt failed transiently. A `notifications.retrying` event (written
by RetryNotification) makes one more attempt at a DEAD notification that an operator requeued.
"""

from __future__ import annotations

import asyncio
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jinja2

from services.common.config import NotifierConfig, RuleConfig
from services.common.database import DatabaseExecutor
from services.common.events import subject_matches
from services.notifier.models import NotificationRow
from services.notifier.providers import (
    Email,
    EmailProvider,
    PermanentError,
    ProviderError,
    TransientError,
)
from services.notifier.repository import RETRY_KIND, Draft, NotificationsRepository
from services.notifier.templates import MessageTemplate, TemplateError, load_template

log = logging.getLogger(__name__)
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Rule:
    name: str
    event: str
    template: MessageTemplate
    to: jinja2.Template
    provider: EmailProvider

    @classmethod
    def compile(
        cls,
        config: RuleConfig,
        templates_dir: str,
        providers: dict[str, EmailProvider],
        default_provider: str,
    ) -> Rule:
        """Raises TemplateError or KeyError naming what is wrong, at start."""
        return cls(
            name=config.name,
            event=config.event,
            template=load_template(config.template, templates_dir),
            to=_ENV.from_string(config.to),
            provider=providers[config.provider or default_provider],
        )


class Dispatcher:
    def __init__(
        self,
        rules: list[Rule],
        providers: dict[str, EmailProvider],
        repository: NotificationsRepository,
        executor: DatabaseExecutor,
        config: NotifierConfig,
    ) -> None:
        self._rules = rules
        self._providers = providers
        self._repository = repository
        self._db = executor
        self._config = config
        self._senders = ThreadPoolExecutor(config.concurrency, thread_name_prefix="provider")

    def handles(self, kind: str) -> bool:
        """Whether an event of `kind` (the subject after `joist.events.`) concerns us."""
        return kind == RETRY_KIND or any(subject_matches(r.event, kind) for r in self._rules)

    async def dispatch(self, event: dict[str, Any], kind: str) -> float | None:
        if kind == RETRY_KIND:
            await self._retry(str(event.get("subject", "")))
            return None
        rules = [rule for rule in self._rules if subject_matches(rule.event, kind)]
        delays = [await self._deliver(event, rule) for rule in rules]
        pending = [d for d in delays if d is not None]
        return min(pending) if pending else None

    def close(self) -> None:
        """Waits for sends in progress, then closes the providers' connections."""
        self._senders.shutdown(wait=True)
        for provider in self._providers.values():
            provider.close()

    async def _deliver(self, event: dict[str, Any], rule: Rule) -> float | None:
        draft, problem = self._draft(event, rule)
        row = await self._db.run(self._repository.find_for, draft)
        if row is not None and row.state in ("SENT", "DEAD"):
            return None
        if problem:
            row = row or await self._db.run(self._repository.store, self._repository.new(draft))
            await self._finish(row, problem, dead=True)
            return None
        if row is not None:  # a redelivery after a failed attempt
            return await self._settle(row, await self._send(rule.provider, row), False)
        # A new notification: its QUEUED row is stored while the provider sends, so the email
        # does not wait for that commit; the outcome is recorded once both are done.
        row = self._repository.new(draft)
        stored = asyncio.ensure_future(self._db.run(self._repository.store, row))
        try:
            error = await self._send(rule.provider, row)
        finally:
            row = await stored
        return await self._settle(row, error, False)

    async def _retry(self, notification_id: str) -> None:
        """An operator's retry of a DEAD notification: one more attempt, now."""
        row = await self._db.run(self._repository.find, notification_id)
        if row is not None and row.state == "QUEUED":
            provider = self._providers[row.provider]
            await self._settle(row, await self._send(provider, row), last_chance=True)

    async def _send(self, provider: EmailProvider, row: NotificationRow) -> ProviderError | None:
        """Hands `row` to `provider`; returns the provider's refusal, if any."""
        email = Email(
            message_id=row.id,
            sender=self._config.email_from,
            to=row.recipient,
            subject=row.title,
            body=row.body,
            reply_to=row.reply_to,
        )
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._senders, provider.send, email)
        except (TransientError, PermanentError) as exc:
            return exc
        return None

    async def _settle(
        self, row: NotificationRow, error: ProviderError | None, last_chance: bool
    ) -> float | None:
        """Records an attempt's outcome; returns the delay before the next attempt when the
        failure is transient and attempts remain."""
        if error is None:
            await self._finish(row, "", dead=False)
            return None
        dead = (
            last_chance
            or isinstance(error, PermanentError)
            or row.attempts + 1 >= self._config.max_attempts
        )
        log.warning(
            "delivery failed",
            extra={"fields": {"notification": row.id, "error": str(error), "dead": dead}},
        )
        await self._finish(row, str(error), dead)
        return None if dead else self._backoff(row.attempts + 1)

    async def _finish(self, row: NotificationRow, error: str, dead: bool) -> None:
        if error:
            await self._db.run(self._repository.mark_failed, row.id, error, dead)
        else:
            await self._db.run(self._repository.mark_sent, row.id)

    def _draft(self, event: dict[str, Any], rule: Rule) -> tuple[Draft, str]:
        """The notification to create, and the rendering problem that makes it dead (empty
        when there is none)."""
        context = _context(event, self._config.admin_email)
        title = body = recipient = reply_to = ""
        problem = ""
        try:
            recipient = " ".join(rule.to.render(context).split())
            rendered = rule.template.render(context)
            title, body, reply_to = rendered.title, rendered.body, rendered.reply_to
            if not recipient:
                problem = f"rule {rule.name!r}: recipient rendered empty"
        except (TemplateError, jinja2.TemplateError) as exc:
            problem = f"rule {rule.name!r}: {exc}"
        draft = Draft(
            rule=rule.name,
            event_id=event["id"],
            event_type=event["type"],
            event_subject=str(event.get("subject", "")),
            channel="email",
            provider=rule.provider.name,
            recipient=recipient[:320],
            title=title,
            body=body,
            reply_to=reply_to[:320],
        )
        return draft, problem

    def _backoff(self, attempts: int) -> float:
        ceiling = min(
            self._config.retry_base_delay * 2 ** (attempts - 1), self._config.retry_max_delay
        )
        return ceiling * random.uniform(0.5, 1.0)


def _context(event: dict[str, Any], admin_email: str) -> dict[str, Any]:
    context = {"event": event, "data": event.get("data"), "admin_email": admin_email}
    if event["type"].startswith("joist.records."):
        context["record"] = event.get("data")
    return context

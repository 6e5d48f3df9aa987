"""Turns one event into notifications: matches rules, renders each rule's template, sends it
through the rule's provider, and records the outcome in the notification log.

A notification already SENT or DEAD is not sent again, so a redelivered event is harmless.
`dispatch` returns None when the event is fully handled, or the delay after which it should be
redelivered because an attempt failed transiently.
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
from services.common.outbox import OutboxRelay
from services.notifier.providers import Email, EmailProvider, PermanentError, TransientError
from services.notifier.repository import Draft, NotificationsRepository
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
        repository: NotificationsRepository,
        executor: DatabaseExecutor,
        relay: OutboxRelay,
        config: NotifierConfig,
    ) -> None:
        self._rules = rules
        self._repository = repository
        self._db = executor
        self._relay = relay
        self._config = config
        self._senders = ThreadPoolExecutor(config.concurrency, thread_name_prefix="provider")

    def matching(self, kind: str) -> list[Rule]:
        """Rules whose pattern matches `kind` (the subject after `joist.events.`)."""
        return [rule for rule in self._rules if subject_matches(rule.event, kind)]

    async def dispatch(self, event: dict[str, Any], rules: list[Rule]) -> float | None:
        delays = [await self._deliver(event, rule) for rule in rules]
        pending = [d for d in delays if d is not None]
        return min(pending) if pending else None

    def close(self) -> None:
        """Waits for sends in progress, then closes the providers' connections."""
        self._senders.shutdown(wait=True)
        for provider in {id(rule.provider): rule.provider for rule in self._rules}.values():
            provider.close()

    async def _deliver(self, event: dict[str, Any], rule: Rule) -> float | None:
        draft, reply_to, problem = self._draft(event, rule)
        row = await self._db.run(self._repository.open, draft)
        if row.state in ("SENT", "DEAD"):
            return None
        if problem:
            await self._db.run(self._repository.mark_failed, row.id, problem, True)
            self._relay.wake()
            return None
        email = Email(
            message_id=row.id,
            sender=self._config.email_from,
            to=draft.recipient,
            subject=draft.title,
            body=draft.body,
            reply_to=reply_to,
        )
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._senders, rule.provider.send, email)
        except (TransientError, PermanentError) as exc:
            dead = isinstance(exc, PermanentError) or row.attempts + 1 >= self._config.max_attempts
            log.warning(
                "delivery failed",
                extra={"fields": {"notification": row.id, "error": str(exc), "dead": dead}},
            )
            await self._db.run(self._repository.mark_failed, row.id, str(exc), dead)
            self._relay.wake()
            return None if dead else self._backoff(row.attempts + 1)
        await self._db.run(self._repository.mark_sent, row.id)
        self._relay.wake()
        return None

    def _draft(self, event: dict[str, Any], rule: Rule) -> tuple[Draft, str, str]:
        """The notification to create, its Reply-To, and the rendering problem that makes it
        dead (empty when there is none)."""
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
        )
        return draft, reply_to, problem

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

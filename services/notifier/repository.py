"""The notification log: creation (idempotent per event and rule), state changes, queries.

Each state change also enqueues a `notifications.<sent|failed|dead|retrying>` event in the same
transaction. Methods are blocking and run on the service's DatabaseExecutor.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee

from services.common.database import write_transaction
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.events import make_event
from services.common.filtering import FilterField, ValueKind, parse_filter
from services.common.ids import new_id
from services.common.keys import stored_key
from services.common.ordering import after_condition, key_values, order_clauses, parse_order_by
from services.common.outbox import OutboxRow, create_outbox, enqueue
from services.common.pagination import PageTokens, page_size
from services.common.timestamps import utc_now
from services.notifier.models import STATES, NotificationRow
from services.notifier.render import to_event_json

EVENT_SOURCE = "joist/notifier"
RETRY_KIND = "notifications.retrying"


@dataclass(frozen=True)
class Draft:
    """What a rule produced for one event, before any delivery attempt."""

    rule: str
    event_id: str
    event_type: str
    event_subject: str
    channel: str
    provider: str
    recipient: str
    title: str
    body: str
    reply_to: str


class NotificationsRepository:
    def __init__(
        self, db: peewee.Database, model: type[NotificationRow], outbox: type[OutboxRow]
    ) -> None:
        self._db = db
        self._model = model
        self._outbox = outbox
        self._filter_fields = {
            name: FilterField(getattr(model, name), ValueKind.STRING)
            for name in (
                "id",
                "rule",
                "event_id",
                "event_type",
                "event_subject",
                "channel",
                "provider",
                "recipient",
            )
        } | {"state": FilterField(model.state, ValueKind.ENUM, {s: s for s in STATES})}
        # Newest first: ids are UUIDv7, which sort by creation time.
        self._order = parse_order_by("", self._filter_fields, default="id desc")

    def create_tables(self) -> None:
        self._db.create_tables([self._model], safe=True)
        create_outbox(self._outbox)

    def find_for(self, draft: Draft) -> NotificationRow | None:
        """The notification already made for this event and rule, if any."""
        m = self._model
        return m.get_or_none((m.event_id == draft.event_id) & (m.rule == draft.rule))

    def new(self, draft: Draft) -> NotificationRow:
        """A QUEUED notification for `draft`, not stored yet (see `store`)."""
        now = utc_now()
        return self._model(id=new_id(), create_time=now, update_time=now, **vars(draft))

    def store(self, row: NotificationRow) -> NotificationRow:
        """Inserts a notification made by `new`, or returns its twin when a concurrent delivery
        of the same event stored one first (one notification per event and rule)."""
        try:
            with write_transaction(self._db):
                row.save(force_insert=True)
        except peewee.IntegrityError:
            twin = self._model.get_or_none(
                (self._model.event_id == row.event_id) & (self._model.rule == row.rule)
            )
            if twin is None:
                raise
            return twin
        return row

    def request_retry(self, notification_id: str) -> NotificationRow:
        """Requeues a DEAD notification and enqueues the event that makes the consumer try it
        once more; any other state is FAILED_PRECONDITION."""
        with write_transaction(self._db):
            row = self.get(notification_id)
            if row.state != "DEAD":
                raise FailedPrecondition(
                    f"notification {notification_id!r} is {row.state}; "
                    "only DEAD notifications can be retried"
                )
            row.state = "QUEUED"
            row.update_time = utc_now()
            row.save()
            self._publish(row, RETRY_KIND)
        return row

    def mark_sent(self, notification_id: str) -> NotificationRow:
        return self._finish(notification_id, "SENT", "")

    def mark_failed(self, notification_id: str, error: str, dead: bool) -> NotificationRow:
        return self._finish(notification_id, "DEAD" if dead else "FAILED", error)

    def _finish(self, notification_id: str, state: str, error: str) -> NotificationRow:
        m = self._model
        with write_transaction(self._db):
            row = m.get_by_id(notification_id)
            row.state = state
            row.attempts += 1
            row.update_time = utc_now()
            if state == "SENT":
                row.send_time = row.update_time
            else:
                row.last_error = error[:2000]
            row.save()
            self._publish(row, f"notifications.{state.lower()}")
        return row

    def _publish(self, row: NotificationRow, kind: str) -> None:
        event = make_event(
            kind, source=EVENT_SOURCE, subject=row.id, data=to_event_json(row), time=row.update_time
        )
        enqueue(self._outbox, [event])

    def find(self, notification_id: str) -> NotificationRow | None:
        return self._model.get_or_none(self._model.id == notification_id)

    def get(self, notification_id: str) -> NotificationRow:
        if not notification_id:
            raise InvalidArgument.field("id", "is required")
        row = self.find(notification_id)
        if row is None:
            raise NotFound(f"notification {notification_id!r} not found")
        return row

    def list(self, size: int, token: str, filter_text: str) -> tuple[list[NotificationRow], str]:
        """Newest first, keyset-paginated, filtered by an AIP-160 filter."""
        tokens = PageTokens(stored_key(self._db, "page_tokens"))  # read once, then remembered
        limit = page_size(size)
        condition = parse_filter(filter_text, self._filter_fields)
        fingerprint = f"notifications\n{filter_text}"
        after = tokens.decode(token, self._order, fingerprint)
        query = self._model.select().order_by(*order_clauses(self._order)).limit(limit + 1)
        if condition is not None:
            query = query.where(condition)
        if after is not None:
            query = query.where(after_condition(self._order, after))
        rows = list(query)
        if len(rows) <= limit:
            return rows, ""
        last = key_values(self._order, rows[limit - 1])
        return rows[:limit], tokens.encode(self._order, last, fingerprint)

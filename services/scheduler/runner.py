"""Runs jobs on time with a `schedule.Scheduler` and publishes each firing to JetStream.

Interval jobs fire at the start of each slot (multiples of their period since the epoch), so
replicas fire together; daily jobs at their clock time. Job callbacks only queue the firing
(they never raise, so one bad job cannot stop `run_pending`); a publisher task sends queued
firings, retrying while NATS is unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import nats.errors
import schedule

from services.common.broker import Broker
from services.common.events import make_event
from services.common.ids import new_id
from services.common.timestamps import utc_now
from services.scheduler.jobs import JobSpec

log = logging.getLogger(__name__)

EVENT_SOURCE = "joist/scheduler"
PUBLISH_ATTEMPTS = 10


@dataclass
class JobState:
    spec: JobSpec
    handle: schedule.Job
    last_run: datetime | None = None
    run_count: int = 0


@dataclass(frozen=True)
class Firing:
    job: str
    slot: str
    manual: bool


class JobRunner:
    def __init__(self, specs: list[JobSpec], broker: Broker, publish_timeout: float) -> None:
        self._broker = broker
        self._publish_timeout = publish_timeout
        self._scheduler = schedule.Scheduler()
        self._queue: asyncio.Queue[Firing] = asyncio.Queue()
        self.jobs: dict[str, JobState] = {}
        for spec in specs:
            if spec.at:
                handle = self._scheduler.every(spec.every_seconds // 86400).days.at(spec.at)
            else:
                handle = self._scheduler.every(spec.every_seconds).seconds
            handle.do(self._due, spec.name)
            self.jobs[spec.name] = JobState(spec, handle)
        self._align()

    def next_run(self, name: str) -> datetime | None:
        """The next scheduled run (schedule keeps local naive times; this is aware)."""
        moment = self.jobs[name].handle.next_run
        return moment.astimezone(UTC) if moment is not None else None

    def run_now(self, name: str) -> None:
        """Fires `name` at once, outside its schedule (a slot of its own)."""
        self._queue.put_nowait(Firing(name, f"manual-{new_id()}", manual=True))

    async def run(self) -> None:
        publisher = asyncio.create_task(self._publish_forever())
        try:
            while True:
                self._scheduler.run_pending()
                self._align()
                idle = self._scheduler.idle_seconds
                await asyncio.sleep(1.0 if idle is None else min(max(idle, 0.01), 1.0))
        finally:
            publisher.cancel()

    def _align(self) -> None:
        """Moves each interval job's next run to the start of its next slot (a multiple of its
        period since the epoch): `schedule` counts from the process's start, and replicas
        started at different times would fire one slot minutes apart, beyond JetStream's
        duplicate window. Aligned, they fire within milliseconds and one event is kept."""
        for state in self.jobs.values():
            if state.spec.at or state.handle.next_run is None:
                continue
            period = state.spec.every_seconds
            boundary = math.floor(state.handle.next_run.timestamp() / period) * period
            if boundary <= time.time():
                boundary += period
            state.handle.next_run = datetime.fromtimestamp(boundary)  # local, as schedule keeps

    def _due(self, name: str) -> None:
        try:
            slot = self.jobs[name].spec.slot(time.time())
            self._queue.put_nowait(Firing(name, str(slot), manual=False))
        except Exception:
            log.exception("job %s could not be queued", name)

    async def _publish_forever(self) -> None:
        js = await self._broker.jetstream()
        while True:
            firing = await self._queue.get()
            state = self.jobs[firing.job]
            now = utc_now()
            event = make_event(
                state.spec.subject_kind,
                source=EVENT_SOURCE,
                subject=firing.job,
                event_id=f"{firing.job}:{firing.slot}",
                data={"job": firing.job, "slot": firing.slot, "manual": firing.manual},
                time=now,
            )
            for attempt in range(1, PUBLISH_ATTEMPTS + 1):
                try:
                    await js.publish(
                        event.subject,
                        event.payload,
                        timeout=self._publish_timeout,
                        headers={"Nats-Msg-Id": event.id},
                    )
                    state.last_run, state.run_count = now, state.run_count + 1
                    log.info("fired", extra={"fields": {"job": firing.job, "slot": firing.slot}})
                    break
                except (TimeoutError, nats.errors.Error) as exc:
                    log.warning("publishing %s failed (attempt %d): %s", event.id, attempt, exc)
                    await asyncio.sleep(min(0.5 * 2**attempt, 10))
            else:
                log.error("gave up publishing %s", event.id)

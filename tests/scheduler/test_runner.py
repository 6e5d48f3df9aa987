"""The job runner against a real nats-server: jobs fire on time, once per slot, and on demand."""

from __future__ import annotations

import asyncio
import json
import time

from services.common.broker import Broker
from services.common.config import NatsConfig
from services.scheduler.jobs import JobSpec
from services.scheduler.runner import JobRunner
from tests.support.jetstream import stream_messages


async def test_jobs_fire_per_slot_and_on_demand(nats_server):
    broker = Broker(NatsConfig(url=nats_server.url), name="test")
    runner = JobRunner([JobSpec("tick", 1), JobSpec("daily", 86400, "03:00")], broker, 2.0)
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(runner.run())]
    try:
        await asyncio.wait_for(broker.jetstream(), 10)
        runner.run_now("daily")
        ticks = await stream_messages(nats_server.url, "joist.events.schedule.tick", 2, wait=5)
        daily = await stream_messages(nats_server.url, "joist.events.schedule.daily", 1)
    finally:
        for task in tasks:
            task.cancel()
        await broker.close()
    slots = [json.loads(m.data)["data"]["slot"] for m in ticks]
    assert len(slots) == len(set(slots)) >= 2
    assert [m.headers["Nats-Msg-Id"] for m in ticks] == [f"tick:{s}" for s in slots]
    (manual,) = daily
    assert json.loads(manual.data)["data"]["manual"] is True
    assert runner.jobs["daily"].run_count == 1
    assert runner.next_run("daily").tzinfo is not None


def test_interval_jobs_fire_at_the_start_of_their_slots():
    broker = Broker(NatsConfig(), name="test")  # never connected: nothing is published
    runner = JobRunner([JobSpec("rates", 900), JobSpec("tick", 7)], broker, 2.0)
    for name, period in (("rates", 900), ("tick", 7)):
        moment = runner.next_run(name).timestamp()
        assert moment % period == 0
        assert 0 < moment - time.time() <= period

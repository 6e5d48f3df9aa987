from __future__ import annotations

import pytest

from services.common.checks import duration_seconds as seconds
from services.common.config import ConfigError, JobConfig, SchedulerConfig
from services.scheduler.jobs import JobSpec, job_specs


def test_heartbeat_comes_first_then_configured_jobs():
    specs = job_specs(
        SchedulerConfig(
            heartbeat_every="30s",
            jobs=(
                JobConfig(name="report", every="1d", at="07:30"),
                JobConfig(name="rates", every="15m"),
            ),
        )
    )
    assert [(s.name, s.every_seconds, s.at) for s in specs] == [
        ("heartbeat", 30, ""),
        ("report", 86400, "07:30"),
        ("rates", 900, ""),
    ]
    assert specs[1].describe() == "every day at 07:30"
    assert specs[2].describe() == "every 900 seconds"
    assert specs[2].subject_kind == "schedule.rates"


def test_slots_are_shared_by_every_replica_within_a_period():
    job = JobSpec("rates", 900)
    assert job.slot(1_800_000_000.0) == job.slot(1_800_000_899.9) == 2_000_000
    assert job.slot(1_800_000_900.0) == 2_000_001


@pytest.mark.parametrize(
    ("jobs", "named"),
    [
        ((JobConfig(name="heartbeat", every="5m"),), r"scheduler.jobs\[0\].name"),
        ((JobConfig(name="x", every="90m", at="07:30"),), r"scheduler.jobs\[0\].at"),
    ],
)
def test_bad_jobs_are_named(jobs: tuple[JobConfig, ...], named: str):
    with pytest.raises(ConfigError, match=named):
        job_specs(SchedulerConfig(jobs=jobs))


@pytest.mark.parametrize(
    ("text", "expected"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, expected: int):
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["0s", "5", "5 m", "1w", "-1m", ""])
def test_bad_durations(text: str):
    with pytest.raises(ValueError):
        seconds(text)

"""Job definitions: the heartbeat plus the configured jobs, with their schedule and slots.

A slot numbers the job's periods since the epoch (`int(time // period)`); the event of a firing
carries `Nats-Msg-Id = <job>:<slot>`, so when every replica fires, JetStream keeps one.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.checks import duration_seconds
from services.common.config import ConfigError, SchedulerConfig


@dataclass(frozen=True)
class JobSpec:
    name: str
    every_seconds: int
    at: str = ""  # "HH:MM", only for jobs whose period is whole days

    @property
    def subject_kind(self) -> str:
        return f"schedule.{self.name}"

    def describe(self) -> str:
        if self.at:
            days = self.every_seconds // 86400
            return f"every {'day' if days == 1 else f'{days} days'} at {self.at}"
        return f"every {self.every_seconds} seconds"

    def slot(self, moment: float) -> int:
        return int(moment // self.every_seconds)


def job_specs(config: SchedulerConfig) -> list[JobSpec]:
    """The heartbeat and the configured jobs; raises ConfigError naming a bad one."""
    specs = [JobSpec("heartbeat", duration_seconds(config.heartbeat_every))]
    for i, job in enumerate(config.jobs):
        if job.name == "heartbeat":
            raise ConfigError(
                f"scheduler.jobs[{i}].name: 'heartbeat' is built in "
                "(set scheduler.heartbeat_every instead)"
            )
        seconds = duration_seconds(job.every)
        if job.at and seconds % 86400:
            raise ConfigError(f"scheduler.jobs[{i}].at: only allowed when `every` is in days")
        specs.append(JobSpec(job.name, seconds, job.at))
    return specs

"""The schedule's request body (pydantic) and answer (`/api/v1/jobs/{job_id}/schedule`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consortia.formats import alma_datetime, coded
from consortia.jobs import schedules
from consortia.jobs.models import JobSchedule
from consortia.jobs.registry import JobKind


class ScheduleIn(BaseModel):
    """`frequency` NONE, DAILY, WEEKLY (with `weekday`, MONDAY..SUNDAY) or MONTHLY (with `day`, 1-31);
    `time` HH:MM in UTC; `parameters` as a run's (name → value); `version` the one read (0: none yet),
    to refuse with 409 a change made by someone else meanwhile."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    frequency: str = Field(max_length=20)
    time: str | None = Field(None, max_length=10)
    weekday: str | None = Field(None, max_length=20)
    day: int | None = Field(None, ge=1, le=31)
    parameters: dict[str, str] = Field(default_factory=dict, max_length=50)
    version: int | None = Field(None, ge=0, le=2**31 - 1)


def schedule_json(kind: JobKind, schedule: JobSchedule | None, instance_link: str | None = None) -> dict[str, Any]:
    """The schedule of a job in one institution (frequency NONE and version 0 when it has none)."""
    value, desc = schedules.schedule_value(schedule)
    timing = schedules.timing_of(schedule) if schedule is not None else None
    return {
        "job": coded(kind.job_id, kind.name),
        "schedulable": kind.schedulable,
        "schedule": coded(value, desc),
        "frequency": timing.frequency if timing else schedules.NONE,
        "time": timing.time_of_day if timing and timing.frequency != schedules.NONE else None,
        "weekday": schedules.WEEKDAYS[timing.weekday] if timing and timing.weekday is not None else None,
        "day": timing.day if timing else None,
        "parameters": dict(schedule.parameters or {}) if schedule else {},
        "runs_as": coded(schedule.user_label, None) if schedule else None,
        "next_run": alma_datetime(schedule.next_run_at) if schedule and schedule.next_run_at else None,
        "last_run": alma_datetime(schedule.last_run_at) if schedule and schedule.last_run_at else None,
        "last_run_instance": (
            {"value": str(schedule.last_run_instance_id), "link": instance_link}
            if schedule and schedule.last_run_instance_id is not None
            else None
        ),
        "version": schedule.version if schedule else 0,
    }

"""The job table (P-7): status, progress, counters, report, checkpoint and lease."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consortia.db import Base, utcnow

QUEUED = "QUEUED"
RUNNING = "RUNNING"
COMPLETED_SUCCESS = "COMPLETED_SUCCESS"
COMPLETED_FAILED = "COMPLETED_FAILED"  # Alma's code for "Completed with Errors"
FAILED = "FAILED"
FINAL_STATUSES = frozenset({COMPLETED_SUCCESS, COMPLETED_FAILED, FAILED})

# How an instance came to be (Alma's job `type`): run by hand, or submitted by its job's schedule.
MANUAL = "MANUAL"
SCHEDULED = "SCHEDULED"
RUN_TYPE_DESC = {MANUAL: "Manual", SCHEDULED: "Scheduled"}

STATUS_DESC = {
    QUEUED: "Queued",
    RUNNING: "Running",
    COMPLETED_SUCCESS: "Completed Successfully",
    COMPLETED_FAILED: "Completed with Errors",
    FAILED: "Failed",
}


class JobInstance(Base):
    """One run of a job kind. The runner holds the lease while it works; work is done in chunks and
    each chunk commits its changes together with the new checkpoint and counters."""

    __tablename__ = "job_instance"
    __table_args__ = (
        Index("ix_job_instance_kind", "job_code", "id"),
        Index("ix_job_instance_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_code: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(200), default="System")
    status: Mapped[str] = mapped_column(String(30), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counters: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    report: Mapped[str] = mapped_column(Text, default="")
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    submit_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    start_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    end_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    related_entity: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[str | None] = mapped_column(String(100))
    run_type: Mapped[str] = mapped_column(String(20), default=MANUAL)


class JobEvent(Base):
    """A per-record problem or note of a job instance (e.g. a malformed MARC record and why)."""

    __tablename__ = "job_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_instance_id: Mapped[int] = mapped_column(ForeignKey("job_instance.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    record: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class JobSchedule(Base):
    """When a job kind runs by itself in one institution, with which parameters and as whom.

    `next_run_at` is the next due slot (NULL: not scheduled, frequency NONE); the due-schedule tick
    claims a row by moving it with `WHERE id = :id AND next_run_at = :seen`, so one slot is submitted
    once however many workers tick. `user_id` is the person who set the schedule: its runs act for them
    and are submitted only while they may still run the job. `version` counts the settings' changes."""

    __tablename__ = "job_schedule"
    __table_args__ = (
        UniqueConstraint("institution_id", "job_code", name="uq_job_schedule_institution_job"),
        Index("ix_job_schedule_next_run_at", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    job_code: Mapped[str] = mapped_column(String(40))
    frequency: Mapped[str] = mapped_column(String(10))
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 Monday .. 6 Sunday (WEEKLY)
    day: Mapped[int | None] = mapped_column(Integer)  # 1..31 (MONTHLY; the last day in shorter months)
    time_of_day: Mapped[str] = mapped_column(String(5))  # HH:MM, UTC
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    user_label: Mapped[str] = mapped_column(String(200))
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_run_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_instance.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

"""The job table (P-7): status, progress, counters, report, checkpoint and lease."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consortia.db import Base, utcnow

QUEUED = "QUEUED"
RUNNING = "RUNNING"
COMPLETED_SUCCESS = "COMPLETED_SUCCESS"
COMPLETED_FAILED = "COMPLETED_FAILED"  # Alma's code for "Completed with Errors"
FAILED = "FAILED"
FINAL_STATUSES = frozenset({COMPLETED_SUCCESS, COMPLETED_FAILED, FAILED})

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


class JobEvent(Base):
    """A per-record problem or note of a job instance (e.g. a malformed MARC record and why)."""

    __tablename__ = "job_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_instance_id: Mapped[int] = mapped_column(ForeignKey("job_instance.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    record: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

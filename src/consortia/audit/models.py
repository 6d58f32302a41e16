"""History rows (P-6): one append-only table that every domain writes to, and the actor a row names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consortia.db import Base, utcnow


class HistoryEvent(Base):
    __tablename__ = "history_event"
    __table_args__ = (Index("ix_history_event_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    # The institution whose data this is (NULL for consortium- or platform-wide things); used
    # to keep history inside tenancy.
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    field: Mapped[str] = mapped_column(String(100))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    job_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


@dataclass(frozen=True)
class Actor:
    """Who did a change: a user (id + label), or the system; with the job instance when a job did it."""

    user_id: int | None
    label: str
    job_instance_id: int | None = None

    def in_job(self, job_instance_id: int) -> Actor:
        return Actor(self.user_id, self.label, job_instance_id)


SYSTEM = Actor(None, "System")

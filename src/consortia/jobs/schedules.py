"""Jobs that run on a schedule: the schedules' verbs, when a schedule is next due, and the due tick.

A kind may be scheduled when it says so (`JobKind.schedulable`). An institution has at most one
schedule per kind (`JobSchedule`): a frequency (NONE, DAILY, WEEKLY on a weekday, MONTHLY on a day),
a time of day in UTC, the parameters to run with (cleaned like a run's), and the person it runs as —
the one who set it. Who may set, change or remove a schedule is who may run the job there
(`service.authorized_parameters`, the run's own check); every change writes history (entity
`job_schedule`, id = the job id) with the actor.

The tick (`run_due_schedules`) runs in every consumer, with the recovery sweep (`queue.sweep`). Each due
schedule is claimed with one conditional UPDATE (`WHERE id = :id AND next_run_at = :seen`) in the
transaction that submits its run, so two workers that see it due at once submit it once; the next
run is computed from the time of the tick, so slots missed while nothing ran give one run, not one per
slot. When the person a schedule runs as may no longer run the job (inactive, deleted, role gone) or
its parameters are no longer valid, nothing is submitted, a history row says why, and the schedule is
kept for its next slot.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution, identity_for_user_id
from consortia.audit.models import SYSTEM, HistoryEvent
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, DomainError, NotFound
from consortia.jobs import service
from consortia.jobs.models import SCHEDULED, JobSchedule
from consortia.jobs.registry import JOB_ID, JobKind, job_kind
from consortia.jobs.runner import SessionFactory

log = logging.getLogger("consortia.jobs")

NONE = "NONE"
DAILY = "DAILY"
WEEKLY = "WEEKLY"
MONTHLY = "MONTHLY"
FREQUENCIES = {NONE: "Not scheduled", DAILY: "Every day", WEEKLY: "Every week", MONTHLY: "Every month"}
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
HISTORY_ENTITY = "job_schedule"
# Alma's `schedule` value of a job that does not run by itself.
NOT_SCHEDULED = "NOT_SCHEDULED"
# Due schedules one tick takes (the next tick takes the rest).
TICK_BATCH = 100


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, "40166411")


@dataclass(frozen=True)
class Timing:
    """When a schedule is due: the frequency, the time of day (HH:MM, UTC), and the weekday (0 Monday)
    of a WEEKLY one or the day of the month (1-31) of a MONTHLY one."""

    frequency: str
    time_of_day: str = "00:00"
    weekday: int | None = None
    day: int | None = None


def parse_timing(frequency: Any, time_of_day: Any = None, weekday: Any = None, day: Any = None) -> Timing:
    """The timing these request values name, or BadRequest (40166411) saying which value is wrong."""
    code = str(frequency or "").strip().upper()
    if code not in FREQUENCIES:
        raise _invalid(f"Param value is invalid: frequency {frequency} (one of {', '.join(FREQUENCIES)}).")
    if code == NONE:
        return Timing(NONE)
    text = str(time_of_day or "").strip()
    matched = TIME_OF_DAY.match(text)
    if not matched:
        raise _invalid(f"Param value is invalid: time {time_of_day} (HH:MM, 00:00 to 23:59, UTC).")
    at = f"{int(matched.group(1)):02d}:{matched.group(2)}"
    if code == WEEKLY:
        name = str(weekday or "").strip().upper()
        if name not in WEEKDAYS:
            raise _invalid(f"Param value is invalid: weekday {weekday} (one of {', '.join(WEEKDAYS)}).")
        return Timing(WEEKLY, at, weekday=WEEKDAYS.index(name))
    if code == MONTHLY:
        number = str(day if day is not None else "").strip()
        if not number.isdecimal() or not 1 <= int(number) <= 31:
            raise _invalid(f"Param value is invalid: day {day} (a day of the month, 1 to 31).")
        return Timing(MONTHLY, at, day=int(number))
    return Timing(DAILY, at)


def timing_of(schedule: JobSchedule) -> Timing:
    return Timing(schedule.frequency, schedule.time_of_day, schedule.weekday, schedule.day)


def next_run(timing: Timing, after: dt.datetime) -> dt.datetime | None:
    """The first slot of `timing` strictly after `after` (naive UTC); None for NONE. A MONTHLY day past
    the end of a shorter month falls on its last day (31 → 30 April, 28 or 29 February)."""
    if timing.frequency == NONE:
        return None
    hour, minute = (int(part) for part in timing.time_of_day.split(":"))
    at = dt.time(hour, minute)
    if timing.frequency == DAILY:
        candidate = dt.datetime.combine(after.date(), at)
        return candidate if candidate > after else candidate + dt.timedelta(days=1)
    if timing.frequency == WEEKLY:
        ahead = ((timing.weekday or 0) - after.weekday()) % 7
        candidate = dt.datetime.combine(after.date() + dt.timedelta(days=ahead), at)
        return candidate if candidate > after else candidate + dt.timedelta(days=7)
    year, month = after.year, after.month
    while True:
        last = calendar.monthrange(year, month)[1]
        candidate = dt.datetime.combine(dt.date(year, month, min(timing.day or 1, last)), at)
        if candidate > after:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def describe(timing: Timing) -> str:
    """The schedule as people read it: "Every day at 02:00", "Every Monday at 02:00", ..."""
    if timing.frequency == DAILY:
        return f"Every day at {timing.time_of_day}"
    if timing.frequency == WEEKLY:
        return f"Every {WEEKDAYS[timing.weekday or 0].title()} at {timing.time_of_day}"
    if timing.frequency == MONTHLY:
        shorter = " (the last day in shorter months)" if (timing.day or 0) > 28 else ""
        return f"Every month on day {timing.day} at {timing.time_of_day}{shorter}"
    return FREQUENCIES[NONE]


def schedule_value(schedule: JobSchedule | None) -> tuple[str, str]:
    """Alma's `schedule` {value, desc} of a job: the frequency and its description, or NOT_SCHEDULED."""
    if schedule is None or schedule.frequency == NONE:
        return NOT_SCHEDULED, FREQUENCIES[NONE]
    return schedule.frequency, describe(timing_of(schedule)) + " (UTC)"


# --- reading ------------------------------------------------------------------------------------


def access_schedulable_kind(identity: Identity, job_id: str) -> JobKind:
    """The kind with this job id when this person may know of it; NotFound (402216) otherwise, alike for a
    malformed id, an unknown one and one hidden from the caller."""
    code = job_id.strip().upper()
    kind = job_kind(code) if JOB_ID.match(code) else None
    if kind is None or not kind.is_visible_to(identity):
        raise NotFound(f"Job ID is not valid: {job_id}.", "402216")
    return kind


def find_schedule(session: Session, institution_id: int | None, job_code: str) -> JobSchedule | None:
    if institution_id is None:
        return None
    return session.scalars(
        select(JobSchedule)
        .where(JobSchedule.institution_id == institution_id, JobSchedule.job_code == job_code)
        .execution_options(populate_existing=True)
    ).first()


def schedules_here(session: Session, identity: Identity) -> dict[str, JobSchedule]:
    """The schedules of the institution the person works in, by job id."""
    if identity.acting_institution_id is None:
        return {}
    rows = session.scalars(select(JobSchedule).where(JobSchedule.institution_id == identity.acting_institution_id))
    return {row.job_code: row for row in rows}


def schedule_history(session: Session, job_code: str, institution_id: int, *, limit: int = 20) -> list[HistoryEvent]:
    """The newest history rows of a job's schedule in an institution, newest first."""
    return list(
        session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.entity == HISTORY_ENTITY,
                HistoryEvent.entity_id == job_code,
                HistoryEvent.institution_id == institution_id,
            )
            .order_by(HistoryEvent.id.desc())
            .limit(limit)
        )
    )


def schedule_history_scope(session: Session, identity: Identity, job_id: str) -> HistoryScope:
    """The history of a job's schedule in the institution the person works in (the history API's kind
    `job_schedule`, id = the job id): for those who monitor jobs there; 404 for an unknown job."""
    service.check_may_monitor(identity)
    kind = access_schedulable_kind(identity, job_id)
    return HistoryScope(kind.job_id, acting_institution(session, identity).id)


# --- changing -----------------------------------------------------------------------------------


def _parameters_text(parameters: Mapping[str, Any]) -> str | None:
    return ", ".join(f"{key}={value}" for key, value in sorted(parameters.items())) or None


def set_schedule(
    session: Session,
    identity: Identity,
    kind: JobKind,
    timing: Timing,
    parameters: Mapping[str, Any],
    *,
    version: int | None = None,
) -> JobSchedule:
    """Set (create or change) the schedule of `kind` in the institution the person works in; it will run
    as this person. Checked like a run (403, 400); a kind that may not be scheduled: 400. With `version`,
    a schedule changed since answers 409."""
    if not kind.schedulable:
        raise _invalid(f"The job {kind.job_id} ({kind.name}) cannot be scheduled: each run needs its own input.")
    institution_id = acting_institution(session, identity).id
    cleaned = service.authorized_parameters(session, identity, kind, institution_id, parameters)
    schedule = find_schedule(session, institution_id, kind.job_id)
    _check_version(schedule, version)
    actor = identity.actor
    old_when = describe(timing_of(schedule)) if schedule else None
    old_parameters = _parameters_text(schedule.parameters or {}) if schedule else None
    old_user = schedule.user_label if schedule else None
    now = utcnow()
    if schedule is None:
        schedule = JobSchedule(institution_id=institution_id, job_code=kind.job_id, version=0)
        session.add(schedule)
    schedule.frequency = timing.frequency
    schedule.time_of_day = timing.time_of_day
    schedule.weekday = timing.weekday
    schedule.day = timing.day
    schedule.parameters = cleaned
    schedule.user_id = identity.user_id
    schedule.user_label = identity.primary_id
    schedule.next_run_at = next_run(timing, now)
    schedule.version = (schedule.version or 0) + 1
    schedule.updated_at = now
    session.flush()
    for field, old, new in (
        ("schedule", old_when, describe(timing)),
        ("parameters", old_parameters, _parameters_text(cleaned)),
        ("runs_as", old_user, identity.primary_id),
    ):
        record(
            session,
            entity=HISTORY_ENTITY,
            entity_id=kind.job_id,
            field=field,
            old=old,
            new=new,
            actor=actor,
            institution_id=institution_id,
        )
    return schedule


def remove_schedule(session: Session, identity: Identity, kind: JobKind, *, version: int | None = None) -> None:
    """Remove the schedule of `kind` in the institution the person works in (checked like a run); removing
    none changes nothing."""
    institution_id = acting_institution(session, identity).id
    schedule = find_schedule(session, institution_id, kind.job_id)
    service.authorize_run(identity, kind, institution_id, schedule.parameters if schedule else {})
    _check_version(schedule, version)
    if schedule is None:
        return
    record(
        session,
        entity=HISTORY_ENTITY,
        entity_id=kind.job_id,
        field="schedule",
        old=describe(timing_of(schedule)),
        new=None,
        actor=identity.actor,
        institution_id=institution_id,
    )
    session.delete(schedule)
    session.flush()


def _check_version(schedule: JobSchedule | None, version: int | None) -> None:
    """With `version` (the one the client read; 0: no schedule), a schedule changed since answers 409."""
    if version is not None and (schedule.version if schedule else 0) != version:
        raise Conflict("The schedule was changed by someone else since you read it; read it again.")


# --- the due tick -------------------------------------------------------------------------------


def _runs_as(session: Session, schedule: JobSchedule) -> Identity | str:
    """The identity the schedule's run acts for, or why there is none."""
    who = schedule.user_label
    if schedule.user_id is None:
        return f"the account of {who}, who set the schedule, was deleted."
    identity = identity_for_user_id(session, schedule.user_id)
    if identity is None:
        return f"the account of {who}, who set the schedule, is inactive or expired."
    if identity.is_operator:
        return identity.acting_in(schedule.institution_id)
    if identity.acting_institution_id != schedule.institution_id:
        return f"{who}, who set the schedule, no longer works in this institution."
    return identity


@dataclass(frozen=True)
class Due:
    """A schedule seen due by a tick: its id, the slot seen, and its timing."""

    schedule_id: int
    seen: dt.datetime
    timing: Timing


def run_due_schedule(session: Session, due: Due, now: dt.datetime) -> int | None:
    """Claim the slot `due.seen` and submit the schedule's run, in the caller's transaction (the caller
    commits). Answers the new instance's id; None when another worker claimed the slot first (or the
    schedule changed since it was seen) or the run was not submitted (a history row then says why).

    The claim is the transaction's first statement: on SQLite it takes the write lock waiting its turn
    (a read first would make two ticks' upgrades collide), on PostgreSQL it locks the row, and a second
    tick's UPDATE then finds `next_run_at` moved and changes nothing."""
    claimed = session.execute(
        update(JobSchedule)
        .where(JobSchedule.id == due.schedule_id, JobSchedule.next_run_at == due.seen)
        .values(next_run_at=next_run(due.timing, now), last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    schedule = session.get(JobSchedule, due.schedule_id, populate_existing=True)
    if schedule is None:
        return None
    kind = job_kind(schedule.job_code)
    runs_as = _runs_as(session, schedule)
    reason: str | None = None
    instance_id: int | None = None
    if kind is None:
        reason = f"the job {schedule.job_code} is not known to this worker."
    elif isinstance(runs_as, str):
        reason = runs_as
    else:
        try:
            with session.begin_nested():
                instance_id = service.submit(session, runs_as, kind, schedule.parameters or {}, run_type=SCHEDULED).id
        except DomainError as exc:
            if exc.status >= 500:
                raise
            reason = exc.message
    if reason is not None or instance_id is None:
        record(
            session,
            entity=HISTORY_ENTITY,
            entity_id=schedule.job_code,
            field="run",
            old=None,
            new=f"Not submitted at {now:%Y-%m-%d %H:%M} UTC: {reason}",
            actor=SYSTEM,
            institution_id=schedule.institution_id,
        )
        log.warning(
            "scheduled run of %s in institution %s not submitted: %s",
            schedule.job_code,
            schedule.institution_id,
            reason,
        )
        return None
    schedule.last_run_instance_id = instance_id
    log.info("scheduled run of %s submitted: job instance %s", schedule.job_code, instance_id)
    return instance_id


def run_due_schedules(session_factory: SessionFactory, *, now: dt.datetime | None = None) -> list[int]:
    """One tick: submit every schedule due at `now` (default: the current time), each in its own
    transaction; answers the instance ids submitted. Errors are logged and the next tick tries again."""
    moment = now or utcnow()
    with session_factory() as session:
        rows = list(
            session.execute(
                select(
                    JobSchedule.id,
                    JobSchedule.next_run_at,
                    JobSchedule.frequency,
                    JobSchedule.time_of_day,
                    JobSchedule.weekday,
                    JobSchedule.day,
                )
                .where(JobSchedule.next_run_at <= moment)
                .order_by(JobSchedule.next_run_at, JobSchedule.id)
                .limit(TICK_BATCH)
            )
        )
    submitted: list[int] = []
    for row in rows:
        due = Due(row.id, row.next_run_at, Timing(row.frequency, row.time_of_day, row.weekday, row.day))
        try:
            with session_factory() as session:
                instance_id = run_due_schedule(session, due, moment)
                session.commit()
        except Exception:
            log.exception("the schedule %s could not be run", row.id)
            continue
        if instance_id is not None:
            submitted.append(instance_id)
    return submitted

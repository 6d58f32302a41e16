"""Running one job instance: claim it, work chunk by chunk under a lease, finish it (P-7, R-1).

The durability is the database's, not the queue's. A runner claims an instance with one
conditional UPDATE (QUEUED, or RUNNING with an expired lease); only the runner whose UPDATE changed
the row goes on, so an instance handed to the queue twice runs once. Each chunk is one transaction
that first renews the lease (`WHERE lease_owner = me`: when another runner has taken over, nothing
is renewed and the chunk is abandoned), then does the kind's piece of work and stores the new
checkpoint, counters, progress and events with it. A runner killed at any point leaves at most one
uncommitted chunk behind; whoever claims the instance after its lease expires resumes from the last
committed checkpoint.

Knobs for tests (environment): CONSORTIA_JOB_CHUNK_DELAY — seconds each chunk waits before it
commits, so that a kill lands inside an open chunk; CONSORTIA_JOB_CHUNK_SIZE — records per chunk
(see `registry.chunk_size`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from consortia.access.identity import identity_for_user_id
from consortia.audit.models import SYSTEM
from consortia.config import get_settings
from consortia.db import utcnow
from consortia.errors import DomainError
from consortia.jobs import registry
from consortia.jobs.models import (
    COMPLETED_FAILED,
    COMPLETED_SUCCESS,
    FAILED,
    QUEUED,
    RUNNING,
    JobEvent,
    JobInstance,
)

log = logging.getLogger("consortia.jobs")

SessionFactory = Callable[[], Session]
Outcome = Literal["finished", "not_claimed", "lease_lost", "stopped", "interrupted"]

# A runner that keeps dying on one instance (the process is killed while running it) gives up after
# this many claims: the instance is marked FAILED by the sweeper instead of being retried for ever.
MAX_ATTEMPTS = 5


class LeaseLost(Exception):
    """Another runner holds the instance now; this one must stop without committing."""


class SubmitterMayNotAct(DomainError):
    """The person a job acts for may no longer do what it does: the job stops (FAILED) before its next chunk."""


def check_submitter(session: Session, kind: registry.JobKind, instance: JobInstance) -> None:
    """A job acts for the person who submitted it, so before each chunk that person must still be able to
    sign in (active, not expired, not deleted) and to run this kind where it runs. Raises SubmitterMayNotAct
    with the reason. An instance that no person submitted (the system's) is not checked; one whose
    submitter's account was deleted has lost its submitter id but kept the name."""
    who = instance.submitted_by
    if instance.submitted_by_id is None:
        if who == SYSTEM.label:
            return
        raise SubmitterMayNotAct(f"the account of {who}, who submitted it, was deleted.")
    identity = identity_for_user_id(session, instance.submitted_by_id)
    if identity is None:
        raise SubmitterMayNotAct(f"the account of {who}, who submitted it, is inactive or expired.")
    if identity.is_operator:
        identity = identity.acting_in(instance.institution_id)
    decision = kind.decide(identity, instance.institution_id, instance.parameters or {})
    if not decision.allowed:
        raise SubmitterMayNotAct(f"{who}, who submitted it, may no longer run {kind.name}: {decision.reason}")


def new_owner() -> str:
    """A lease owner name unique to one run attempt: host, process, and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def chunk_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("CONSORTIA_JOB_CHUNK_DELAY", "0") or 0))
    except ValueError:
        return 0.0


def claim(session_factory: SessionFactory, instance_id: int, owner: str, lease_seconds: int) -> bool:
    """Take the instance if it is waiting or its runner's lease has expired; True when this owner has it."""
    now = utcnow()
    with session_factory() as session:
        result = session.execute(
            update(JobInstance)
            .where(
                JobInstance.id == instance_id,
                JobInstance.attempts < MAX_ATTEMPTS,
                or_(
                    JobInstance.status == QUEUED,
                    and_(
                        JobInstance.status == RUNNING,
                        or_(JobInstance.lease_expires_at.is_(None), JobInstance.lease_expires_at < now),
                    ),
                ),
            )
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                attempts=JobInstance.attempts + 1,
                start_time=func.coalesce(JobInstance.start_time, now),
            )
            .execution_options(synchronize_session=False)
        )
        claimed = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if claimed:
            session.commit()
        else:
            session.rollback()
        return claimed


def work_chunk(session_factory: SessionFactory, instance_id: int, owner: str, lease_seconds: int) -> bool:
    """Do one chunk in one transaction; True when the instance is finished. Raises LeaseLost."""
    with session_factory() as session:
        try:
            now = utcnow()
            # First statement of the transaction: renew the lease (and, on PostgreSQL, lock the row)
            # so that no other runner can claim the instance while this chunk is open.
            renewed = session.execute(
                update(JobInstance)
                .where(JobInstance.id == instance_id, JobInstance.lease_owner == owner, JobInstance.status == RUNNING)
                .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
            if renewed.rowcount != 1:  # type: ignore[attr-defined]
                raise LeaseLost(instance_id)
            instance = session.get(JobInstance, instance_id, populate_existing=True)
            if instance is None:
                raise LeaseLost(instance_id)
            kind = registry.job_kind(instance.job_code)
            if kind is None:
                raise DomainError(f"The job {instance.job_code} is not known to this worker.")
            check_submitter(session, kind, instance)
            result = kind.run_chunk(session, instance, instance.checkpoint)
            _apply(session, kind, instance, result)
            delay = chunk_delay()
            if delay:
                time.sleep(delay)
            session.commit()
            return result.done
        except BaseException:
            session.rollback()
            raise


def _apply(session: Session, kind: registry.JobKind, instance: JobInstance, result: registry.ChunkResult) -> None:
    counters = dict(instance.counters or {})
    for code, increment in result.counters.items():
        counters[code] = counters.get(code, 0) + int(increment)
    instance.counters = counters
    instance.checkpoint = dict(result.checkpoint) if result.checkpoint is not None else None
    for note in result.events:
        session.add(
            JobEvent(
                job_instance_id=instance.id,
                type=note.type,
                description=note.description[:4000],
                record=note.record,
                at=utcnow(),
            )
        )
    if result.progress is not None:
        instance.progress = max(instance.progress, min(99, max(0, int(result.progress))))
    if result.done:
        session.flush()
        errors = session.scalar(
            select(func.count())
            .select_from(JobEvent)
            .where(JobEvent.job_instance_id == instance.id, JobEvent.type == registry.ERROR)
        )
        instance.status = COMPLETED_FAILED if errors else COMPLETED_SUCCESS
        instance.progress = 100
        instance.end_time = utcnow()
        instance.lease_owner = None
        instance.lease_expires_at = None
        instance.report = completion_report(kind, counters, int(errors or 0))


def completion_report(kind: registry.JobKind, counters: dict[str, int], errors: int) -> str:
    """The report people read at the end: each counter with its label, and the records with errors."""
    lines = [f"{kind.name} completed{' with errors' if errors else ' successfully'}."]
    for definition in kind.counters:
        lines.append(f"{definition.label}: {counters.get(definition.code, 0)}")
    if errors:
        lines.append(f"Records with errors: {errors} (see the events).")
    return "\n".join(lines)


def _fail(session_factory: SessionFactory, instance_id: int, owner: str, message: str) -> None:
    with session_factory() as session:
        session.execute(
            update(JobInstance)
            .where(JobInstance.id == instance_id, JobInstance.lease_owner == owner)
            .values(
                status=FAILED,
                end_time=utcnow(),
                lease_owner=None,
                lease_expires_at=None,
                report=f"The job stopped: {message}",
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()


def release(session_factory: SessionFactory, instance_id: int, owner: str) -> None:
    """Give the instance back (QUEUED, no lease) so that the next runner starts at once."""
    with session_factory() as session:
        session.execute(
            update(JobInstance)
            .where(JobInstance.id == instance_id, JobInstance.lease_owner == owner, JobInstance.status == RUNNING)
            .values(status=QUEUED, lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _message(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"an unexpected error occurred ({type(exc).__name__}{': ' + first_line if first_line else ''})."


def run_instance(
    session_factory: SessionFactory,
    instance_id: int,
    *,
    lease_seconds: int | None = None,
    stop: threading.Event | None = None,
    owner: str | None = None,
) -> Outcome:
    """Run an instance to its end, if this runner can claim it.

    Answers what happened: `finished` (it ended, in whatever final status), `not_claimed` (finished
    already, or another runner holds a live lease), `lease_lost` (another runner took over midway),
    `stopped` (`stop` was set: the instance was given back as QUEUED), `interrupted` (the database
    failed; the lease will expire and the sweeper hands the instance to a runner again).
    """
    lease = lease_seconds or get_settings().job_lease_seconds
    me = owner or new_owner()
    try:
        if not claim(session_factory, instance_id, me, lease):
            return "not_claimed"
        log.info("job instance %s claimed by %s", instance_id, me)
        while True:
            if stop is not None and stop.is_set():
                release(session_factory, instance_id, me)
                return "stopped"
            try:
                if work_chunk(session_factory, instance_id, me, lease):
                    log.info("job instance %s finished", instance_id)
                    return "finished"
            except LeaseLost:
                log.warning("job instance %s: lease lost by %s, another runner has it", instance_id, me)
                return "lease_lost"
            except SubmitterMayNotAct as exc:
                log.warning("job instance %s stopped: %s", instance_id, exc.message)
                _fail(session_factory, instance_id, me, exc.message)
                return "finished"
            except (OperationalError, InterfaceError) as exc:
                log.warning("job instance %s interrupted by a database error: %s", instance_id, exc)
                return "interrupted"
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    log.warning("job instance %s interrupted: the database connection was lost", instance_id)
                    return "interrupted"
                log.exception("job instance %s failed", instance_id)
                _fail(session_factory, instance_id, me, _message(exc))
                return "finished"
    except (OperationalError, InterfaceError) as exc:
        log.warning("job instance %s could not be run now: %s", instance_id, exc)
        return "interrupted"

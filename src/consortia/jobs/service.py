"""The jobs' verbs: which kinds a person may see and run, submitting a run, and reading instances.

Every entry point (the Alma-shaped API, the Monitor Jobs pages, the CLI, other domains' services)
goes through these. Tenancy: an instance belongs to the institution it ran in; people see the
instances their JOB_READ rules allow (the operator sees all), and anything else answers exactly like
an instance that does not exist (R-3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, decide, where
from consortia.db import utcnow
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.jobs.models import FINAL_STATUSES, MANUAL, QUEUED, STATUS_DESC, JobEvent, JobInstance
from consortia.jobs.queue import enqueue_after_commit
from consortia.jobs.registry import JOB_ID, CounterDefinition, JobKind, job_kind, job_kinds
from consortia.platform.models import Institution, User

# Offsets past this answer an empty page (databases refuse larger numbers).
MAX_OFFSET = 2**62
# Instance ids are 32-bit on every database; larger ones cannot exist.
MAX_INSTANCE_ID = 2**31 - 1

# --- kinds ---------------------------------------------------------------------------------------


def check_may_monitor(identity: Identity) -> None:
    """Monitoring jobs (lists, the job catalogue) needs JOB_READ where the person works; 403 otherwise."""
    decision = decide(identity, P.JOB_READ, InInstitution(identity.acting_institution_id))
    if not decision.allowed:
        raise Forbidden(decision.reason)


def visible_kinds(identity: Identity) -> list[JobKind]:
    return [kind for kind in job_kinds() if kind.is_visible_to(identity)]


def access_kind(identity: Identity, job_id: str) -> JobKind:
    """The kind with this Alma job id, when it exists and this person may know of it (Alma's 400s
    otherwise: 402215 for a malformed id, 402216 for an unknown one)."""
    code = job_id.strip().upper()
    if not JOB_ID.match(code):
        raise BadRequest(f"Job ID format is not valid: {job_id}.", "402215")
    kind = job_kind(code)
    if kind is None or not kind.is_visible_to(identity):
        raise BadRequest(f"Job ID is not valid: {job_id}.", "402216")
    return kind


@dataclass(frozen=True)
class RunnableKind:
    kind: JobKind
    allowed: bool
    reason: str
    choices: Mapping[str, Sequence[tuple[str, str]]]


def runnable_kinds(session: Session, identity: Identity) -> list[RunnableKind]:
    """The visible kinds with whether this person may run them where they work (for the run form),
    and the choices of their parameters."""
    found = []
    for kind in visible_kinds(identity):
        institution_id = identity.acting_institution_id if kind.institution_bound else None
        if kind.institution_bound and institution_id is None:
            found.append(RunnableKind(kind, False, "Choose the institution to work in first.", {}))
            continue
        decision = kind.decide(identity, institution_id, {})
        choices = {p.name: list(p.choices(session, institution_id)) for p in kind.parameters if p.choices is not None}
        found.append(RunnableKind(kind, decision.allowed, decision.reason, choices))
    return found


# --- submitting ----------------------------------------------------------------------------------


def submit(
    session: Session,
    identity: Identity,
    kind: JobKind,
    parameters: Mapping[str, Any],
    *,
    related: tuple[str, str | int] | None = None,
    run_type: str = MANUAL,
) -> JobInstance:
    """Create a QUEUED instance of `kind` in the caller's transaction; it is handed to the queue when
    that transaction commits (and never if it rolls back). The kind's permission is checked first
    (403 with the reason), then its parameters (400). Institution-bound kinds run in the institution
    the person works in (the operator names one with ?institution=). `run_type` says how the run came
    to be: MANUAL, or SCHEDULED when a schedule submits it (`jobs.schedules`)."""
    institution_id = acting_institution(session, identity).id if kind.institution_bound else None
    cleaned = authorized_parameters(session, identity, kind, institution_id, parameters)
    instance = JobInstance(
        job_code=kind.job_id,
        institution_id=institution_id,
        submitted_by_id=identity.user_id,
        submitted_by=identity.primary_id,
        status=QUEUED,
        progress=0,
        parameters=cleaned,
        counters={definition.code: 0 for definition in kind.counters},
        checkpoint=None,
        report="",
        attempts=0,
        submit_time=utcnow(),
        related_entity=related[0] if related else None,
        related_id=str(related[1]) if related else None,
        run_type=run_type,
    )
    session.add(instance)
    session.flush()
    enqueue_after_commit(session, instance.id)
    return instance


def authorized_parameters(
    session: Session, identity: Identity, kind: JobKind, institution_id: int | None, parameters: Mapping[str, Any]
) -> dict[str, str]:
    """The parameters to run `kind` with in `institution_id`, once `identity` may run it there: the
    kind's permission first (403 with the reason), then the parameters (400); a kind that decides on
    its parameters (`may_run`) has them cleaned first. A run and a schedule are checked alike."""
    if kind.may_run is None:
        authorize_run(identity, kind, institution_id, {})
        return kind.clean_parameters(session, institution_id, parameters)
    cleaned = kind.clean_parameters(session, institution_id, parameters)
    authorize_run(identity, kind, institution_id, cleaned)
    return cleaned


def authorize_run(identity: Identity, kind: JobKind, institution_id: int | None, parameters: Mapping[str, str]) -> None:
    """403 with the reason unless `identity` may run `kind` in `institution_id` (the kind's own rule)."""
    decision = kind.decide(identity, institution_id, parameters)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def run_job(session: Session, identity: Identity, job_id: str, parameters: Mapping[str, Any]) -> JobInstance:
    """Run the job `job_id` now (the Alma API's `op=run` and the run form)."""
    return submit(session, identity, access_kind(identity, job_id), parameters)


# --- instances -----------------------------------------------------------------------------------


def instance_not_found(instance_id: int | str) -> NotFound:
    return NotFound(f"Job instance {instance_id} was not found.", "402218")


def _visible_instances(identity: Identity) -> list[ColumnElement[bool]]:
    conditions = [where(identity, P.JOB_READ, JobInstance)]
    if identity.is_operator and identity.acting_institution_id is not None:
        conditions.append(JobInstance.institution_id == identity.acting_institution_id)
    return conditions


def access_instance(session: Session, identity: Identity, instance_id: int, job_id: str | None = None) -> JobInstance:
    """An instance this person may see (of `job_id` when given; `ALL` matches any); 404 otherwise, the
    same for unknown ids, other institutions' instances and a job id that does not match."""
    instance = session.scalars(
        select(JobInstance).where(JobInstance.id == instance_id).execution_options(populate_existing=True)
    ).first()
    if instance is None or not allows(identity, P.JOB_READ, instance):
        raise instance_not_found(instance_id)
    if job_id is not None and job_id.strip().upper() not in {"ALL", instance.job_code}:
        raise instance_not_found(instance_id)
    kind = job_kind(instance.job_code)
    if kind is not None and not kind.is_visible_to(identity):
        raise instance_not_found(instance_id)
    return instance


def list_instances(
    session: Session,
    identity: Identity,
    *,
    job_code: str | None = None,
    status: str | None = None,
    submitted_from: dt.date | None = None,
    submitted_to: dt.date | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[JobInstance], int]:
    """The instances this person may see, newest first, with their total."""
    conditions = _visible_instances(identity)
    if job_code is not None:
        conditions.append(JobInstance.job_code == job_code)
    if status:
        if status not in STATUS_DESC:
            raise BadRequest(f"Param value is invalid: status {status}.", "40166411")
        conditions.append(JobInstance.status == status)
    if submitted_from is not None:
        conditions.append(JobInstance.submit_time >= dt.datetime.combine(submitted_from, dt.time.min))
    if submitted_to is not None and submitted_to < dt.date.max:
        conditions.append(
            JobInstance.submit_time < dt.datetime.combine(submitted_to + dt.timedelta(days=1), dt.time.min)
        )
    total = int(session.scalar(select(func.count()).select_from(JobInstance).where(*conditions)) or 0)
    rows = list(
        session.scalars(
            select(JobInstance)
            .where(*conditions)
            .order_by(JobInstance.id.desc())
            .limit(limit)
            .offset(min(offset, MAX_OFFSET))
            .execution_options(populate_existing=True)
        )
    )
    return rows, total


def instance_events(
    session: Session, instance: JobInstance, *, limit: int = 10, offset: int = 0
) -> tuple[list[JobEvent], int]:
    condition = JobEvent.job_instance_id == instance.id
    total = int(session.scalar(select(func.count()).select_from(JobEvent).where(condition)) or 0)
    rows = list(
        session.scalars(
            select(JobEvent).where(condition).order_by(JobEvent.id).limit(limit).offset(min(offset, MAX_OFFSET))
        )
    )
    return rows, total


def submitter_names(session: Session, instances: Iterable[JobInstance]) -> dict[int, str]:
    """Full names of the people who submitted these instances, by user id."""
    ids = {i.submitted_by_id for i in instances if i.submitted_by_id is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.first_name, User.middle_name, User.last_name, User.primary_id).where(User.id.in_(ids))
    )
    return {
        row.id: " ".join(p for p in (row.first_name, row.middle_name, row.last_name) if p) or row.primary_id
        for row in rows
    }


def institution_codes(session: Session, instances: Iterable[JobInstance]) -> dict[int, str]:
    ids = {i.institution_id for i in instances if i.institution_id is not None}
    if not ids:
        return {}
    return {
        row.id: row.code
        for row in session.execute(select(Institution.id, Institution.code).where(Institution.id.in_(ids)))
    }


def job_name(instance: JobInstance) -> str:
    kind = job_kind(instance.job_code)
    return kind.name if kind else instance.job_code


def counter_rows(instance: JobInstance) -> list[tuple[CounterDefinition, int]]:
    """Each counter of the instance with its definition (the kind's order; unknown codes last)."""
    kind = job_kind(instance.job_code)
    counters = dict(instance.counters or {})
    rows: list[tuple[CounterDefinition, int]] = []
    for definition in kind.counters if kind else ():
        rows.append((definition, int(counters.pop(definition.code, 0))))
    for code, value in sorted(counters.items()):
        rows.append((CounterDefinition(code, code, ""), int(value)))
    return rows


def status_date(instance: JobInstance) -> dt.datetime:
    return instance.end_time or instance.start_time or instance.submit_time


def is_final(instance: JobInstance) -> bool:
    return instance.status in FINAL_STATUSES


# --- command line --------------------------------------------------------------------------------


def recent_instances(session: Session, *, limit: int = 20) -> list[tuple[Any, ...]]:
    """The newest instances of every institution: (instance, job, institution, status, progress,
    submitted by, submitted) — for `consortia jobs list`, run by whoever runs the server."""
    rows = list(session.scalars(select(JobInstance).order_by(JobInstance.id.desc()).limit(limit)))
    codes = institution_codes(session, rows)
    return [
        (
            row.id,
            f"{row.job_code} {job_name(row)}",
            codes.get(row.institution_id, "—") if row.institution_id is not None else "—",
            STATUS_DESC.get(row.status, row.status),
            f"{row.progress}%",
            row.submitted_by,
            row.submit_time.strftime("%Y-%m-%d %H:%M:%S"),
        )
        for row in rows
    ]


def describe_instance(session: Session, instance_id: int) -> Any:
    """One instance for `consortia jobs show`: facts, counters, report and the first events."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    instance = session.get(JobInstance, instance_id)
    if instance is None:
        return Text(f"Job instance {instance_id} was not found.", style="red")
    codes = institution_codes(session, [instance])
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for label, value in (
        ("Instance", str(instance.id)),
        ("Job", f"{instance.job_code} {job_name(instance)}"),
        ("Institution", codes.get(instance.institution_id or 0, "—")),
        ("Status", STATUS_DESC.get(instance.status, instance.status)),
        ("Progress", f"{instance.progress}%"),
        ("Submitted by", instance.submitted_by),
        ("Submitted", str(instance.submit_time)),
        ("Started", str(instance.start_time or "")),
        ("Ended", str(instance.end_time or "")),
        ("Attempts", str(instance.attempts)),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in (instance.parameters or {}).items()) or "—"),
    ):
        facts.add_row(label, value)
    counters = Table(title="Counters")
    for column in ("Counter", "Value", "What it counts"):
        counters.add_column(column)
    for definition, count in counter_rows(instance):
        counters.add_row(definition.label, str(count), definition.explanation)
    parts: list[Any] = [facts, counters]
    if instance.report:
        parts.append(Text("\n" + instance.report))
    events, total = instance_events(session, instance, limit=50)
    if events:
        table = Table(title=f"Events ({total})")
        for column in ("Record", "Type", "Description"):
            table.add_column(column)
        for ev in events:
            table.add_row("" if ev.record is None else str(ev.record), ev.type, ev.description)
        parts.append(table)
    return Group(*parts)

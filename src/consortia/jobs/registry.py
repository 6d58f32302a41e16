"""The job kinds' registry (P-7): what each kind is called, who may run it, what it takes and counts.

A domain describes its kinds as `JobKind` values in its own `jobs.py` and hands them over in its
`Domain` (`job_kinds`); `consortia.domains.assemble()` registers every domain's kinds with
`register_job_kind`, so the server, every worker process and every command know the same kinds. This
module knows no domain. A kind does its work in chunks: `run_chunk(session, instance,
checkpoint)` changes one bounded piece of the work in the session it is given and answers a
`ChunkResult`; the runner commits that piece together with the new checkpoint, counters, progress and
events, so a piece is never done twice (R-1).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission
from consortia.access.policy import Decision, InInstitution, decide
from consortia.audit.models import Actor
from consortia.errors import BadRequest
from consortia.jobs.models import JobInstance
from consortia.platform.models import User
from consortia.text import has_control_characters

JOB_ID = re.compile(r"^[MSO]\d{1,20}$")

# Event types of a job instance; an ERROR event is a record that could not be processed, and a job
# that reported one ends "Completed with Errors" (COMPLETED_FAILED).
ERROR = "ERROR"
WARNING = "WARNING"
INFO = "INFO"
EVENT_TYPES = {ERROR: "Error", WARNING: "Warning", INFO: "Information"}

Validator = Callable[[Session, int | None, str], str]
Choices = Callable[[Session, int | None], Sequence[tuple[str, str]]]
RunPredicate = Callable[[Identity, int | None, Mapping[str, str]], Decision]


@dataclass(frozen=True)
class JobParameter:
    """One input of a kind. `validate(session, institution_id, value)` answers the value to keep or
    raises BadRequest; `choices(session, institution_id)` lists (code, label) pairs for the run form."""

    name: str
    label: str
    required: bool = False
    description: str = ""
    validate: Validator | None = None
    choices: Choices | None = None


@dataclass(frozen=True)
class CounterDefinition:
    """A named counter of a kind: its code (the API's `counter.type.value`), the label people read
    (`counter.type.desc`) and what exactly it counts (shown on the job's report)."""

    code: str
    label: str
    explanation: str


@dataclass(frozen=True)
class JobEventNote:
    """A per-record note a chunk reports: type (ERROR, WARNING, INFO), text, and the record's number."""

    type: str
    description: str
    record: int | None = None


@dataclass
class ChunkResult:
    """What one chunk did: the checkpoint to resume from, whether the work is done, the progress
    (0-100, or None to keep the last), counter increments, and the events to keep."""

    checkpoint: dict[str, Any] | None
    done: bool
    progress: int | None = None
    counters: Mapping[str, int] = field(default_factory=dict)
    events: Sequence[JobEventNote] = ()


RunChunk = Callable[[Session, JobInstance, "dict[str, Any] | None"], ChunkResult]


@dataclass(frozen=True)
class JobKind:
    job_id: str
    name: str
    description: str
    category: str
    category_desc: str
    run_chunk: RunChunk
    permission: Permission | None = None
    may_run: RunPredicate | None = None
    parameters: tuple[JobParameter, ...] = ()
    counters: tuple[CounterDefinition, ...] = ()
    content: str = ""
    content_desc: str = ""
    institution_bound: bool = True
    visible: Callable[[Identity], bool] | None = None
    related_page: str | None = None  # e.g. "/admin/users/{id}": the page of the entity a run is about
    # May run by itself on a schedule (`jobs.schedules`): kinds whose runs need something chosen for each
    # run (a set, a file, one collection) may not.
    schedulable: bool = False

    def __post_init__(self) -> None:
        """Who may run it is the `permission` (checked on the institution the job runs in) or, when the
        decision depends on more, the `may_run(identity, institution_id, parameters)` predicate."""
        if not JOB_ID.match(self.job_id):
            raise ValueError(f"job ids look like M1001, not {self.job_id!r}")
        if self.permission is None and self.may_run is None:
            raise ValueError(f"job kind {self.job_id} needs a permission or a may_run predicate")
        if self.schedulable and not self.institution_bound:
            raise ValueError(f"job kind {self.job_id}: only institution-bound kinds run on a schedule")
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "counters", tuple(self.counters))

    def is_visible_to(self, identity: Identity) -> bool:
        return self.visible is None or self.visible(identity)

    def decide(self, identity: Identity, institution_id: int | None, parameters: Mapping[str, str]) -> Decision:
        """May `identity` run this kind in `institution_id` with these parameters (deny by default)."""
        if self.may_run is not None:
            return self.may_run(identity, institution_id, parameters)
        if self.permission is None:
            return Decision(False, "deny_by_default", f"No rule lets anyone run {self.name}.")
        return decide(identity, self.permission, InInstitution(institution_id))

    def counter(self, code: str) -> CounterDefinition | None:
        return next((c for c in self.counters if c.code == code), None)

    def clean_parameters(
        self, session: Session, institution_id: int | None, given: Mapping[str, Any]
    ) -> dict[str, str]:
        """The parameters to keep: every required one present and not empty (Alma's 402228 and 402229),
        each validated; parameters the kind does not know are ignored, like Alma does."""
        cleaned: dict[str, str] = {}
        for parameter in self.parameters:
            if parameter.name not in given or given[parameter.name] is None:
                if parameter.required:
                    raise BadRequest(f"Mandatory parameter is missing from input: {parameter.name}.", "402228")
                continue
            value = str(given[parameter.name]).strip()
            if not value:
                if parameter.required:
                    raise BadRequest(f"Mandatory parameter value is empty: {parameter.name}.", "402229")
                continue
            if len(value) > 1000:
                raise BadRequest(f"The value of {parameter.name} is too long.", "40166411")
            if has_control_characters(value):
                raise BadRequest(f"The value of {parameter.name} holds control characters.", "40166411")
            cleaned[parameter.name] = (
                parameter.validate(session, institution_id, value) if parameter.validate else value
            )
        return cleaned


_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> JobKind:
    """Make a job kind known (at assembly). Registering another kind under a job id already taken is an
    error; the same kind again changes nothing."""
    existing = _KINDS.get(kind.job_id)
    if existing is not None and (existing.name, existing.run_chunk.__qualname__) != (
        kind.name,
        kind.run_chunk.__qualname__,
    ):
        raise ValueError(f"job id {kind.job_id} is already used by {existing.name}")
    _KINDS[kind.job_id] = kind
    return kind


def unregister_job_kind(job_id: str) -> None:
    """Forget a kind (for kinds that exist only for a while, e.g. in tests)."""
    _KINDS.pop(job_id, None)


def job_kind(job_id: str) -> JobKind | None:
    return _KINDS.get(job_id)


def job_kinds() -> list[JobKind]:
    """Every registered kind, by job id."""
    return sorted(_KINDS.values(), key=lambda k: (len(k.job_id), k.job_id))


def job_actor(session: Session, instance: JobInstance) -> Actor:
    """Who the changes of a job are recorded as: the person who submitted it, with the job instance."""
    label = instance.submitted_by
    if instance.submitted_by_id is not None:
        user = session.execute(
            select(User.first_name, User.middle_name, User.last_name, User.primary_id).where(
                User.id == instance.submitted_by_id
            )
        ).first()
        if user is not None:
            label = " ".join(p for p in (user.first_name, user.middle_name, user.last_name) if p) or user.primary_id
    return Actor(instance.submitted_by_id, label, instance.id)


def chunk_size(default: int) -> int:
    """The number of records a chunk takes: `default`, or CONSORTIA_JOB_CHUNK_SIZE when set (a knob for
    tests and tuning; every kind that works over records reads it here)."""
    configured = os.environ.get("CONSORTIA_JOB_CHUNK_SIZE", "").strip()
    if configured.isdecimal() and int(configured) > 0:
        return int(configured)
    return default

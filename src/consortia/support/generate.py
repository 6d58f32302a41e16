"""Support Center volumes for `consortia generate` (SPEC N, N-5): cases and Consortia licences of the
generated institutions, as the steps of `generate_support` (handed over in `support.domain`).

Size L has 1,000,000 cases (S 10,000, M 100,000, XS 1,000), spread evenly over the 20 generated
institutions, one step per institution (`support cases:01`, …) so that an interrupted run resumes
with the institution it was in. Cases are opened by the institution's Support Center contacts
(`-admin` and `-standard`, STANDARD; `-consortia`, CONSORTIA); one in five cases of consortium A,
which has case sharing enabled, is shared with the consortium; consortium B has sharing disabled
and its cases stay with their institution, as the verbs would have it (SC-5). Statuses lean to
Closed as in a real queue; last updates spread over three years.

Rows are written set-based: cases in multi-row inserts of `BATCH` rows with numbers reserved from
the case-number counter in one block; their history with `INSERT ... SELECT` over the inserted
cases, the rows that opening and changing a case write (status New, the Share with level at opening,
the change to the current status), stamped with the case's own dates and its opener as actor.
The `-consortia` staff get their licence rows (granted by "consortia generate") in one more step.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, insert, literal, select, update
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.audit.models import Actor
from consortia.audit.service import RowActor, history_insert_from_select, record
from consortia.db import utcnow
from consortia.platform.generate import (
    BATCH,
    CASES,
    INSTITUTIONS,
    MARKER_ACTOR,
    GenerationContext,
    Step,
    institution_code,
    staff_id,
)
from consortia.platform.models import Consortium, Institution, User
from consortia.support.models import (
    CASE_NUMBER_DIGITS,
    CLOSED,
    IN_PROGRESS,
    NEW,
    PENDING_CUSTOMER,
    SHARE_CONSORTIUM,
    SHARE_INSTITUTION,
    SOLVED,
    CaseNumberCounter,
    ConsortiaLicence,
    SupportCase,
)
from consortia.support.service import COUNTER, allocate_case_number

# The generated staff who open cases, with their weights (the -consortia user opens fewer).
OPENERS = (("standard", 5), ("admin", 3), ("consortia", 2))
# In a consortium with case sharing enabled (A), one case in SHARED_EVERY is shared with it.
SHARED_EVERY = 5
STATUS_WEIGHTS = ((NEW, 8), (IN_PROGRESS, 14), (PENDING_CUSTOMER, 8), (SOLVED, 15), (CLOSED, 55))
PRIORITY_WEIGHTS = (("Low", 25), ("Medium", 45), ("High", 23), ("Critical", 7))
ISSUE_TYPE_WEIGHTS = (("Technical", 40), ("Configuration", 20), ("Data", 20), ("Access", 12), ("Other", 8))
SPREAD_DAYS = 3 * 365

# Subject, product: what people ask support about, many times over.
SUBJECTS = (
    ("Overdue notices sent twice", "Alma"),
    ("Patron load rejects records", "Alma"),
    ("Import profile skips the ISBN", "Alma"),
    ("Search times out for network zone records", "Primo VE"),
    ("Reading list shows withdrawn items", "Leganto"),
    ("Link resolver opens an expired platform", "Alma"),
    ("Borrowing requests cancelled without a reason", "Alma"),
    ("Report returns no rows", "Alma Analytics"),
    ("Sign-in loops back to the home page", "Primo VE"),
    ("Fines not waived when a lost item is returned", "Alma"),
    ("Publishing job did not run", "Alma"),
    ("Course loader fails on some instructors", "Alma"),
    ("Due dates fall on closed days", "Alma"),
    ("Facets show Unknown resource type", "Primo VE"),
    ("API key answers 401", "Alma"),
    ("Pick slips print on the wrong printer", "Alma"),
)

LICENCE_STEP = "support licences"


def cases_step_name(number: int) -> str:
    """The step of generated institution `number` (from 1); the marker is per size."""
    return f"support cases:{number:02d}"


def cases_per_institution(context: GenerationContext) -> int:
    """The size's cases, spread evenly over the generated institutions (at least one each)."""
    return max(1, context.scaled(CASES) // INSTITUTIONS)


def shares_cases(session: Session, institution_id: int) -> bool:
    """Whether the institution's consortium has case sharing enabled (consortium A's members)."""
    enabled = session.scalar(
        select(Consortium.case_sharing_enabled)
        .join(Institution, Institution.consortium_id == Consortium.id)
        .where(Institution.id == institution_id)
    )
    return bool(enabled)


# --- cases ----------------------------------------------------------------------------------------


def _cases_of(number: int) -> Callable[[Session, GenerationContext], None]:
    def run(session: Session, context: GenerationContext) -> None:
        generate_cases(session, context, number)

    return run


def generate_cases(session: Session, context: GenerationContext, number: int) -> None:
    """The cases of generated institution `number`, with their history, in `session`."""
    code = institution_code(context.size, number)
    institution_id = context.institutions[code]
    count = cases_per_institution(context)
    openers = [(context.staff[staff_id(code, suffix)], weight) for suffix, weight in OPENERS]
    rng = random.Random(f"support:{context.size}:{code}")
    advance = context.task(f"[{context.size}] support cases of {code}", count)
    first = reserve_case_numbers(session, count)
    now = utcnow()
    shared = shares_cases(session, institution_id)
    done = 0
    while done < count:
        rows = [
            _case_row(rng, institution_id, openers, first + done + offset, shared, now)
            for offset in range(min(BATCH, count - done))
        ]
        session.execute(insert(SupportCase), rows)
        done += len(rows)
        advance(len(rows))
    _write_history(session, institution_id, _number(first), _number(first + count - 1))


def _number(value: int) -> str:
    return str(value).zfill(CASE_NUMBER_DIGITS)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _weight in weighted], [weight for _value, weight in weighted])[0]


def _case_row(
    rng: random.Random,
    institution_id: int,
    openers: list[tuple[int, int]],
    number: int,
    shared: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    subject, product = SUBJECTS[rng.randrange(len(SUBJECTS))]
    status = _pick(rng, STATUS_WEIGHTS)
    created = now - dt.timedelta(days=rng.randrange(SPREAD_DAYS), seconds=rng.randrange(86_400))
    updated = created if status == NEW else min(now, created + dt.timedelta(hours=rng.randrange(1, 60 * 24)))
    opener = rng.choices([user_id for user_id, _w in openers], [weight for _u, weight in openers])[0]
    return {
        "number": _number(number),
        "institution_id": institution_id,
        "opened_by_id": opener,
        "subject": subject,
        "description": f"{subject}. Generated case {_number(number)} for the scale benchmarks.",
        "issue_type": _pick(rng, ISSUE_TYPE_WEIGHTS),
        "product": product,
        "priority": _pick(rng, PRIORITY_WEIGHTS),
        "status": status,
        "share_with": SHARE_CONSORTIUM if shared and rng.randrange(SHARED_EVERY) == 0 else SHARE_INSTITUTION,
        "created_at": created,
        "updated_at": updated,
        "version": 1,
    }


def reserve_case_numbers(session: Session, count: int) -> int:
    """Take `count` consecutive case numbers from the counter (in the caller's transaction); the first."""
    first = int(allocate_case_number(session))
    if count > 1:
        session.execute(
            update(CaseNumberCounter)
            .where(CaseNumberCounter.name == COUNTER)
            .values(value=CaseNumberCounter.value + (count - 1))
            .execution_options(synchronize_session=False)
        )
    return first


def _write_history(session: Session, institution_id: int, first: str, last: str) -> None:
    """The history the verbs write for these cases, `INSERT ... SELECT` (see the module docstring)."""
    cases = (
        select(SupportCase)
        .join(User, User.id == SupportCase.opened_by_id)
        .where(SupportCase.institution_id == institution_id, SupportCase.number.between(first, last))
    )
    _history_from(session, cases, "status", None, literal(NEW), SupportCase.created_at)
    _history_from(session, cases, "share_with", None, SupportCase.share_with, SupportCase.created_at)
    _history_from(
        session,
        cases.where(SupportCase.status != NEW),
        "status",
        NEW,
        SupportCase.status,
        SupportCase.updated_at,
    )


def _history_from(
    session: Session,
    cases: Select[Any],
    field: str,
    old: str | None,
    new: ColumnElement[Any] | QueryableAttribute[Any],
    at: QueryableAttribute[dt.datetime],
) -> None:
    """The history rows of `cases`, each case's own opener as actor, at the case's own `at`."""
    opener = RowActor(SupportCase.opened_by_id, User.first_name + literal(" ") + User.last_name)
    session.execute(
        history_insert_from_select(
            entity="case",
            entity_id=SupportCase.number,
            institution_id=SupportCase.institution_id,
            field=field,
            old=old,
            new=new,
            actor=opener,
            where_from=cases,
            at=at,
        )
    )


# --- licences -------------------------------------------------------------------------------------


def generate_licences(session: Session, context: GenerationContext) -> None:
    """The licence rows of every generated `-consortia` user (their level is already CONSORTIA),
    each with the history row that granting writes."""
    generator = Actor(None, MARKER_ACTOR)
    now = utcnow()
    for code, institution_id in context.institutions.items():
        primary_id = staff_id(code, "consortia")
        user_id = context.staff.get(primary_id)
        if user_id is None:
            continue
        session.add(
            ConsortiaLicence(
                institution_id=institution_id,
                user_id=user_id,
                granted_at=now,
                granted_by_id=None,
                granted_by=MARKER_ACTOR,
            )
        )
        record(
            session,
            entity="licence",
            entity_id=f"{code}/{primary_id}",
            field="consortia_licence",
            old=None,
            new="granted",
            actor=generator,
            institution_id=institution_id,
        )


def generate_support(context: GenerationContext, step: Step) -> None:
    """The Support Center's steps: the cases of each generated institution, then the licences."""
    for number in range(1, INSTITUTIONS + 1):
        step(cases_step_name(number), _cases_of(number))
    step(LICENCE_STEP, generate_licences)

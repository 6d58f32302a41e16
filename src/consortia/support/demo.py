"""The Support Center's part of the demo (`consortia demo`): cases, comments, sharing, licences and a
pending case-sharing request; `build_support_demo` is handed over in `support.domain`.

Everything is made through the Support Center's own verbs, acting as the demo people, so the
history of every case, licence and share is the history those verbs write:

- NLC (case sharing enabled): EAST, WEST and NORTH have cases of every status and priority, most
  of them shared with the consortium, some kept with the institution, and one (with an attachment)
  shared by mistake and set back to "My Institution": its history shows both changes. The
  operator's support staff comment on cases and move them through the workflow; the openers close
  what is solved. More cases are shared than one page of the partner list holds.
- SCC (case sharing disabled): SOUTH has cases of its own only, and the open Access case of
  south-standard asking the operator to enable case sharing for SCC (SC-10), left for the operator
  to resolve from the case.
- The Consortia licences of east-consortia and west-consortia, granted by the operator (so the
  licence list and the access review show them), and a view of a partner's case by each of them.

The timeline is deterministic and spread out, so that "Last updated" and "Opened" sort the lists
into something worth seeing: the licences date from `LICENCE_DAYS` days before the day the demo is
built, the cases were opened one after the other over the `CASE_DAYS` days before it, each story's
steps follow its opening at intervals of `STEP_HOURS` hours in rotation, and the partner views and the
pending request are of the last days. The verbs still do all the writing; `demo_clock` only dates what
they write (cases, comments, attachments, licences, partner views and their history) by the demo's
clock instead of the moment of building.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import utcnow
from consortia.platform.demo import DemoContext
from consortia.platform.models import User
from consortia.platform.setup import OPERATOR_ID
from consortia.support import comments, enablement, licences, service
from consortia.support.demo_cases import (
    ATTACH,
    COMMENT,
    DEMO_FILES,
    LICENSED,
    OPERATOR,
    PARTNER_VIEWS,
    SHARE,
    SHARING_REQUEST,
    STATUS,
    demo_cases,
)
from consortia.support.enablement import ContactRef
from consortia.support.models import CaseAttachment, CaseComment, ConsortiaLicence, PartnerCaseView, SupportCase
from consortia.support.service import CaseCreate

# --- the demo's clock ----------------------------------------------------------------------------

LICENCE_DAYS = 160  # the licences were granted this many days before the demo's day
CASE_DAYS = 150  # the cases were opened over this many days before it ...
RECENT_DAYS = 4  # ... the last of them this many days before it
STEP_HOURS = (5, 27, 3, 50, 9, 75, 20)  # hours between the steps of a case's story, in rotation

# The date-time columns the verbs stamp with the current time, by table.
STAMPED: dict[type, tuple[str, ...]] = {
    SupportCase: ("created_at", "updated_at"),
    CaseComment: ("created_at",),
    CaseAttachment: ("created_at",),
    ConsortiaLicence: ("granted_at",),
    PartnerCaseView: ("viewed_at",),
    HistoryEvent: ("at",),
}


@dataclass
class DemoClock:
    now: dt.datetime


@contextmanager
def demo_clock(session: Session, start: dt.datetime) -> Iterator[DemoClock]:
    """While open, the rows the verbs write in `session` are dated `clock.now` (set it before each
    verb): new rows in every stamped column, changed rows in the stamped columns the verb changed."""
    clock = DemoClock(start)

    def stamp(flushing: Session, _context: Any, _instances: Any) -> None:
        for obj in flushing.new:
            for name in STAMPED.get(type(obj), ()):
                setattr(obj, name, clock.now)
        for obj in flushing.dirty:
            state: Any = inspect(obj)
            for name in STAMPED.get(type(obj), ()):
                if state.attrs[name].history.has_changes():
                    setattr(obj, name, clock.now)

    session.flush()  # what was written before keeps its own dates
    event.listen(session, "before_flush", stamp)
    try:
        yield clock
    finally:
        session.flush()
        event.remove(session, "before_flush", stamp)


def case_timeline(index: int, count: int, steps: int, end: dt.datetime) -> tuple[dt.datetime, list[dt.datetime]]:
    """When the `index`th of `count` demo cases was opened and when each of its `steps` happened,
    all before `end`."""
    first = end - dt.timedelta(days=CASE_DAYS)
    span = dt.timedelta(days=CASE_DAYS - RECENT_DAYS)
    opened = first + span * index / max(count, 1) + dt.timedelta(hours=(index * 7) % 11, minutes=(index * 13) % 60)
    gap = dt.timedelta(hours=STEP_HOURS[index % len(STEP_HOURS)])
    if steps:
        gap = min(gap, (end - dt.timedelta(hours=1) - opened) / (steps + 1))
    return opened, [opened + gap * (number + 1) for number in range(steps)]


def demo_day() -> dt.datetime:
    """The end of the demo's timeline: the start of the day it is built (UTC)."""
    return dt.datetime.combine(utcnow().date(), dt.time())


# --- building ------------------------------------------------------------------------------------


def build_support_demo(session: Session, context: DemoContext) -> None:
    """Add the Support Center's demo data once: nothing when EAST already has cases."""
    east = context.institutions["EAST"]
    if session.scalar(select(SupportCase.id).where(SupportCase.institution_id == east.id).limit(1)) is not None:
        return
    people = _identities(session, context)
    with demo_clock(session, demo_day()) as clock:
        _build(session, context, people, clock)


def _build(session: Session, context: DemoContext, people: dict[str, Identity], clock: DemoClock) -> None:
    end = clock.now
    operator = people[OPERATOR]
    institutions = {institution.id: institution for institution in context.institutions.values()}
    for number, primary_id in enumerate(LICENSED):
        clock.now = end - dt.timedelta(days=LICENCE_DAYS, hours=-number)
        user = context.user(primary_id)
        if user.institution_id is not None and licences.active_licence(session, user) is None:
            licences.grant_licence(session, operator, user, institutions[user.institution_id])
    opened: dict[str, SupportCase] = {}
    stories = demo_cases()
    for index, story in enumerate(stories):
        clock.now, step_times = case_timeline(index, len(stories), len(story.steps), end)
        case = service.create_case(
            session,
            people[story.opener],
            CaseCreate.model_validate(
                {
                    "subject": story.subject,
                    "description": story.description,
                    "issue_type": story.issue_type,
                    "product": story.product,
                    "priority": story.priority,
                    "share_with": story.share_with,
                }
            ),
        )
        for at, (who, action, value) in zip(step_times, story.steps, strict=True):
            clock.now = at
            _act(session, people[who], case, action, value)
        opened[story.subject] = case
    for number, (viewer, subject) in enumerate(PARTNER_VIEWS):
        clock.now = end - dt.timedelta(days=len(PARTNER_VIEWS) + 1 - number, hours=-10)
        service.note_partner_view(session, people[viewer], opened[subject])
    requester, consortium, contacts = SHARING_REQUEST
    clock.now = end - dt.timedelta(days=1, hours=15)
    enablement.create_sharing_request(
        session,
        people[requester],
        consortium,
        [ContactRef(institution=code, primary_id=primary_id) for code, primary_id in contacts],
    )
    session.flush()


def _act(session: Session, identity: Identity, case: SupportCase, action: str, value: str) -> None:
    if action == COMMENT:
        comments.add_comment(session, identity, case, value)
    elif action == STATUS:
        service.update_case(session, identity, case, status=value)
    elif action == SHARE:
        service.set_share_with(session, identity, case, value)
    elif action == ATTACH:
        content_type, text = DEMO_FILES[value]
        comments.add_attachment(session, identity, case, name=value, content_type=content_type, content=text.encode())
    else:
        raise ValueError(f"Unknown demo step {action!r} on case {case.number}.")


def _identities(session: Session, context: DemoContext) -> dict[str, Identity]:
    """The identities the demo acts as: every Support Center contact of the demo, and the operator."""
    people = {
        primary_id: identity_of(user)
        for primary_id, user in context.users.items()
        if user.record_type == "STAFF" and user.support_level != "NONE"
    }
    people[OPERATOR] = identity_of(_operator(session, context))
    return people


def _operator(session: Session, context: DemoContext) -> User:
    """The operator account; `consortia demo` creates it before the demo, a bare build gets it here."""
    operator = session.scalars(
        select(User).where(User.is_operator.is_(True), User.primary_id_key == OPERATOR_ID)
    ).first()
    if operator is None:
        operator = User(
            institution_id=None,
            is_operator=True,
            primary_id=OPERATOR_ID,
            primary_id_key=OPERATOR_ID,
            record_type="STAFF",
            first_name="Operator",
            last_name="Support",
            support_level="NONE",
            password_hash=context.password_hash,
        )
        session.add(operator)
        session.flush()
    return operator

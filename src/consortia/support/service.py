"""Support cases (SC-4 .. SC-7): open, read, change, share, comment, attach; with history (P-6).

Every read goes through `access_case` (fetch and authorize in one call): an unknown number and a
case the caller may not see answer the same 404; a visible case the caller may not manage answers
403 with the reason (partner access is read-only). Verbs take the actor's identity, write history
in the caller's transaction and never commit (comments and attachments too: field `comment` with the
comment's first 200 characters, field `attachment` with the file name).

Status workflow: New, In Progress and Pending Customer are open; an open case may move to any other
open status or to Solved; a Solved case may be Closed or reopened (In Progress); Closed is final
(nothing about a closed case changes any more, except its Share with level, SC-5 "at any time").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, demand
from consortia.audit.models import HistoryEvent
from consortia.audit.registry import HistoryScope
from consortia.audit.service import events_for, record
from consortia.db import unless_locked, upsert, utcnow
from consortia.errors import BadRequest, Conflict, Forbidden, NotFound
from consortia.platform.models import Institution, User
from consortia.support.models import (
    CASE_NUMBER_DIGITS,
    CLOSED,
    IN_PROGRESS,
    NEW,
    OPEN_STATUSES,
    PRIORITIES,
    SHARE_CONSORTIUM,
    SHARE_INSTITUTION,
    SOLVED,
    CaseNumberCounter,
    IssueType,
    PartnerCaseView,
    Priority,
    ShareWith,
    SupportCase,
)
from consortia.support.policy import PARTNER_READ_ONLY, can_see_case, sharing_enabled_for


# A case as a person opens it (SC-4): the API's body, the new-case form, the demo. (No docstring: it
# would become the body's description in the API document.)
class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=20_000)
    issue_type: IssueType = "Technical"
    product: str = Field(default="", max_length=100)
    priority: Priority = "Medium"
    share_with: ShareWith = "INSTITUTION"


COUNTER = "case"
CASE_LOAD = (
    selectinload(SupportCase.institution).selectinload(Institution.consortium),
    selectinload(SupportCase.opened_by),
)


def case_not_found(number: str) -> NotFound:
    return NotFound(f"Case {number} was not found.", "402119")


def normalise_number(number: str) -> str | None:
    """`42` and `00000042` name the same case; anything but 1 to 8 digits names none."""
    text = number.strip()
    if not re.fullmatch(r"[0-9]{1,8}", text):
        return None
    return text.zfill(CASE_NUMBER_DIGITS)


def find_case(session: Session, number: str) -> SupportCase | None:
    """A case by number, without any check (for callers that check themselves)."""
    key = normalise_number(number)
    if key is None:
        return None
    return session.scalars(select(SupportCase).where(SupportCase.number == key).options(*CASE_LOAD)).first()


def access_case(session: Session, identity: Identity, number: str, permission: P = P.CASE_READ) -> SupportCase:
    """Load a case and check `permission` on it: 404 when it is unknown or not visible to the caller,
    403 with the reason when it is visible but `permission` is not granted (a partner's case)."""
    case = find_case(session, number)
    if case is None or not can_see_case(identity, case):
        raise case_not_found(number)
    if permission is not P.CASE_READ:
        demand_manager(identity, permission, case)
    return case


def demand_manager(identity: Identity, permission: P, case: SupportCase) -> None:
    """Partner access is read-only: 403 with the reason unless the caller may `permission` (edit, comment,
    share) on `case`, which they may see."""
    if not allows(identity, permission, case):
        raise Forbidden(PARTNER_READ_ONLY.format(institution=case.institution.name))


# --- abilities --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAbilities:
    """What the caller may do with a case, for the API's `can` and the page's buttons.

    `share`: may choose the Share with level (SC-5: only while the consortium has sharing enabled).
    `take_back`: sharing is disabled but the case is still shared with the consortium, so the caller
    may set it back to "My Institution" (SC-7 "at any time"; `set_share_with` allows it), and to
    nothing else. The API's `can` names only `share`, as API.md documents.
    """

    edit: bool
    comment: bool
    share: bool
    take_back: bool = False
    # A partner's case: visible, but the caller may change nothing of it (whatever its status).
    read_only: bool = False

    def as_json(self) -> dict[str, bool]:
        return {"edit": self.edit, "comment": self.comment, "share": self.share}

    @property
    def share_case(self) -> bool:
        """Whether the Share Case action (the pop-up) is offered at all."""
        return self.share or self.take_back


def case_abilities(identity: Identity, case: SupportCase) -> CaseAbilities:
    is_open = case.status != CLOSED
    may_share = allows(identity, P.CASE_SHARE, case)
    enabled = sharing_enabled_for(case.institution)
    return CaseAbilities(
        edit=is_open and allows(identity, P.CASE_EDIT, case),
        comment=is_open and allows(identity, P.CASE_COMMENT, case),
        # SC-5: the Share Case action is offered only while the consortium has sharing enabled ...
        share=may_share and enabled,
        # ... except to take a case that is still shared back to the institution.
        take_back=may_share and not enabled and case.share_with == SHARE_CONSORTIUM,
        read_only=not allows(identity, P.CASE_EDIT, case),
    )


@dataclass(frozen=True)
class CaseListAbilities:
    """What the caller may do from the case list: open a case, keep views of their own, ask for case
    sharing (SC-10: only while their consortium has it disabled), manage their institution's contacts."""

    create: bool
    keep_views: bool
    request_sharing: bool
    manage_contacts: bool


def case_list_abilities(session: Session, identity: Identity) -> CaseListAbilities:
    here = InInstitution(identity.acting_institution_id)
    institution = session.get(Institution, identity.institution_id) if identity.institution_id else None
    consortium = institution.consortium if institution is not None else None
    return CaseListAbilities(
        create=allows(identity, P.CASE_CREATE, here),
        keep_views=allows(identity, P.LIST_VIEW_MANAGE),
        request_sharing=(
            allows(identity, P.CASE_SHARING_REQUEST, here)
            and consortium is not None
            and not consortium.case_sharing_enabled
        ),
        manage_contacts=identity.institution_id is not None
        and allows(identity, P.CONTACT_MANAGE, InInstitution(identity.institution_id)),
    )


def share_with_choices(abilities: CaseAbilities) -> list[str]:
    """The Share with values the Share Case pop-up offers: both while sharing is enabled, only
    INSTITUTION when the caller may only take the case back, none otherwise."""
    if abilities.share:
        return [SHARE_INSTITUTION, SHARE_CONSORTIUM]
    if abilities.take_back:
        return [SHARE_INSTITUTION]
    return []


def can_choose_share_with(identity: Identity, institution: Institution) -> bool:
    """Whether the new-case form offers "Share with" (SC-5): the caller may open cases here and the
    institution's consortium has sharing enabled."""
    return allows(identity, P.CASE_CREATE, InInstitution(institution.id)) and sharing_enabled_for(institution)


def next_statuses(current: str) -> tuple[str, ...]:
    """The statuses a case in `current` may move to (see the module docstring)."""
    if current in OPEN_STATUSES:
        return tuple(s for s in (*OPEN_STATUSES, SOLVED) if s != current)
    if current == SOLVED:
        return (CLOSED, IN_PROGRESS)
    return ()


# --- opening a case ---------------------------------------------------------------------------


def allocate_case_number(session: Session) -> str:
    """The next case number, sequential and never handed out twice.

    The counter row is incremented in the caller's transaction (PostgreSQL holds the row lock until
    commit, SQLite has one writer); the first number ever continues after any cases already present
    (for example bulk-loaded ones). Two transactions creating the counter at once: one wins, the
    other retries the increment.
    """
    for _attempt in range(3):
        value = session.execute(
            update(CaseNumberCounter)
            .where(CaseNumberCounter.name == COUNTER)
            .values(value=CaseNumberCounter.value + 1)
            .returning(CaseNumberCounter.value)
            .execution_options(synchronize_session=False)
        ).scalar()
        if value is not None:
            return str(value).zfill(CASE_NUMBER_DIGITS)
        highest = session.scalar(select(func.max(SupportCase.number)))
        first = int(highest) + 1 if highest else 1
        try:
            with session.begin_nested():
                session.add(CaseNumberCounter(name=COUNTER, value=first))
        except IntegrityError:
            continue
        return str(first).zfill(CASE_NUMBER_DIGITS)
    raise Conflict("Could not allocate a case number; try again.")


def _check_can_share(institution: Institution) -> None:
    if not sharing_enabled_for(institution):
        consortium = institution.consortium
        if consortium is None:
            raise Forbidden(f"{institution.name} belongs to no consortium: its cases cannot be shared.")
        raise Forbidden(
            f"Case sharing is not enabled for {consortium.name}; a STANDARD user can ask the operator to enable it."
        )


def create_case(session: Session, identity: Identity, data: CaseCreate) -> SupportCase:
    """Open a case in the caller's institution (the operator: the institution named with ?institution=)."""
    institution = acting_institution(session, identity)
    demand(identity, P.CASE_CREATE, InInstitution(institution.id))
    opener = session.get(User, identity.user_id)
    if opener is None:
        raise NotFound("Your account was not found.")
    if not opener.is_operator and not opener.email_confirmed:
        raise Forbidden("Confirm your email address first: cases can be opened only after the confirmation.")
    if data.share_with == SHARE_CONSORTIUM:
        _check_can_share(institution)
    return open_case(
        session,
        identity,
        institution,
        subject=data.subject,
        description=data.description,
        issue_type=data.issue_type,
        product=data.product,
        priority=data.priority,
        share_with=data.share_with,
    )


def open_case(
    session: Session,
    identity: Identity,
    institution: Institution,
    *,
    subject: str,
    description: str,
    issue_type: str,
    product: str,
    priority: str,
    share_with: str,
) -> SupportCase:
    """Create the case row with its first history (callers have checked who may open it)."""
    now = utcnow()
    case = SupportCase(
        number=allocate_case_number(session),
        institution_id=institution.id,
        opened_by_id=identity.user_id,
        subject=subject,
        description=description,
        issue_type=issue_type,
        product=product,
        priority=priority,
        status=NEW,
        share_with=share_with,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    case_history_row(session, identity, case, "status", None, NEW)
    case_history_row(session, identity, case, "share_with", None, share_with)
    session.refresh(case)
    return case


def case_history_row(
    session: Session, identity: Identity, case: SupportCase, field: str, old: object, new: object
) -> None:
    """One history row of a change to `case` (entity `case`, id its number)."""
    record(
        session,
        entity="case",
        entity_id=case.number,
        field=field,
        old=old,
        new=new,
        actor=identity.actor,
        institution_id=case.institution_id,
    )


# --- changing a case --------------------------------------------------------------------------


def update_case(
    session: Session,
    identity: Identity,
    case: SupportCase,
    *,
    subject: str | None = None,
    description: str | None = None,
    priority: str | None = None,
    status: str | None = None,
    expected_version: int | None = None,
) -> SupportCase:
    """Change status, priority, subject or description of a case the caller manages (None: unchanged).

    A stale `expected_version` (R-4) answers 409; so does a concurrent change that commits first
    (the row's version is checked by the UPDATE itself).
    """
    demand_manager(identity, P.CASE_EDIT, case)
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            f"Case {case.number} was changed by someone else (version {case.version}, you sent {expected_version}); "
            "reload it and try again."
        )
    if case.status == CLOSED:
        raise Conflict(f"Case {case.number} is closed; a closed case cannot be changed. Open a new case instead.")
    if priority is not None and priority not in PRIORITIES:
        raise BadRequest(f"Priority must be one of {', '.join(PRIORITIES)}.")
    if status is not None and status != case.status and status not in next_statuses(case.status):
        allowed = ", ".join(next_statuses(case.status))
        raise BadRequest(f"A case in status {case.status} cannot move to {status}; it may move to: {allowed}.")
    if subject is not None and not subject.strip():
        raise BadRequest("The subject cannot be empty.")
    changed = False
    for field, new in (("subject", subject), ("description", description), ("priority", priority), ("status", status)):
        old = getattr(case, field)
        if new is None or new == old:
            continue
        setattr(case, field, new)
        case_history_row(session, identity, case, field, old, new)
        changed = True
    if changed:
        case.updated_at = utcnow()
        session.flush()
    return case


def set_share_with(session: Session, identity: Identity, case: SupportCase, share_with: str) -> SupportCase:
    """Change the Share with level (SC-5, SC-7); CONSORTIUM only while the consortium has sharing enabled.

    Going back to INSTITUTION is always allowed and removes partner visibility at once.
    """
    demand_manager(identity, P.CASE_SHARE, case)
    if share_with not in (SHARE_INSTITUTION, SHARE_CONSORTIUM):
        raise BadRequest("Share with must be INSTITUTION or CONSORTIUM.")
    if share_with == SHARE_CONSORTIUM:
        _check_can_share(case.institution)
    if share_with == case.share_with:
        return case
    old = case.share_with
    case.share_with = share_with
    case.updated_at = utcnow()
    case_history_row(session, identity, case, "share_with", old, share_with)
    session.flush()
    return case


# --- history and partner views ----------------------------------------------------------------


def case_history(session: Session, case: SupportCase) -> Sequence[HistoryEvent]:
    """The case's history rows, oldest first (the caller has accessed the case)."""
    return events_for(session, "case", case.number)


def case_history_scope(session: Session, identity: Identity, number: str) -> HistoryScope:
    """The history API's view of a case: the rows of a case the caller may see (404 otherwise)."""
    case = access_case(session, identity, number)
    return HistoryScope(case.number, case.institution_id)


def note_partner_view(session: Session, identity: Identity, case: SupportCase) -> None:
    """Remember that a user opened a case of another institution (for the access review, SC-11)."""
    if identity.is_operator or identity.institution_id is None or case.institution_id == identity.institution_id:
        return
    values = {"user_id": identity.user_id, "case_id": case.id, "viewed_at": utcnow()}
    # The page is a read that writes this on the side: left out when SQLite has no write lock for it. One
    # upsert, so that two requests of the same user at the same moment both succeed.
    with unless_locked(session):
        upsert(session, PartnerCaseView, values, ("user_id",))


def last_partner_views(session: Session, user_ids: Sequence[int]) -> dict[int, dt.datetime]:
    if not user_ids:
        return {}
    rows = session.execute(
        select(PartnerCaseView.user_id, PartnerCaseView.viewed_at).where(PartnerCaseView.user_id.in_(user_ids))
    ).all()
    return {row.user_id: row.viewed_at for row in rows}

"""Enabling case sharing for a consortium (SC-1, SC-10).

A STANDARD (or CONSORTIA) user asks (`case-sharing:request`) with a pre-filled Access case naming the
consortium's parent account and the contacts who should see shared cases. The operator resolves it
from the case in one step, in one transaction: sharing is enabled, each contact named in the request
gets a Consortia licence, the case gets a comment saying what was done and is marked Solved; the
history rows of the consortium and of each licence name the case.
Disabling sharing needs no request; shared cases are hidden from partners again at once, because
the visibility rule reads the consortium's flag on every request.

Contacts: the seed's request lists the people who should see shared cases, one per institution of
the consortium, so a request may name staff users of any member institution (`{institution,
primary_id}`). A contact who does not exist, is not an active staff user, or belongs to no member
institution is refused with one and the same message, so that the answer tells nothing about the
users of other institutions (R-3). The request case is read by the requester's institution: it
names a partner's contact by user name and institution only; names and addresses of the
requester's own colleagues are written out as the seed's wording has it. The operator sees every
contact's name on the administration page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, demand
from consortia.audit.service import record, text_of
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, Forbidden, NotFound
from consortia.platform.consortium_service import access_consortium
from consortia.platform.models import Consortium, Institution, User
from consortia.platform.users import find_user
from consortia.support.comments import add_comment
from consortia.support.licences import active_licence, grant_licence
from consortia.support.models import (
    CLOSED,
    CONTACT_LEVELS,
    SHARE_INSTITUTION,
    SOLVED,
    ConsortiaLicence,
    SharingRequest,
    SupportCase,
)
from consortia.support.service import find_case, open_case, update_case

REQUEST_PRODUCT = "Support Center"
MAX_INSTITUTION_CODE = 40
MAX_PRIMARY_ID = 100
MAX_REQUEST_CONTACTS = 50


class ContactRef(BaseModel):
    """A contact named by institution code and user name (primary id), in any member institution."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    institution: str = Field(min_length=1, max_length=MAX_INSTITUTION_CODE)
    primary_id: str = Field(min_length=1, max_length=MAX_PRIMARY_ID)


def consortium_phrase(name: str) -> str:
    """`<name> consortium`, unless the name already says it ("Southern Colleges Consortium")."""
    return name if re.search(r"\bconsortium$", name.strip(), re.IGNORECASE) else f"{name} consortium"


def request_subject(consortium: Consortium) -> str:
    """The seed's summary, "Set up case sharing for <name> consortium"."""
    return f"Set up case sharing for {consortium_phrase(consortium.name)}"


def request_description(
    consortium: Consortium, institution: Institution, contacts: list[tuple[User, Institution]]
) -> str:
    """The seed's wording: the parent account, then the contacts to be given access (a partner's contact
    by user name and institution only, see the module docstring)."""
    account = consortium.parent_account or consortium.name
    lines = [
        f"Please enable case sharing for the {consortium_phrase(account)}.",
        "",
        "Users who should have access to the shared cases are:",
    ]
    for user, member in contacts:
        if member.id != institution.id:
            lines.append(f"- {user.primary_id} ({member.name})")
            continue
        email = f" <{user.email}>" if user.email else ""
        lines.append(f"- {user.full_name or user.primary_id} ({user.primary_id}, {member.name}){email}")
    return "\n".join(lines)


def _resolve_contacts(
    session: Session, consortium: Consortium, contacts: list[ContactRef]
) -> list[tuple[User, Institution]]:
    """The users a request names: active staff users of member institutions of `consortium`. Unknown
    users, users who are not (active) staff and users outside the consortium are all refused with
    the same message (R-3)."""
    members = {
        member.code: member
        for member in session.scalars(select(Institution).where(Institution.consortium_id == consortium.id)).all()
    }
    found: list[tuple[User, Institution]] = []
    problems: list[str] = []
    for ref in contacts:
        member = members.get(ref.institution.strip().upper())
        user = find_user(session, member, ref.primary_id, "primary_id") if member is not None else None
        if user is None or member is None or not _may_be_contact(user):
            problems.append(f"{ref.institution}/{ref.primary_id}")
            continue
        if all(user.id != seen.id for seen, _member in found):
            found.append((user, member))
    if problems:
        raise BadRequest(
            f"These contacts cannot be named: {', '.join(problems)}. Name active staff users of the "
            f"institutions of {consortium.name}, each with their institution's code and their user name.",
            "40166411",
        )
    return found


def _may_be_contact(user: User) -> bool:
    return user.record_type == "STAFF" and not user.is_operator and user.status == "ACTIVE"


def create_sharing_request(
    session: Session, identity: Identity, consortium_code: str, contacts: list[ContactRef]
) -> SupportCase:
    """Open the pre-filled Access case asking the operator to enable sharing for the caller's consortium."""
    institution = acting_institution(session, identity)
    demand(identity, P.CASE_CREATE, InInstitution(institution.id))
    demand(identity, P.CASE_SHARING_REQUEST, InInstitution(institution.id))
    consortium = session.scalars(select(Consortium).where(Consortium.code == consortium_code.strip().upper())).first()
    if consortium is None or consortium.id != institution.consortium_id:
        raise NotFound(f"Consortium {consortium_code} was not found.")
    opener = session.get(User, identity.user_id)
    if opener is not None and not opener.is_operator and not opener.email_confirmed:
        raise Forbidden("Confirm your email address first: cases can be opened only after the confirmation.")
    resolved = _resolve_contacts(session, consortium, contacts)
    case = open_case(
        session,
        identity,
        institution,
        subject=request_subject(consortium),
        description=request_description(consortium, institution, resolved),
        issue_type="Access",
        product=REQUEST_PRODUCT,
        priority="Medium",
        share_with=SHARE_INSTITUTION,
    )
    session.add(
        SharingRequest(
            case_id=case.id,
            consortium_id=consortium.id,
            contacts=[{"institution_id": member.id, "user_id": user.id} for user, member in resolved],
        )
    )
    session.flush()
    return case


def sharing_request_of(session: Session, case: SupportCase) -> SharingRequest | None:
    return session.get(SharingRequest, case.id)


def open_sharing_requests(session: Session) -> list[SharingRequest]:
    """Unresolved enablement requests, oldest first, with their cases and consortia."""
    return list(
        session.scalars(
            select(SharingRequest)
            .join(SupportCase, SupportCase.id == SharingRequest.case_id)
            .where(SharingRequest.resolved_at.is_(None), SupportCase.status != CLOSED)
            .order_by(SupportCase.id)
            .options(selectinload(SharingRequest.case), selectinload(SharingRequest.consortium))
        ).all()
    )


@dataclass(frozen=True)
class OpenRequest:
    """An unresolved enablement request as the operator's admin page lists it: its case, its consortium,
    and its contacts as `Full Name (INSTITUTION/primary_id)` (those that still exist)."""

    row: SharingRequest
    case: SupportCase
    consortium: Consortium
    contacts: list[str]


def open_requests(session: Session, identity: Identity) -> list[OpenRequest]:
    """The unresolved enablement requests with their contacts' names, for the operator
    (`case-sharing:manage`); the contacts of all of them are read in two queries."""
    demand(identity, P.CASE_SHARING_MANAGE)
    rows = open_sharing_requests(session)
    named = [contact for row in rows for contact in row.contacts]
    user_ids = {contact.get("user_id") for contact in named} - {None}
    institution_ids = {contact.get("institution_id") for contact in named} - {None}
    users: dict[int | None, User] = {}
    if user_ids:
        users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(user_ids)))}
    institutions: dict[int | None, Institution] = {}
    if institution_ids:
        institutions = {
            i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(institution_ids)))
        }
    found = []
    for row in rows:
        names = []
        for contact in row.contacts:
            user = users.get(contact.get("user_id"))
            institution = institutions.get(contact.get("institution_id"))
            if user is not None and institution is not None:
                names.append(f"{user.full_name or user.primary_id} ({institution.code}/{user.primary_id})")
        found.append(OpenRequest(row, row.case, row.consortium, names))
    return found


def may_resolve(identity: Identity, request: SharingRequest | None) -> bool:
    """Whether the caller may resolve this enablement request from its case (the operator, while it is open)."""
    return (
        request is not None
        and request.resolved_at is None
        and allows(identity, P.CASE_SHARING_MANAGE, request.consortium)
    )


# --- the request form -----------------------------------------------------------------------------

NO_CONSORTIUM = "Your institution belongs to no consortium: there is nothing to share cases with."


@dataclass(frozen=True)
class RequestForm:
    """What the page asking for case sharing offers: the consortium's institutions (the requester's own
    first, then by name) and the requester's own Support Center users, as suggestions for user names."""

    institution: Institution
    consortium: Consortium
    members: list[Institution]
    colleagues: list[User]


def requesting_institution(session: Session, identity: Identity) -> tuple[Institution, Consortium]:
    """The institution the caller works in and its consortium; 400 when it belongs to none."""
    institution = acting_institution(session, identity)
    if institution.consortium is None:
        raise BadRequest(NO_CONSORTIUM)
    return institution, institution.consortium


def request_form(session: Session, identity: Identity) -> RequestForm:
    institution, consortium = requesting_institution(session, identity)
    members = session.scalars(
        select(Institution).where(Institution.consortium_id == institution.consortium_id).order_by(Institution.name)
    ).all()
    colleagues = session.scalars(
        select(User)
        .where(
            User.institution_id == institution.id,
            User.record_type == "STAFF",
            User.status == "ACTIVE",
            User.support_level.in_(sorted(CONTACT_LEVELS)),
        )
        .order_by(User.last_name, User.first_name, User.primary_id_key)
        .limit(200)
    ).all()
    return RequestForm(
        institution, consortium, sorted(members, key=lambda member: member.id != institution.id), list(colleagues)
    )


@dataclass
class SharingChange:
    consortium: Consortium
    granted: list[ConsortiaLicence] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    request_case: SupportCase | None = None


def set_case_sharing(
    session: Session, identity: Identity, consortium_code: str, *, enabled: bool, request_case: str | None
) -> SharingChange:
    """Enable or disable case sharing for a consortium (operator only); with `request_case`, resolve that
    enablement request in the same transaction (licences for its contacts, comment, Solved)."""
    consortium = access_consortium(session, identity, consortium_code, P.CASE_SHARING_MANAGE)
    request: SharingRequest | None = None
    case: SupportCase | None = None
    if request_case:
        if not enabled:
            raise BadRequest("A case-sharing request is resolved by enabling sharing, not by disabling it.")
        case = find_case(session, request_case)
        request = sharing_request_of(session, case) if case is not None else None
        if case is None or request is None or request.consortium_id != consortium.id:
            raise BadRequest(f"Case {request_case} is not a request to enable case sharing for {consortium.name}.")
        if request.resolved_at is not None or case.status == CLOSED:
            raise Conflict(f"Case {case.number} has already been resolved.")
    change = SharingChange(consortium)
    if consortium.case_sharing_enabled != enabled:
        record(
            session,
            entity="consortium",
            entity_id=consortium.code,
            field="case_sharing_enabled",
            old=consortium.case_sharing_enabled,
            new=f"{text_of(enabled)} (via case {case.number})" if case is not None else enabled,
            actor=identity.actor,
            institution_id=None,
        )
        consortium.case_sharing_enabled = enabled
    if request is not None and case is not None:
        _resolve_request(session, identity, consortium, request, case, change)
    session.flush()
    return change


def _resolve_request(
    session: Session,
    identity: Identity,
    consortium: Consortium,
    request: SharingRequest,
    case: SupportCase,
    change: SharingChange,
) -> None:
    names: list[str] = []
    for contact in request.contacts:
        user = session.get(User, contact.get("user_id"))
        institution = session.get(Institution, contact.get("institution_id"))
        if user is None or institution is None or user.institution_id != institution.id:
            change.warnings.append("A contact named in the request no longer exists; no licence was granted.")
            continue
        if institution.consortium_id != consortium.id:
            change.warnings.append(f"{user.primary_id}: {institution.name} is no longer a member; no licence.")
            continue
        if active_licence(session, user) is not None:
            names.append(f"{user.primary_id} (already licensed)")
            continue
        if user.status != "ACTIVE":
            change.warnings.append(f"{user.primary_id} is inactive; no licence was granted.")
            continue
        granted = grant_licence(session, identity, user, institution, via_case=case.number)
        change.granted.append(granted.licence)
        change.warnings.extend(granted.warnings)
        names.append(user.primary_id)
    now = utcnow()
    text = f"Case sharing is enabled for {consortium.name}. Consortia licences: {', '.join(names) or 'none'}."
    add_comment(session, identity, case, text)
    update_case(session, identity, case, status=SOLVED)
    request.resolved_at = now
    change.request_case = case

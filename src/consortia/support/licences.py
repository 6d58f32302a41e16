"""Consortia licences, Support Center contacts and the access review (SC-2, SC-3, SC-11, SC-12).

- Only the operator grants or removes a Consortia licence. Granting sets the user's level to
  CONSORTIA; removing sets it back to STANDARD. A second active licence in one institution is
  allowed but answered with a warning (the recommendation is at most one per institution).
- The operator, or the General System Administrator of the contact's institution, sets a contact's
  level to NONE, BASIC or STANDARD (`support-level:set`, the same rule as on the user's own record);
  only the operator touches a CONSORTIA user's level (that is the licence, `licence:manage`) or a
  contact's status (`contact:status`). An inactivated contact is signed out everywhere at once.
- When a user leaves the staff or is deleted (the platform's departure hook, reached by the operator
  only for a Consortia user), an active licence is removed with its history first; a user who opened
  support cases is not deleted (409: they stay named on their cases; inactivate them instead).
- The access review lists every Consortia user of a consortium with grant date, last sign-in and
  last view of a partner case. A review is due every `REVIEW_PERIOD_MONTHS` months, counted from the
  last review, or, before the first review, from the earliest active licence.

Every change writes history: entity "user" (field support_level or status) and entity "licence"
(id `INSTITUTION/primary_id`), "consortium" for reviews.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, authorize, demand, where
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.platform.models import Consortium, Institution, User
from consortia.platform.tenancy import institution_by_code
from consortia.platform.user_roles import check_support_level, record_support_level
from consortia.platform.user_service import set_user_status
from consortia.platform.users import find_user
from consortia.support.models import CONSORTIA, STANDARD, SUPPORT_LEVELS, AccessReview, ConsortiaLicence, SupportCase
from consortia.support.service import last_partner_views

REVIEW_PERIOD_MONTHS = 6
SECOND_LICENCE_WARNING = (
    "{institution} already has {count} Consortia user(s) ({names}); the recommendation is no more than one "
    "Consortia user per institution."
)


def contact_not_found(institution_code: str, primary_id: str) -> NotFound:
    return NotFound(f"User {primary_id} of institution {institution_code} was not found.", "401861")


def access_contact(
    session: Session, identity: Identity, institution_code: str, primary_id: str, permission: P
) -> tuple[User, Institution]:
    """A staff user of an institution, checked for `permission`: unknown users, users of institutions
    the caller may not see and unknown institutions all answer 404."""
    institution = institution_by_code(session, institution_code)
    user = find_user(session, institution, primary_id, "primary_id") if institution is not None else None
    authorize(identity, permission, user, not_found=contact_not_found(institution_code, primary_id))
    assert user is not None
    assert institution is not None
    if user.record_type != "STAFF" or user.is_operator:
        raise BadRequest(f"{primary_id} is not a staff user: only staff users are Support Center contacts.")
    return user, institution


def licence_contact(
    session: Session, identity: Identity, institution_code: str, primary_id: str
) -> tuple[User, Institution]:
    """The contact a licence action names; only the operator gets this far (403 for anyone else)."""
    demand(identity, P.LICENCE_MANAGE)
    return access_contact(session, identity, institution_code, primary_id, P.LICENCE_MANAGE)


def licence_key(institution: Institution, user: User) -> str:
    return f"{institution.code}/{user.primary_id}"


def licence_history_scope(session: Session, identity: Identity, key: str) -> HistoryScope:
    """The history API's view of a licence `INSTITUTION/primary_id` (the operator's only)."""
    institution_code, _, primary_id = key.partition("/")
    if not allows(identity, P.LICENCE_MANAGE) or not primary_id:
        raise contact_not_found(institution_code, primary_id)
    user, institution = access_contact(session, identity, institution_code, primary_id, P.LICENCE_MANAGE)
    return HistoryScope(licence_key(institution, user), institution.id)


def active_licence(session: Session, user: User) -> ConsortiaLicence | None:
    return session.scalars(
        select(ConsortiaLicence).where(ConsortiaLicence.user_id == user.id, ConsortiaLicence.removed_at.is_(None))
    ).first()


# --- licences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Granted:
    licence: ConsortiaLicence
    warnings: list[str]


def grant_licence(
    session: Session, identity: Identity, user: User, institution: Institution, *, via_case: str | None = None
) -> Granted:
    """Give a staff user of a consortium member the Consortia licence (operator only); `via_case` names
    the enablement request being resolved, in the history row (SC-10)."""
    demand(identity, P.LICENCE_MANAGE)
    if institution.consortium_id is None:
        raise BadRequest(f"{institution.name} belongs to no consortium: Consortia licences are for consortium members.")
    if user.status != "ACTIVE":
        raise BadRequest(f"{user.primary_id} is inactive; reactivate the contact before granting a licence.")
    if active_licence(session, user) is not None:
        raise Conflict(f"{user.primary_id} already holds a Consortia licence.")
    others = session.scalars(
        select(User)
        .join(ConsortiaLicence, ConsortiaLicence.user_id == User.id)
        .where(ConsortiaLicence.institution_id == institution.id, ConsortiaLicence.removed_at.is_(None))
        .order_by(User.primary_id_key)
    ).all()
    warnings = []
    if others:
        warnings.append(
            SECOND_LICENCE_WARNING.format(
                institution=institution.name, count=len(others), names=", ".join(u.primary_id for u in others)
            )
        )
    licence = ConsortiaLicence(
        institution_id=institution.id,
        user_id=user.id,
        granted_at=utcnow(),
        granted_by_id=identity.user_id,
        granted_by=identity.actor.label,
    )
    session.add(licence)
    record_support_level(session, identity, user, CONSORTIA)
    record(
        session,
        entity="licence",
        entity_id=licence_key(institution, user),
        field="consortia_licence",
        old=None,
        new=f"granted (via case {via_case})" if via_case else "granted",
        actor=identity.actor,
        institution_id=institution.id,
    )
    session.flush()
    return Granted(licence, warnings)


def remove_licence(session: Session, identity: Identity, user: User, institution: Institution) -> None:
    """Take the Consortia licence away (operator only); the user falls back to STANDARD at once."""
    demand(identity, P.LICENCE_MANAGE)
    licence = active_licence(session, user)
    if licence is None:
        raise NotFound(f"{user.primary_id} holds no Consortia licence.")
    licence.removed_at = utcnow()
    licence.removed_by_id = identity.user_id
    licence.removed_by = identity.actor.label
    record_support_level(session, identity, user, STANDARD)
    record(
        session,
        entity="licence",
        entity_id=licence_key(institution, user),
        field="consortia_licence",
        old="granted",
        new="removed",
        actor=identity.actor,
        institution_id=institution.id,
    )
    session.flush()


def licences(
    session: Session,
    identity: Identity,
    *,
    consortium: Consortium | None = None,
    institution: Institution | None = None,
    limit: int,
    offset: int,
) -> tuple[list[ConsortiaLicence], int]:
    """Active licences, by institution and user (operator only)."""
    demand(identity, P.LICENCE_MANAGE)
    query = select(ConsortiaLicence).where(ConsortiaLicence.removed_at.is_(None))
    if institution is not None:
        query = query.where(ConsortiaLicence.institution_id == institution.id)
    if consortium is not None:
        query = query.where(
            ConsortiaLicence.institution_id.in_(
                select(Institution.id).where(Institution.consortium_id == consortium.id)
            )
        )
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(
        query.join(Institution, Institution.id == ConsortiaLicence.institution_id)
        .join(User, User.id == ConsortiaLicence.user_id)
        .order_by(Institution.code, User.primary_id_key)
        .options(selectinload(ConsortiaLicence.user), selectinload(ConsortiaLicence.institution))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


# --- contacts ---------------------------------------------------------------------------------


def set_contact(
    session: Session,
    identity: Identity,
    user: User,
    institution: Institution,
    *,
    support_level: str | None = None,
    status: str | None = None,
) -> list[str]:
    """Change a contact's Support Center level and/or status; answers warnings (of a licence grant).

    The caller has accessed the contact with CONTACT_MANAGE (operator, or the institution's GSA).
    Every change is checked before any is made: CONSORTIA in or out is `licence:manage`, another level
    `support-level:set`, a status `contact:status`.
    """
    new_level = support_level is not None and support_level != user.support_level
    licence_change = new_level and CONSORTIA in (support_level, user.support_level)
    if licence_change:
        demand(identity, P.LICENCE_MANAGE, user)
    elif new_level:
        check_support_level(identity, user, support_level)
    new_status = status is not None and status != user.status
    if new_status:
        demand(identity, P.CONTACT_STATUS, user)
    warnings: list[str] = []
    if licence_change and support_level == CONSORTIA:
        warnings = grant_licence(session, identity, user, institution).warnings
    elif licence_change:
        remove_licence(session, identity, user, institution)
    if new_level and support_level is not None:
        record_support_level(session, identity, user, support_level)
    if new_status and status is not None:
        set_user_status(session, identity, user, status)
    session.flush()
    return warnings


def contacts_of(session: Session, institution: Institution) -> list[User]:
    """The institution's staff users, with their Support Center level (for the contacts page)."""
    return list(
        session.scalars(
            select(User)
            .where(User.institution_id == institution.id, User.record_type == "STAFF", User.is_operator.is_(False))
            .order_by(User.last_name, User.first_name, User.primary_id_key)
            .limit(500)
        ).all()
    )


@dataclass(frozen=True)
class ContactDirectory:
    """The contacts page of one institution: its staff users (`contacts_of`), the institutions whose
    contacts the caller manages (to choose from, when there is more than the caller's own), the levels the
    caller may give, and whether the caller may change a contact's status."""

    institution: Institution | None
    institutions: list[Institution]
    contacts: list[User]
    levels: list[str]
    can_change_status: bool


def contact_directory(session: Session, identity: Identity, institution_code: str | None) -> ContactDirectory:
    """The contacts of the institution named, or of the caller's own (`contact:manage`: 404 for an institution
    the caller may not see, 403 for one whose contacts the caller does not manage). The choice offers every
    institution whose contacts the caller manages (the SQL face of `contact:manage`)."""
    if institution_code:
        chosen = institution_by_code(session, institution_code)
        authorize(
            identity,
            P.CONTACT_MANAGE,
            chosen,
            not_found=NotFound(f"Institution {institution_code} was not found."),
        )
    else:
        chosen = session.get(Institution, identity.institution_id) if identity.institution_id is not None else None
        demand(identity, P.CONTACT_MANAGE, chosen if chosen is not None else InInstitution(None))
    choices = list(
        session.scalars(
            select(Institution).where(where(identity, P.CONTACT_MANAGE, Institution)).order_by(Institution.code)
        )
    )
    return ContactDirectory(
        institution=chosen,
        institutions=choices if any(i.id != identity.institution_id for i in choices) else [],
        contacts=contacts_of(session, chosen) if chosen else [],
        levels=[level for level in SUPPORT_LEVELS if level != CONSORTIA or allows(identity, P.LICENCE_MANAGE)],
        can_change_status=chosen is not None and allows(identity, P.CONTACT_STATUS, chosen),
    )


def contact_leaving(session: Session, identity: Identity, user: User, *, deleting: bool) -> None:
    """The platform's departure hook: a user who opened cases is not deleted (they stay named on them),
    and an active Consortia licence ends, with its history, before the user leaves the staff or goes."""
    if deleting:
        opened = int(
            session.scalar(select(func.count()).select_from(SupportCase).where(SupportCase.opened_by_id == user.id))
            or 0
        )
        if opened:
            raise Conflict(
                f"User {user.primary_id} opened {opened} support case(s) and cannot be deleted; "
                "set the user INACTIVE instead."
            )
    if active_licence(session, user) is not None:
        institution = session.get(Institution, user.institution_id) if user.institution_id is not None else None
        if institution is not None:
            remove_licence(session, identity, user, institution)


# --- access review ----------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ReviewRow:
    institution: Institution
    user: User
    licence: ConsortiaLicence
    last_partner_view: dt.datetime | None


@dataclass(frozen=True)
class AccessReport:
    consortium: Consortium
    rows: list[ReviewRow]
    last_review: AccessReview | None
    next_due: dt.date | None

    @property
    def overdue(self) -> bool:
        return self.next_due is not None and self.next_due < utcnow().date()


def access_report(session: Session, identity: Identity, consortium: Consortium) -> AccessReport:
    """Every Consortia user of the consortium with grant date, last sign-in and last partner-case view."""
    demand(identity, P.ACCESS_REVIEW, consortium)
    licences_ = session.scalars(
        select(ConsortiaLicence)
        .join(Institution, Institution.id == ConsortiaLicence.institution_id)
        .join(User, User.id == ConsortiaLicence.user_id)
        .where(Institution.consortium_id == consortium.id, ConsortiaLicence.removed_at.is_(None))
        .order_by(Institution.code, User.primary_id_key)
        .options(selectinload(ConsortiaLicence.user), selectinload(ConsortiaLicence.institution))
    ).all()
    views = last_partner_views(session, [licence.user_id for licence in licences_])
    rows = [ReviewRow(lic.institution, lic.user, lic, views.get(lic.user_id)) for lic in licences_]
    last = session.scalars(
        select(AccessReview)
        .where(AccessReview.consortium_id == consortium.id)
        .order_by(AccessReview.reviewed_at.desc(), AccessReview.id.desc())
    ).first()
    if last is not None:
        next_due: dt.date | None = add_months(last.reviewed_at.date(), REVIEW_PERIOD_MONTHS)
    elif rows:
        next_due = add_months(min(row.licence.granted_at for row in rows).date(), REVIEW_PERIOD_MONTHS)
    else:
        next_due = None
    return AccessReport(consortium, rows, last, next_due)


def mark_reviewed(session: Session, identity: Identity, consortium: Consortium) -> AccessReview:
    """Record that the operator reviewed the consortium's Consortia users now."""
    demand(identity, P.ACCESS_REVIEW, consortium)
    review = AccessReview(
        consortium_id=consortium.id, reviewed_at=utcnow(), reviewer_id=identity.user_id, reviewer=identity.actor.label
    )
    session.add(review)
    record(
        session,
        entity="consortium",
        entity_id=consortium.code,
        field="access_review",
        old=None,
        new=review.reviewed_at.date(),
        actor=identity.actor,
        institution_id=None,
    )
    session.flush()
    return review

"""A user's roles (P-4, ER-4) and Support Center level (SC-2): checked, changed and recorded in history.

Decisions where the specification is silent:
- Only a General System Administrator of the user's institution, or the operator, may grant or
  remove GENERAL_SYSTEM_ADMINISTRATOR or change such an assignment (`role:grant-admin`); a User
  Administrator may grant every other role.
- Raising a user to the STANDARD Support Center level, and lowering anyone's level, needs the operator or
  the General System Administrator (SC-3, `support-level:set`, the rule the Support Center's contact
  verbs use too); a User Administrator may give BASIC to a user who has no level. CONSORTIA is never set
  or removed here, only through the Support Center licence verbs (SC-11, SC-12). Only staff users have
  a level other than NONE.
- Inactivating (or reactivating) a Consortia user, taking them out of STAFF or deleting them is the operator's
  (`contact:status`, SC-12): otherwise an administrator of the institution could end a licence that
  only the operator grants and removes.
- A role type disabled in the institution's `UserRoles` table cannot be newly granted; existing
  assignments of it are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import CONSORTIA_LEVEL, authorize
from consortia.access.roles import RoleSpec, role_set_problems
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest
from consortia.platform import codetables
from consortia.platform.models import Institution, Library, User, UserRole
from consortia.platform.tenancy import libraries_of
from consortia.platform.users import user_not_found

SUPPORT_LEVELS: dict[str, str] = {
    "NONE": "None",
    "BASIC": "Basic",
    "STANDARD": "Standard",
    "CONSORTIA": "Consortia",
}
SETTABLE_SUPPORT_LEVELS = ("NONE", "BASIC", "STANDARD")
LEVEL_ORDER = {level: rank for rank, level in enumerate(SUPPORT_LEVELS)}


# --- roles ------------------------------------------------------------------------------------


def role_text(role_type: str, scope_code: str, status: str, expiry_date: dt.date | None) -> str:
    """How a role assignment reads in history: `ELECTRONIC_INVENTORY_OPERATOR @ EAST_LAW (ACTIVE)`."""
    until = f", until {expiry_date.isoformat()}" if expiry_date else ""
    return f"{role_type} @ {scope_code} ({status}{until})"


def institution_of(session: Session, user: User) -> Institution:
    institution = session.get(Institution, user.institution_id) if user.institution_id is not None else None
    if institution is None:
        raise user_not_found(user.primary_id)
    return institution


class RoleProblems(BadRequest):
    """A wanted set of roles breaks P-4 or ER-4; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems), "40166411")
        self.problems = problems


@dataclass(frozen=True)
class RolePlan:
    """A checked change of a user's roles: what to remove, add and change, with its history texts."""

    remove: list[UserRole]
    add: list[tuple[RoleSpec, Library | None]]
    change: list[tuple[UserRole, RoleSpec]]
    history: list[tuple[str | None, str | None]]


def plan_user_roles(session: Session, identity: Identity, user: User, wanted: list[RoleSpec]) -> RolePlan:
    """Check a wanted set of role assignments and work out the change; nothing is changed yet.

    Needs `role:grant`; touching GENERAL_SYSTEM_ADMINISTRATOR needs `role:grant-admin`. The whole
    resulting set must obey P-4 and ER-4 (`role_set_problems`), else 400 listing every problem.
    """
    authorize(identity, P.ROLE_GRANT, user, not_found=user_not_found(user.primary_id))
    institution = institution_of(session, user)
    libraries: dict[str, Library] = {lib.code: lib for lib in libraries_of(session, institution.id)}
    by_id = {lib.id: lib.code for lib in libraries.values()}
    wanted = [
        RoleSpec(
            spec.role_type.strip().upper(),
            spec.library_code.strip().upper() if spec.library_code else None,
            spec.status.strip().upper(),
            spec.expiry_date,
        )
        for spec in wanted
    ]
    current: dict[tuple[str, str | None], UserRole] = {}
    for role in user.roles:
        current.setdefault((role.role_type, by_id.get(role.library_id) if role.library_id else None), role)
    problems = role_set_problems(wanted, set(libraries))
    disabled = set(R.ROLE_TYPES) - codetables.enabled_codes(session, institution.id, codetables.USER_ROLES)
    for spec in wanted:
        if spec.role_type in disabled and (spec.role_type, spec.library_code) not in current:
            problems.append(f"{R.ROLE_TYPES[spec.role_type]} is disabled in the institution's UserRoles table.")
    if problems:
        raise RoleProblems(problems)

    def text(role_type: str, code: str | None, status: str, expiry: dt.date | None) -> str:
        return role_text(role_type, code or institution.code, status, expiry)

    wanted_keys = {(spec.role_type, spec.library_code) for spec in wanted}
    plan = RolePlan([], [], [], [])
    touched: set[str] = set()
    for key, role in current.items():
        if key not in wanted_keys:
            plan.remove.append(role)
            plan.history.append((text(role.role_type, key[1], role.status, role.expiry_date), None))
            touched.add(role.role_type)
    for spec in wanted:
        key = (spec.role_type, spec.library_code)
        new = text(spec.role_type, spec.library_code, spec.status, spec.expiry_date)
        existing = current.get(key)
        if existing is None:
            plan.add.append((spec, libraries[spec.library_code] if spec.library_code else None))
            plan.history.append((None, new))
            touched.add(spec.role_type)
        elif (existing.status, existing.expiry_date) != (spec.status, spec.expiry_date):
            plan.change.append((existing, spec))
            plan.history.append((text(existing.role_type, key[1], existing.status, existing.expiry_date), new))
            touched.add(spec.role_type)
    if R.GENERAL_SYSTEM_ADMINISTRATOR in touched:
        authorize(identity, P.ROLE_GRANT_ADMIN, user, not_found=user_not_found(user.primary_id))
    return plan


def apply_role_plan(session: Session, identity: Identity, user: User, plan: RolePlan) -> bool:
    """Carry out a checked plan with one history row per added, removed or changed assignment."""
    for role in plan.remove:
        user.roles.remove(role)
    for spec, library in plan.add:
        user.roles.append(
            UserRole(
                role_type=spec.role_type,
                library_id=library.id if library is not None else None,
                library=library,
                status=spec.status,
                expiry_date=spec.expiry_date,
            )
        )
    for role, spec in plan.change:
        role.status, role.expiry_date = spec.status, spec.expiry_date
    for old, new in plan.history:
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="role",
            old=old,
            new=new,
            actor=identity.actor,
            institution_id=user.institution_id,
        )
    return bool(plan.history)


def set_user_roles(session: Session, identity: Identity, user: User, wanted: list[RoleSpec]) -> None:
    """Give `user` exactly the role assignments `wanted` (P-4, ER-4): the one way roles are granted.

    See `plan_user_roles` for the checks; on any problem nothing is changed. Each added, removed or
    changed assignment writes a history row (field `role`).
    """
    plan = plan_user_roles(session, identity, user, wanted)
    if apply_role_plan(session, identity, user, plan):
        user.updated_at = utcnow()
        session.flush()


def role_specs_of(user: User) -> list[RoleSpec]:
    """The user's current role assignments as specs (the starting point of an editor)."""
    return [
        RoleSpec(role.role_type, role.library.code if role.library is not None else None, role.status, role.expiry_date)
        for role in user.roles
    ]


# --- support level ----------------------------------------------------------------------------


def check_support_level(
    identity: Identity, user: User, level: str | None, *, record_type: str | None = None
) -> str | None:
    """The level to set, None when there is nothing to change; raises when it may not be set.

    `record_type` is the user's record type after the change being checked (default: the current one).
    """
    if not level:
        return None
    level = level.strip().upper()
    if level not in SUPPORT_LEVELS:
        raise BadRequest(f"support_level must be one of {', '.join(SETTABLE_SUPPORT_LEVELS)}.", "40166411")
    if level == user.support_level:
        return None
    if CONSORTIA_LEVEL in (level, user.support_level):
        raise BadRequest(
            "The CONSORTIA Support Center level is a licence that only the operator grants or removes, "
            "through the Support Center licences (POST /api/v1/support/licences, "
            "DELETE /api/v1/support/licences/{institution}/{primary_id}); it cannot be set on the user.",
            "40166411",
        )
    if level != "NONE" and (record_type or user.record_type) != "STAFF":
        raise BadRequest("Only staff users have a Support Center level.", "40166411")
    if level == "STANDARD" or LEVEL_ORDER[level] < LEVEL_ORDER.get(user.support_level, 0):
        authorize(identity, P.SUPPORT_LEVEL_SET, user, not_found=user_not_found(user.primary_id))
    return level


def check_contact_removal(
    identity: Identity, user: User, *, status: str | None = None, record_type: str | None = None, deleting: bool = False
) -> None:
    """Refuse (403) changing the status of a Consortia user, taking them out of STAFF or deleting them,
    unless the caller holds `contact:status` (the operator, SC-12). `status` and `record_type` are the
    values after the change being checked (None: unchanged)."""
    if user.support_level != CONSORTIA_LEVEL:
        return
    new_status = status is not None and status != user.status
    leaving_staff = record_type is not None and record_type != "STAFF" and user.record_type == "STAFF"
    if deleting or new_status or leaving_staff:
        authorize(identity, P.CONTACT_STATUS, user, not_found=user_not_found(user.primary_id))


def record_support_level(session: Session, identity: Identity, user: User, level: str) -> None:
    """Set a user's Support Center level with its history row; callers have checked who may."""
    if user.support_level == level:
        return
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="support_level",
        old=user.support_level,
        new=level,
        actor=identity.actor,
        institution_id=user.institution_id,
    )
    user.support_level = level

"""The verbs that change users, their roles and their API keys (P-3, P-4, P-5, ER-4).

Every verb takes the acting `identity`, re-checks the permission it needs, changes the user and
writes history (entity `user`, id the primary id, one row per changed field, identifier, block
or role) in the caller's transaction. Entry points (API, pages, demo, tests) own the commit.

Decisions where the specification is silent:
- Only a General System Administrator of the user's institution, or the operator, may grant or
  remove GENERAL_SYSTEM_ADMINISTRATOR or change such an assignment (`role:grant-admin`); a User
  Administrator may grant every other role.
- Raising a user to the STANDARD Support Center level needs the operator or the General System
  Administrator (SC-3, `support-level:set`); CONSORTIA is never set or removed here, only through
  the Support Center licence verbs (SC-11, SC-12). Only staff users have a level other than NONE.
- A role type disabled in the institution's `UserRoles` table cannot be newly granted; existing
  assignments of it are kept. A disabled user group or identifier type likewise cannot be newly used.
- The primary id of an existing user cannot be changed (history and references are keyed on it).
- Nobody deletes their own account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.platform import codetables
from consortia.platform import roles as R
from consortia.platform.auth import api_keys_of, create_api_key, hash_password, revoke_api_key
from consortia.platform.models import ApiKey, Institution, Library, User, UserBlock, UserIdentifier, UserRole
from consortia.platform.roles import RoleSpec, role_set_problems
from consortia.platform.tenancy import libraries_of
from consortia.platform.users import has_control_characters, user_not_found

RECORD_TYPES = ("STAFF", "PUBLIC")
STATUSES = ("ACTIVE", "INACTIVE")
SUPPORT_LEVELS: dict[str, str] = {
    "NONE": "None",
    "BASIC": "Basic",
    "STANDARD": "Standard",
    "CONSORTIA": "Consortia",
}
SETTABLE_SUPPORT_LEVELS = ("NONE", "BASIC", "STANDARD")
CONSORTIA_LEVEL = "CONSORTIA"

# The plain fields of a user that the verbs set, each recorded in history under its own name.
USER_FIELDS = (
    "record_type",
    "status",
    "user_group",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birth_date",
    "job_category",
    "preferred_language",
    "expiry_date",
    "purge_date",
)
ADDRESS_KEYS = ("line1", "line2", "line3", "line4", "line5", "city", "state_province", "postal_code", "country")


@dataclass(frozen=True)
class IdentifierSpec:
    id_type: str
    value: str
    status: str = "ACTIVE"


@dataclass(frozen=True)
class BlockSpec:
    block_type: str
    description: str
    note: str = ""
    network: bool = False
    status: str = "ACTIVE"


@dataclass
class UserChanges:
    """What a request asks to set. Fields absent from `fields` are left as they are; `None` for a
    list leaves that list as it is, a list (even empty) replaces it."""

    fields: dict[str, Any] = field(default_factory=dict)
    primary_id: str | None = None
    account_type: str | None = None
    identifiers: list[IdentifierSpec] | None = None
    blocks: list[BlockSpec] | None = None
    roles: list[RoleSpec] | None = None
    support_level: str | None = None
    password: str | None = None
    version: int | None = None


# --- texts of history -------------------------------------------------------------------------


def role_text(role_type: str, scope_code: str, status: str, expiry_date: dt.date | None) -> str:
    """How a role assignment reads in history: `ELECTRONIC_INVENTORY_OPERATOR @ EAST_LAW (ACTIVE)`."""
    until = f", until {expiry_date.isoformat()}" if expiry_date else ""
    return f"{role_type} @ {scope_code} ({status}{until})"


def identifier_text(id_type: str, value: str, status: str) -> str:
    return f"{id_type} {value} ({status})"


def block_text(block: BlockSpec) -> str:
    note = f" — {block.note}" if block.note else ""
    network = ", network" if block.network else ""
    return f"{block.block_type}: {block.description}{note} ({block.status}{network})"


def address_text(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    parts = [str(address.get(key) or "").strip() for key in ADDRESS_KEYS]
    return ", ".join(part for part in parts if part) or None


def _history_value(name: str, value: Any) -> Any:
    """A field's value as history shows it: an address as one line, an empty value as none."""
    if name == "address":
        return address_text(value)
    return None if value == "" else value


# --- checks -----------------------------------------------------------------------------------


def _column_length(name: str) -> int | None:
    return getattr(User.__table__.c[name].type, "length", None)


def _check_text(name: str, value: Any) -> None:
    """Refuse control characters (the databases disagree about them); `value` may be a str, list or dict."""
    texts = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and has_control_characters(text) for text in texts):
        raise BadRequest(f"{name} holds control characters.", "40166411")


def _check_fields(session: Session, institution_id: int, user: User | None, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in USER_FIELDS:
            raise BadRequest(f"Unknown user field {name}.", "40166411")
        _check_text(name, value)
        length = _column_length(name)
        if isinstance(value, str) and length is not None and len(value) > length:
            raise BadRequest(f"{name} is longer than {length} characters.", "40166411")
    if "record_type" in fields and fields["record_type"] not in RECORD_TYPES:
        raise BadRequest(f"record_type must be one of {', '.join(RECORD_TYPES)}.", "40166411")
    if "status" in fields and fields["status"] not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}.", "40166411")
    if "last_name" in fields and not fields["last_name"]:
        raise BadRequest("Mandatory field is missing: last_name", "401664")
    group = fields.get("user_group")
    if (
        group
        and (user is None or group != user.user_group)
        and group not in codetables.enabled_codes(session, institution_id, codetables.USER_GROUPS)
    ):
        raise BadRequest(f"Given user group is not legal. ({group})", "401852")
    email = fields.get("email")
    if email and ("@" not in email or any(ch.isspace() for ch in email)):
        raise BadRequest(f"The email address {email!r} is not valid.", "40166411")
    address = fields.get("address")
    if address is not None and not isinstance(address, dict):
        raise BadRequest("address must be an object.", "40166411")


def _check_identifiers(session: Session, institution_id: int, user: User | None, wanted: list[IdentifierSpec]) -> None:
    existing_types = {i.id_type for i in user.identifiers} if user is not None else set()
    enabled = codetables.enabled_codes(session, institution_id, codetables.USER_IDENTIFIER_TYPES)
    seen: set[tuple[str, str]] = set()
    for spec in wanted:
        _check_text("An identifier", spec.value)
        if spec.id_type not in enabled and spec.id_type not in existing_types:
            raise BadRequest(f"Identifier type {spec.id_type} is not supported.", "401863")
        if not spec.value.strip() or len(spec.value) > 200:
            raise BadRequest(f"The value of a {spec.id_type} identifier must have 1 to 200 characters.", "40166411")
        if spec.status not in STATUSES:
            raise BadRequest(f"Identifier status must be one of {', '.join(STATUSES)}.", "40166411")
        key = (spec.id_type, spec.value.strip().lower())
        if key in seen:
            raise BadRequest(f"Identifier {spec.id_type} {spec.value} is given twice.", "401851")
        seen.add(key)
        taken = session.scalar(
            select(UserIdentifier.id).where(
                UserIdentifier.institution_id == institution_id,
                UserIdentifier.id_type == key[0],
                UserIdentifier.value_key == key[1],
                UserIdentifier.user_id != (user.id if user is not None else -1),
            )
        )
        if taken is not None:
            raise BadRequest(f"User with identifier of type {spec.id_type} already exists.", "401851")


def _check_blocks(wanted: list[BlockSpec]) -> None:
    for spec in wanted:
        _check_text("A block", [spec.block_type, spec.description, spec.note])
        if spec.status not in STATUSES:
            raise BadRequest(f"Block status must be one of {', '.join(STATUSES)}.", "40166411")
        if not spec.block_type or len(spec.block_type) > 60 or len(spec.description) > 200:
            raise BadRequest("A block needs a type (up to 60 characters) and a description of up to 200.", "40166411")


# --- roles ------------------------------------------------------------------------------------


def _institution_of(session: Session, user: User) -> Institution:
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
    institution = _institution_of(session, user)
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
    if level == "STANDARD":
        authorize(identity, P.SUPPORT_LEVEL_SET, user, not_found=user_not_found(user.primary_id))
    return level


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


# --- lists of a user --------------------------------------------------------------------------


def _set_identifiers(session: Session, identity: Identity, user: User, wanted: list[IdentifierSpec]) -> bool:
    assert user.institution_id is not None
    current = {(i.id_type, i.value_key): i for i in user.identifiers}
    wanted_by_key = {(spec.id_type, spec.value.strip().lower()): spec for spec in wanted}
    changed = False

    def note(old: str | None, new: str | None) -> None:
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="identifier",
            old=old,
            new=new,
            actor=identity.actor,
            institution_id=user.institution_id,
        )

    for key, row in current.items():
        if key not in wanted_by_key:
            note(identifier_text(row.id_type, row.value, row.status), None)
            user.identifiers.remove(row)
            changed = True
    for key, spec in wanted_by_key.items():
        value = spec.value.strip()
        existing = current.get(key)
        if existing is None:
            user.identifiers.append(
                UserIdentifier(
                    institution_id=user.institution_id,
                    id_type=spec.id_type,
                    value=value,
                    value_key=key[1],
                    status=spec.status,
                )
            )
            note(None, identifier_text(spec.id_type, value, spec.status))
            changed = True
        elif (existing.value, existing.status) != (value, spec.status):
            note(
                identifier_text(existing.id_type, existing.value, existing.status),
                identifier_text(spec.id_type, value, spec.status),
            )
            existing.value, existing.status = value, spec.status
            changed = True
    return changed


def _block_spec(block: UserBlock) -> BlockSpec:
    return BlockSpec(block.block_type, block.description, block.note, block.network, block.status)


def _set_blocks(session: Session, identity: Identity, user: User, wanted: list[BlockSpec]) -> bool:
    remaining = list(user.blocks)
    keep: list[UserBlock] = []
    to_add: list[BlockSpec] = []
    for spec in wanted:
        match = next((b for b in remaining if _block_spec(b) == spec), None)
        if match is not None:
            remaining.remove(match)
            keep.append(match)
        else:
            to_add.append(spec)
    if not remaining and not to_add:
        return False
    for block in remaining:
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="block",
            old=block_text(_block_spec(block)),
            new=None,
            actor=identity.actor,
            institution_id=user.institution_id,
        )
        user.blocks.remove(block)
    for spec in to_add:
        user.blocks.append(
            UserBlock(
                block_type=spec.block_type,
                description=spec.description,
                note=spec.note,
                network=spec.network,
                status=spec.status,
                created_at=utcnow(),
            )
        )
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="block",
            old=None,
            new=block_text(spec),
            actor=identity.actor,
            institution_id=user.institution_id,
        )
    return True


def _set_fields(session: Session, identity: Identity, user: User, fields: dict[str, Any]) -> bool:
    changed = False
    for name in USER_FIELDS:
        if name not in fields:
            continue
        old, new = getattr(user, name), fields[name]
        if old == new or (old in (None, "") and new in (None, "")):
            continue
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field=name,
            old=_history_value(name, old),
            new=_history_value(name, new),
            actor=identity.actor,
            institution_id=user.institution_id,
        )
        setattr(user, name, new)
        changed = True
    return changed


def _set_password(session: Session, identity: Identity, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="password",
        old=None,
        new="changed",
        actor=identity.actor,
        institution_id=user.institution_id,
    )


# --- the verbs --------------------------------------------------------------------------------


def _primary_id_taken(session: Session, institution_id: int, key: str) -> bool:
    return (
        session.scalar(select(User.id).where(User.institution_id == institution_id, User.primary_id_key == key))
        is not None
    )


def create_user(session: Session, identity: Identity, institution: Institution, changes: UserChanges) -> User:
    """A new user of `institution` (`user:create`), with identifiers, blocks, roles (ER-4 checked),
    Support Center level and password as given; everything is checked before anything is written.
    Writes a `created` history row, then one per identifier, block, role and level."""
    authorize(
        identity, P.USER_CREATE, InInstitution(institution.id), not_found=NotFound("Institution not found.", "60224")
    )
    primary_id = (changes.primary_id or "").strip()
    if not primary_id:
        raise BadRequest("Mandatory field is missing: primary_id", "401664")
    if len(primary_id) > 100:
        raise BadRequest("primary_id is longer than 100 characters.", "40166411")
    _check_text("primary_id", primary_id)
    if changes.account_type not in (None, "", "INTERNAL"):
        raise BadRequest(
            "The given user account type is illegal: users are created INTERNAL; linked accounts are created by "
            "linking a patron of another institution (source_institution_code + source_user_id).",
            "401857",
        )
    fields = {"record_type": "PUBLIC", "status": "ACTIVE", **changes.fields}
    if not fields.get("last_name"):
        raise BadRequest("Mandatory field is missing: last_name", "401664")
    _check_fields(session, institution.id, None, fields)
    if _primary_id_taken(session, institution.id, primary_id.lower()):
        raise BadRequest(f"User with identifier {primary_id} of type primary_id already exists.", "401851")
    identifiers = changes.identifiers or []
    blocks = changes.blocks or []
    _check_identifiers(session, institution.id, None, identifiers)
    _check_blocks(blocks)
    user = User(
        institution_id=institution.id,
        primary_id=primary_id,
        primary_id_key=primary_id.lower(),
        account_type="INTERNAL",
        support_level="NONE",
        identifiers=[],
        blocks=[],
        roles=[],
    )
    for name, value in fields.items():
        setattr(user, name, value)
    level = check_support_level(identity, user, changes.support_level)
    plan = plan_user_roles(session, identity, user, changes.roles) if changes.roles else None
    if changes.password:
        user.password_hash = hash_password(changes.password)

    session.add(user)
    session.flush()
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="user",
        old=None,
        new=f"created ({user.record_type}, {user.status})",
        actor=identity.actor,
        institution_id=institution.id,
    )
    _set_identifiers(session, identity, user, identifiers)
    _set_blocks(session, identity, user, blocks)
    if level is not None:
        record_support_level(session, identity, user, level)
    if plan is not None:
        apply_role_plan(session, identity, user, plan)
    session.flush()
    return user


def check_version(user: User, expected: int | None) -> None:
    """R-4: a change made from a stale copy of the user is refused (409)."""
    if expected is not None and expected != user.version:
        raise Conflict(
            f"The user {user.primary_id} was changed by someone else since you read it "
            f"(version {expected}, now {user.version}); reload it and try again.",
            "CONFLICT",
        )


def update_user(session: Session, identity: Identity, user: User, changes: UserChanges) -> User:
    """Change a user (`user:edit`): the fields given, the lists given (each replaces the current
    one), roles when given (as `set_user_roles`), level and password. Everything is checked before
    anything is written; one history row per changed field or list entry. A stale
    `changes.version` is refused with 409 (R-4)."""
    authorize(identity, P.USER_EDIT, user, not_found=user_not_found(user.primary_id))
    check_version(user, changes.version)
    assert user.institution_id is not None
    if changes.primary_id is not None and changes.primary_id.strip().lower() != user.primary_id_key:
        raise BadRequest("The primary id of a user cannot be changed.", "401858")
    wanted_account = (changes.account_type or "").strip().upper()
    shown_account = "EXTERNAL" if user.account_type == "LINKED" else user.account_type
    if wanted_account and wanted_account not in {user.account_type, shown_account}:
        raise BadRequest("The account type of a user cannot be changed.", "401857")
    _check_fields(session, user.institution_id, user, changes.fields)
    if changes.identifiers is not None:
        _check_identifiers(session, user.institution_id, user, changes.identifiers)
    if changes.blocks is not None:
        _check_blocks(changes.blocks)
    level = check_support_level(
        identity, user, changes.support_level, record_type=changes.fields.get("record_type", user.record_type)
    )
    plan = plan_user_roles(session, identity, user, changes.roles) if changes.roles is not None else None
    password_hash = hash_password(changes.password) if changes.password else None

    changed = _set_fields(session, identity, user, changes.fields)
    if changes.identifiers is not None:
        changed = _set_identifiers(session, identity, user, changes.identifiers) or changed
    if changes.blocks is not None:
        changed = _set_blocks(session, identity, user, changes.blocks) or changed
    if level is not None:
        record_support_level(session, identity, user, level)
        changed = True
    if password_hash is not None:
        _set_password(session, identity, user, password_hash)
        changed = True
    if plan is not None:
        changed = apply_role_plan(session, identity, user, plan) or changed
    if changed:
        user.updated_at = utcnow()
    session.flush()
    return user


def delete_user(session: Session, identity: Identity, user: User) -> None:
    """Delete a user (`user:delete`) with their identifiers, blocks, roles, keys and sessions.

    History rows stay (they name the user by primary id); keys the user created for others stay.
    """
    authorize(identity, P.USER_DELETE, user, not_found=user_not_found(user.primary_id))
    if user.id == identity.user_id:
        raise BadRequest("You cannot delete your own account.", "401850")
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="user",
        old=f"{user.full_name or user.primary_id} ({user.record_type}, {user.status})",
        new="deleted",
        actor=identity.actor,
        institution_id=user.institution_id,
    )
    session.execute(update(ApiKey).where(ApiKey.created_by_id == user.id).values(created_by_id=None))
    session.delete(user)
    session.flush()


# --- labels for answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class UserLabels:
    """What an answer about a user needs beyond the user: names of codes, scope and source."""

    institution_code: str
    institution_name: str
    groups: dict[str, str]
    id_types: dict[str, str]
    role_types: dict[str, str]
    source_institution_code: str | None = None
    source_user_id: str | None = None


def user_labels(session: Session, user: User) -> UserLabels:
    institution = _institution_of(session, user)
    source_code = source_user = None
    if user.source_institution_id is not None:
        source = session.get(Institution, user.source_institution_id)
        source_code = source.code if source is not None else None
    if user.source_user_id is not None:
        source_user = session.scalar(select(User.primary_id).where(User.id == user.source_user_id))
    tables = codetables.all_descriptions(session, institution.id)
    return UserLabels(
        institution_code=institution.code,
        institution_name=institution.name,
        groups=tables.get(codetables.USER_GROUPS, {}),
        id_types=tables.get(codetables.USER_IDENTIFIER_TYPES, {}),
        role_types=tables[codetables.USER_ROLES],
        source_institution_code=source_code,
        source_user_id=source_user,
    )


# --- API keys ---------------------------------------------------------------------------------


def create_user_api_key(session: Session, identity: Identity, user: User, label: str = "") -> tuple[ApiKey, str]:
    """A new API key for `user` (themselves, an administrator of their institution, or the operator).

    The key itself is in the answer only; the caller shows it once.
    """
    authorize(identity, P.APIKEY_MANAGE, user, not_found=user_not_found(user.primary_id))
    _check_text("The label", label)
    return create_api_key(session, user, actor=identity.actor, label=label.strip())


def user_api_keys(session: Session, identity: Identity, user: User) -> list[ApiKey]:
    authorize(identity, P.APIKEY_MANAGE, user, not_found=user_not_found(user.primary_id))
    return api_keys_of(session, user)


def access_api_key(session: Session, identity: Identity, key_id: int) -> ApiKey:
    """An API key whose user the caller may manage keys of; any other key answers 404."""
    key = session.get(ApiKey, key_id) if 0 < key_id < 2**31 else None
    not_found = NotFound(f"API key {key_id} was not found.", "402119")
    authorize(identity, P.APIKEY_MANAGE, key.user if key is not None else None, not_found=not_found)
    assert key is not None
    return key


def revoke_user_api_key(session: Session, identity: Identity, key: ApiKey) -> None:
    """Revoke a key at once: its next use answers 401."""
    authorize(identity, P.APIKEY_MANAGE, key.user, not_found=NotFound(f"API key {key.id} was not found.", "402119"))
    revoke_api_key(session, key, actor=identity.actor)
    session.flush()

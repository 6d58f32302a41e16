"""The verbs that create, change and delete users (P-3).

What a request may set, and the checks on it, are in `user_changes`; roles and the Support Center
level in `user_roles`; API keys in `user_keys`. Every verb takes the acting `identity`, re-checks
the permission it needs, changes the user and writes history (entity `user`, id the primary id, one
row per changed field, identifier, block or role) in the caller's transaction. Entry points (API,
pages, demo, tests) own the commit. The history kind and access-check object type `user` are at the end
of this module (handed over in `platform.domain`).

Other domains keep things about users (the Support Center: cases opened, Consortia licences) and the
platform imports none of them: they hand over a `DepartureHook` (`Domain.departure_hooks`) that runs when
a user stops being staff or is deleted, to refuse it or to close their part with their own history.

Decisions where the specification is silent:
- The primary id of an existing user cannot be changed (history and references are keyed on it).
- Nobody deletes their own account.
- Another user's password is set only by those who cover that user (`user:credentials`, as for API keys).
- A new password ends the user's browser sessions; the user's own current one stays when they set it
  themselves. API keys stay: they are credentials of their own, revoked one by one.
- Inactivating or deleting a user ends their browser sessions (reactivating brings none back), whoever does
  it and however (API, pages, Support Center contacts, the Deactivate Expired Users job). Their API keys
  are blocked, not revoked: refused while the account is inactive, usable again when it is reactivated
  (as the Support Center's contact reactivation promises); a deleted user's keys are deleted with them.
  A job the user submitted stops at its next chunk (the runner checks its submitter).
- On "My account" a new password needs the current one, whose wrong guesses count with the account's
  failed sign-ins.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.platform.auth import check_own_password, end_sessions_of, hash_password
from consortia.platform.models import ApiKey, Institution, User, UserBlock, UserIdentifier
from consortia.platform.user_changes import (
    ADDRESS_KEYS,
    USER_FIELDS,
    BlockSpec,
    IdentifierSpec,
    UserChanges,
    check_blocks,
    check_fields,
    check_identifiers,
    check_text,
)
from consortia.platform.user_roles import (
    apply_role_plan,
    check_contact_removal,
    check_support_level,
    plan_user_roles,
    record_support_level,
)
from consortia.platform.users import access_user, user_not_found

# --- texts of history -------------------------------------------------------------------------


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


def set_password_hash(
    session: Session, identity: Identity, user: User, password_hash: str, *, current_session_id: int | None = None
) -> None:
    """Give `user` a new password (callers have checked who may) with its history row. Every browser session
    of the user ends at its next request, except `current_session_id` when the user sets their own
    password from it: whoever signed in with the old password is out."""
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
    end_sessions_of(session, user.id, keep=current_session_id if user.id == identity.user_id else None)


def set_user_status(session: Session, identity: Identity, user: User, status: str) -> None:
    """Set a user's status (ACTIVE or INACTIVE) with its history row; inactivating ends the user's browser
    sessions (their API keys are refused while the account is inactive). For verbs that change the status
    alone, having checked who may (the Support Center's contacts: `contact:status`); `update_user` sets it
    among the other fields."""
    if status == user.status:
        return
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="status",
        old=user.status,
        new=status,
        actor=identity.actor,
        institution_id=user.institution_id,
    )
    user.status = status
    if status == "INACTIVE":
        end_sessions_of(session, user.id)


# --- other domains' part when a user leaves ---------------------------------------------------


class DepartureHook(Protocol):
    """Called when `user` stops being staff (`deleting` False) or is about to be deleted, after the
    platform's own checks and before its writes: raise to refuse (the entry point rolls everything
    back), or settle what the domain keeps about the user, writing its own history."""

    def __call__(self, session: Session, identity: Identity, user: User, *, deleting: bool) -> None: ...


_DEPARTURE_HOOKS: list[DepartureHook] = []


def register_departure_hook(hook: DepartureHook) -> None:
    if hook not in _DEPARTURE_HOOKS:
        _DEPARTURE_HOOKS.append(hook)


def _depart(session: Session, identity: Identity, user: User, *, deleting: bool) -> None:
    for hook in _DEPARTURE_HOOKS:
        hook(session, identity, user, deleting=deleting)


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
    check_text("primary_id", primary_id)
    if changes.account_type not in (None, "", "INTERNAL"):
        raise BadRequest(
            "The given user account type is illegal: users are created INTERNAL; linked accounts are created by "
            "linking a patron of another institution (source_institution_code + source_user_id).",
            "401857",
        )
    fields = {"record_type": "PUBLIC", "status": "ACTIVE", **changes.fields}
    if not fields.get("last_name"):
        raise BadRequest("Mandatory field is missing: last_name", "401664")
    check_fields(session, institution.id, None, fields)
    if _primary_id_taken(session, institution.id, primary_id.lower()):
        raise BadRequest(f"User with identifier {primary_id} of type primary_id already exists.", "401851")
    identifiers = changes.identifiers or []
    blocks = changes.blocks or []
    check_identifiers(session, institution.id, None, identifiers)
    check_blocks(blocks)
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


def update_user(
    session: Session, identity: Identity, user: User, changes: UserChanges, *, current_session_id: int | None = None
) -> User:
    """Change a user (`user:edit`): the fields given, the lists given (each replaces the current
    one), roles when given (as `set_user_roles`), level and password (`user:credentials`). A Consortia
    user's status and record type are the operator's (`contact:status`, SC-12). Everything is checked
    before anything is written; one history row per changed field or list entry. A stale
    `changes.version` is refused with 409 (R-4). A user leaving STAFF is announced to the departure hooks.

    A General System Administrator's account is changed only by a General System Administrator or the
    operator (`user:edit`, P-4); a request that would grant the role is refused unless the caller may grant
    it (`role:grant-admin`), so the account counts as one before and after the change. A new password ends
    the user's other browser sessions (`current_session_id`: the one the request comes from); inactivating
    the user ends all of them (their API keys are refused while the account is inactive)."""
    authorize(identity, P.USER_EDIT, user, not_found=user_not_found(user.primary_id))
    check_version(user, changes.version)
    assert user.institution_id is not None
    if changes.primary_id is not None and changes.primary_id.strip().lower() != user.primary_id_key:
        raise BadRequest("The primary id of a user cannot be changed.", "401858")
    wanted_account = (changes.account_type or "").strip().upper()
    shown_account = "EXTERNAL" if user.account_type == "LINKED" else user.account_type
    if wanted_account and wanted_account not in {user.account_type, shown_account}:
        raise BadRequest("The account type of a user cannot be changed.", "401857")
    check_fields(session, user.institution_id, user, changes.fields)
    if changes.identifiers is not None:
        check_identifiers(session, user.institution_id, user, changes.identifiers)
    if changes.blocks is not None:
        check_blocks(changes.blocks)
    record_type = changes.fields.get("record_type", user.record_type)
    check_contact_removal(identity, user, status=changes.fields.get("status"), record_type=record_type)
    level = check_support_level(identity, user, changes.support_level, record_type=record_type)
    plan = plan_user_roles(session, identity, user, changes.roles) if changes.roles is not None else None
    password_hash = None
    if changes.password:
        authorize(identity, P.USER_CREDENTIALS, user, not_found=user_not_found(user.primary_id))
        password_hash = hash_password(changes.password)
    if user.record_type == "STAFF" and record_type != "STAFF":
        _depart(session, identity, user, deleting=False)

    inactivating = user.status == "ACTIVE" and changes.fields.get("status", user.status) == "INACTIVE"
    changed = _set_fields(session, identity, user, changes.fields)
    if changes.identifiers is not None:
        changed = _set_identifiers(session, identity, user, changes.identifiers) or changed
    if changes.blocks is not None:
        changed = _set_blocks(session, identity, user, changes.blocks) or changed
    if level is not None:
        record_support_level(session, identity, user, level)
        changed = True
    if password_hash is not None:
        set_password_hash(session, identity, user, password_hash, current_session_id=current_session_id)
        changed = True
    if plan is not None:
        changed = apply_role_plan(session, identity, user, plan) or changed
    if inactivating:
        end_sessions_of(session, user.id)
    if changed:
        user.updated_at = utcnow()
    session.flush()
    return user


def change_own_password(
    session: Session,
    identity: Identity,
    user: User,
    current_password: str,
    new_password: str,
    *,
    current_session_id: int | None = None,
) -> None:
    """The signed-in user sets a new password ("My account"): the current one must be given (its wrong
    guesses are throttled like sign-ins); the user's other browser sessions end, `current_session_id` stays."""
    if user.id != identity.user_id:
        raise user_not_found(user.primary_id)
    authorize(identity, P.USER_CREDENTIALS, user, not_found=user_not_found(user.primary_id))
    password_hash = hash_password(new_password)
    check_own_password(session, user, current_password)
    set_password_hash(session, identity, user, password_hash, current_session_id=current_session_id)
    user.updated_at = utcnow()
    session.flush()


def delete_user(session: Session, identity: Identity, user: User) -> None:
    """Delete a user (`user:delete`) with their identifiers, blocks, roles, keys and sessions; a Consortia
    user only by the operator (`contact:status`, SC-12), a General System Administrator's account only by a
    General System Administrator or the operator (P-4). Their sessions end at once; a job they submitted
    stops at its next chunk. The departure hooks run first (they refuse
    deleting someone who opened support cases, and end a Consortia licence with its history).

    History rows stay (they name the user by primary id); keys the user created for others stay.
    """
    authorize(identity, P.USER_DELETE, user, not_found=user_not_found(user.primary_id))
    if user.id == identity.user_id:
        raise BadRequest("You cannot delete your own account.", "401850")
    check_contact_removal(identity, user, deleting=True)
    _depart(session, identity, user, deleting=True)
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
    end_sessions_of(session, user.id)
    session.execute(update(ApiKey).where(ApiKey.created_by_id == user.id).values(created_by_id=None))
    session.delete(user)
    session.flush()


# --- history kind and access-check object -----------------------------------------------------


def access_user_named(session: Session, identity: Identity, primary_id: str) -> User:
    """The user with this primary id in the institution the caller works in, checked for `user:read`."""
    return access_user(session, identity, primary_id, P.USER_READ, id_type="primary_id")


def user_history(session: Session, identity: Identity, primary_id: str) -> HistoryScope:
    user = access_user_named(session, identity, primary_id)
    return HistoryScope(user.primary_id, user.institution_id)

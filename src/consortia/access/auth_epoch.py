"""The auth epoch: a value per user that changes whenever what the user's API keys may do changes.

The identity cache (`identity.identity_from_api_key`) keeps, in each server process, the identity a key
resolved to together with its owner's `User.auth_epoch`; every request reads that one value (a
primary-key look-up) and uses the cached identity only while it is unchanged. The value is changed here,
by session events, so that no code path has to remember it — whoever changes these rows through a
session changes the epoch with them, in the same transaction:

- ORM flushes: a user whose status, expiry date, password, support level, institution, operator flag,
  primary id or name changed; a user role inserted, changed or deleted; an API key changed (its
  `last_used_at` alone excepted) or deleted; an institution moved to another consortium (all its users).
- Bulk `update()` / `delete()` statements run through a session on those tables: the users whose rows
  the statement's WHERE clause selects, before the statement runs (a delete leaves nothing to select
  afterwards).

A new user or a new API key needs nothing: nothing is cached for them yet. Raw SQL text and statements
run on a bare engine connection are not seen; the application writes these tables through sessions.

The epoch is a random number, not a counter: a rolled-back change or a restored backup cannot bring
back a value that a cache entry was made from, in this process or another one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, object_session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Delete, Update

from consortia.platform.models import ApiKey, Institution, User, UserRole, new_auth_epoch

# What an identity is made of (access.identity); a change to any of these changes the user's epoch.
USER_FIELDS = frozenset(
    {
        "status",
        "expiry_date",
        "password_hash",
        "support_level",
        "institution_id",
        "is_operator",
        "primary_id",
        "first_name",
        "middle_name",
        "last_name",
    }
)
# Written on use (at most once a minute per key): not a change to what the key may do.
KEY_USE_FIELDS = frozenset({"last_used_at"})

_USERS: Table = User.__table__  # type: ignore[assignment]
_SKIP = "consortia_auth_epoch_done"
_USERS_KEY = "auth_epoch_users"
_INSTITUTIONS_KEY = "auth_epoch_institutions"


def bump(session: Session, users: ColumnElement[bool]) -> None:
    """Give every user matching `users` a new epoch, in the session's transaction."""
    session.connection().execute(
        # updated_at kept as it is: the epoch is bookkeeping, not a change of the user record.
        update(_USERS).where(users).values(auth_epoch=new_auth_epoch(), updated_at=_USERS.c.updated_at),
        execution_options={_SKIP: True},
    )


def _changed(obj: object, fields: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _columns_changed_besides(obj: object, exempt: frozenset[str]) -> bool:
    state = inspect(obj)
    columns = state.mapper.column_attrs
    return any(state.attrs[attr.key].history.has_changes() for attr in columns if attr.key not in exempt)


def _owners(obj: object, field: str) -> set[int]:
    """The value of `field` before and after this flush (a role moved to another user changes both)."""
    history = inspect(obj).attrs[field].history
    return {value for value in (*history.deleted, *history.unchanged, *history.added) if value is not None}


def _pending(target: object) -> tuple[set[int], set[int]]:
    """The users and institutions whose epoch this flush changes, kept on the target's session."""
    session = object_session(target)
    assert session is not None
    users: set[int] = session.info.setdefault(_USERS_KEY, set())
    institutions: set[int] = session.info.setdefault(_INSTITUTIONS_KEY, set())
    return users, institutions


# Mapper events see every row a flush writes, those deleted by a cascade or as orphans included; the
# epochs are then changed once per flush, after it.


def _user_updated(_mapper: Any, _connection: Any, user: User) -> None:
    if _changed(user, USER_FIELDS):
        _pending(user)[0].add(user.id)


def _role_inserted(_mapper: Any, _connection: Any, role: UserRole) -> None:
    _pending(role)[0].add(role.user_id)


def _role_updated(_mapper: Any, _connection: Any, role: UserRole) -> None:
    if _columns_changed_besides(role, frozenset()):
        _pending(role)[0].update(_owners(role, "user_id"))


def _role_deleted(_mapper: Any, _connection: Any, role: UserRole) -> None:
    _pending(role)[0].add(role.user_id)


def _key_updated(_mapper: Any, _connection: Any, key: ApiKey) -> None:
    if _columns_changed_besides(key, KEY_USE_FIELDS):
        _pending(key)[0].update(_owners(key, "user_id"))


def _key_deleted(_mapper: Any, _connection: Any, key: ApiKey) -> None:
    _pending(key)[0].add(key.user_id)


def _institution_updated(_mapper: Any, _connection: Any, institution: Institution) -> None:
    if _changed(institution, ("consortium_id",)):
        _pending(institution)[1].add(institution.id)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    users = session.info.pop(_USERS_KEY, None)
    institutions = session.info.pop(_INSTITUTIONS_KEY, None)
    if users:
        bump(session, _USERS.c.id.in_(sorted(users)))
    if institutions:
        bump(session, _USERS.c.institution_id.in_(sorted(institutions)))


def _named(columns: Iterable[Any]) -> set[str] | None:
    names = set()
    for column in columns:
        name = column if isinstance(column, str) else getattr(column, "key", None)
        if not isinstance(name, str):
            return None
        names.add(name)
    return names


def _updated_fields(statement: Update, parameters: Any) -> set[str] | None:
    """The columns an UPDATE sets, or None when they cannot be told (then it counts as relevant)."""
    if isinstance(parameters, Sequence) and parameters and isinstance(parameters[0], dict):
        return _named(parameters[0].keys())  # bulk UPDATE by primary key: the values are the parameters
    values = getattr(statement, "_values", None) or dict(getattr(statement, "_ordered_values", None) or ())
    if not values:
        return None
    return _named(values.keys())


def _by_primary_key(parameters: Any) -> list[Any] | None:
    if isinstance(parameters, Sequence) and parameters and isinstance(parameters[0], dict):
        return [row.get("id") for row in parameters]
    return None


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(_SKIP):
        return
    statement = state.statement
    if not isinstance(statement, Update | Delete):
        return
    name = getattr(statement.table, "name", None)
    if name not in {"user_account", "user_role", "api_key", "institution"}:
        return
    fields = _updated_fields(statement, state.parameters) if isinstance(statement, Update) else None
    if name == "user_account":
        if isinstance(statement, Delete) or (fields is not None and not fields & USER_FIELDS):
            return  # a deleted user's keys find no user; other fields are not part of an identity
        entity: Any = User
        owner: Any = User.id
    elif name == "api_key":
        if fields is not None and fields <= KEY_USE_FIELDS:
            return
        entity, owner = ApiKey, ApiKey.user_id
    elif name == "user_role":
        entity, owner = UserRole, UserRole.user_id
    else:
        if isinstance(statement, Delete) or (fields is not None and "consortium_id" not in fields):
            return
        entity, owner = Institution, Institution.id
    ids = _by_primary_key(state.parameters)
    rows = select(owner)
    if ids is not None:
        rows = rows.where(entity.id.in_(ids))
    elif statement.whereclause is not None:
        rows = rows.where(statement.whereclause)
    rows = rows.correlate(None)
    if entity is Institution:
        bump(state.session, _USERS.c.institution_id.in_(rows))
    else:
        bump(state.session, _USERS.c.id.in_(rows))


_LISTENERS: tuple[tuple[Any, str, Any], ...] = (
    (User, "after_update", _user_updated),
    (UserRole, "after_insert", _role_inserted),
    (UserRole, "after_update", _role_updated),
    (UserRole, "before_delete", _role_deleted),
    (ApiKey, "after_update", _key_updated),
    (ApiKey, "before_delete", _key_deleted),
    (Institution, "after_update", _institution_updated),
    (Session, "after_flush", _after_flush),
    (Session, "do_orm_execute", _do_orm_execute),
)


def install() -> None:
    """Listen on every session and on the mappers of the tables an identity is made of (idempotent)."""
    for target, name, listener in _LISTENERS:
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


install()

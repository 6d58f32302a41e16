"""Reading one user for an answer with pre-built Core statements: the hot path of `GET /users/{id}` (N-6).

Two round trips: the user row (by primary id, identifier or linking id, as `users.find_user` finds it,
with the source of a linked account), then one UNION ALL of the user's roles with their libraries,
identifiers and blocks and the institution's code-table descriptions. `access_user_record` is
`users.access_user` for a read: same look-up, same rules, same 404s.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, DateTime, String, Table, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from consortia.access import roles as R
from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize
from consortia.platform import codetables
from consortia.platform.models import (
    RECORD_FIELDS,
    BlockRecord,
    CodeTableRow,
    IdentifierRecord,
    Institution,
    Library,
    RoleRecord,
    User,
    UserBlock,
    UserIdentifier,
    UserRecord,
    UserRole,
)
from consortia.platform.user_labels import UserLabels
from consortia.platform.users import user_not_found
from consortia.text import has_control_characters


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


_USERS = _table(User)
_INSTITUTIONS = _table(Institution)
_SOURCE_USERS = _USERS.alias("source_user")
_SOURCE_INSTITUTIONS = _INSTITUTIONS.alias("source_institution")
_IDENTIFIERS = _table(UserIdentifier)
_RS_LIBRARIES = _table(Library).alias("rs_library")

_USER_ROW = (
    select(
        *(_USERS.c[name] for name in RECORD_FIELDS),
        _INSTITUTIONS.c.code.label("institution_code"),
        _INSTITUTIONS.c.name.label("institution_name"),
        _SOURCE_INSTITUTIONS.c.code.label("source_institution_code"),
        _SOURCE_USERS.c.primary_id.label("source_primary_id"),
        _RS_LIBRARIES.c.code.label("rs_library_code"),
        _RS_LIBRARIES.c.name.label("rs_library_name"),
    )
    .join(_INSTITUTIONS, _INSTITUTIONS.c.id == _USERS.c.institution_id)
    .outerjoin(_SOURCE_INSTITUTIONS, _SOURCE_INSTITUTIONS.c.id == _USERS.c.source_institution_id)
    .outerjoin(_SOURCE_USERS, _SOURCE_USERS.c.id == _USERS.c.source_user_id)
    .outerjoin(_RS_LIBRARIES, _RS_LIBRARIES.c.id == _USERS.c.rs_library_id)
    .where(_USERS.c.institution_id == bindparam("institution_id"))
    .limit(1)
)
_BY_PRIMARY_ID = _USER_ROW.where(_USERS.c.primary_id_key == bindparam("key"))
_BY_LINKING_ID = _USER_ROW.where(_USERS.c.linking_id == bindparam("key"))
_BY_IDENTIFIER = _USER_ROW.where(
    _USERS.c.id.in_(select(_IDENTIFIERS.c.user_id).where(_IDENTIFIERS.c.value_key == bindparam("key")))
)
_BY_IDENTIFIER_OF_TYPE = _USER_ROW.where(
    _USERS.c.id.in_(
        select(_IDENTIFIERS.c.user_id).where(
            _IDENTIFIERS.c.value_key == bindparam("key"), _IDENTIFIERS.c.id_type == bindparam("id_type")
        )
    )
)


def _branch(kind: str, *columns: Any) -> list[Any]:
    # kind, id, four texts, a date, a flag, a time: the shape every branch of the union shares.
    return [literal_column(f"'{kind}'").label("kind"), *columns]


_NO_TEXT = cast(null(), String)
_ROLES = _table(UserRole)
_LIBRARIES = _table(Library)
_BLOCKS = _table(UserBlock)
_CODES = _table(CodeTableRow)
_DETAILS: Select[Any] = union_all(
    select(
        *_branch(
            "r",
            _ROLES.c.id,
            _ROLES.c.role_type.label("a"),
            _ROLES.c.status.label("b"),
            _LIBRARIES.c.code.label("c"),
            _LIBRARIES.c.name.label("d"),
            _ROLES.c.expiry_date.label("day"),
            cast(null(), Boolean).label("flag"),
            cast(null(), DateTime).label("at"),
        )
    )
    .outerjoin(_LIBRARIES, _LIBRARIES.c.id == _ROLES.c.library_id)
    .where(_ROLES.c.user_id == bindparam("user_id")),
    select(
        *_branch(
            "i",
            _IDENTIFIERS.c.id,
            _IDENTIFIERS.c.id_type,
            _IDENTIFIERS.c.value,
            _IDENTIFIERS.c.status,
            _NO_TEXT,
            cast(null(), Date),
            cast(null(), Boolean),
            cast(null(), DateTime),
        )
    ).where(_IDENTIFIERS.c.user_id == bindparam("user_id")),
    select(
        *_branch(
            "b",
            _BLOCKS.c.id,
            _BLOCKS.c.block_type,
            _BLOCKS.c.description,
            _BLOCKS.c.status,
            cast(_BLOCKS.c.note, String),
            cast(null(), Date),
            _BLOCKS.c.network,
            _BLOCKS.c.created_at,
        )
    ).where(_BLOCKS.c.user_id == bindparam("user_id")),
    select(
        *_branch(
            "c",
            _CODES.c.id,
            _CODES.c.table_name,
            _CODES.c.code,
            _CODES.c.description,
            _NO_TEXT,
            cast(null(), Date),
            cast(null(), Boolean),
            cast(null(), DateTime),
        )
    ).where(_CODES.c.institution_id == bindparam("institution_id")),
)  # type: ignore[assignment]


def _user_row(session: Session, institution_id: int, user_id: str, id_type: str) -> Any:
    if has_control_characters(user_id) or has_control_characters(id_type):
        return None
    key = user_id.strip().lower()
    params: dict[str, Any] = {"institution_id": institution_id, "key": key}
    if id_type in {"all_unique", "primary_id"}:
        row = session.execute(_BY_PRIMARY_ID, params).first()
        if row is not None or id_type == "primary_id":
            return row
        return session.execute(_BY_IDENTIFIER, params).first()
    if id_type == "linking_id":
        return session.execute(_BY_LINKING_ID, {**params, "key": user_id.strip()}).first()
    return session.execute(_BY_IDENTIFIER_OF_TYPE, {**params, "id_type": id_type}).first()


def find_user_record(
    session: Session, institution_id: int, user_id: str, id_type: str = "all_unique"
) -> tuple[UserRecord, UserLabels] | None:
    """The user `users.find_user` finds in the institution, as a record, with the labels of its answer."""
    row = _user_row(session, institution_id, user_id, id_type)
    if row is None:
        return None
    roles: list[RoleRecord] = []
    identifiers: list[IdentifierRecord] = []
    blocks: list[BlockRecord] = []
    tables: dict[str, dict[str, str]] = {codetables.USER_ROLES: dict(R.ROLE_TYPES)}
    role_labels = tables[codetables.USER_ROLES]
    for kind, id_, a, b, c, d, day, flag, at in session.execute(
        _DETAILS, {"user_id": row.id, "institution_id": institution_id}
    ):
        if kind == "c":
            if a == codetables.USER_ROLES:
                role_labels[b] = c or R.ROLE_TYPES.get(b, b)
            else:
                tables.setdefault(a, {})[b] = c
        elif kind == "r":
            roles.append(RoleRecord(id_, a, b, day, c, d))
        elif kind == "i":
            identifiers.append(IdentifierRecord(id_, a, b, c))
        else:
            blocks.append(BlockRecord(id_, a, b, d or "", bool(flag), c, at))
    record = UserRecord(
        **dict(zip(RECORD_FIELDS, row, strict=False)),
        roles=tuple(sorted(roles, key=lambda r: r.id)),
        identifiers=tuple(sorted(identifiers, key=lambda i: i.id)),
        blocks=tuple(sorted(blocks, key=lambda b: b.id)),
    )
    labels = UserLabels(
        institution_code=row.institution_code,
        institution_name=row.institution_name,
        groups=tables.get(codetables.USER_GROUPS, {}),
        id_types=tables.get(codetables.USER_IDENTIFIER_TYPES, {}),
        role_types=role_labels,
        source_institution_code=row.source_institution_code,
        source_user_id=row.source_primary_id,
        rs_library_code=row.rs_library_code,
        rs_library_name=row.rs_library_name,
    )
    return record, labels


def access_user_record(
    session: Session, identity: Identity, user_id: str, permission: P, *, id_type: str = "all_unique"
) -> tuple[UserRecord, UserLabels]:
    """`users.access_user` for an answer that only reads: the record and its labels, or the same 404.

    The institution the caller works in is the identity's; its code and name come with the user row.
    """
    institution_id = identity.acting_institution_id
    if institution_id is None:
        acting_institution(session, identity)  # raises what a request that names no institution gets
        raise AssertionError("unreachable")
    found = find_user_record(session, institution_id, user_id, id_type)
    authorize(identity, permission, found[0] if found else None, not_found=user_not_found(user_id, id_type))
    assert found is not None
    return found

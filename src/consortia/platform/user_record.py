"""A user as answers show it: a plain, read-only snapshot of the row and its roles, identifiers and blocks.

`GET /almaws/v1/users/{id}` runs on every call of an Alma client, so it reads the record with a few
Core statements (platform.user_reads) instead of loading ORM entities; answers after a change build the
same snapshot from the loaded entity (`record_of`), so that one JSON builder serves both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from consortia.platform.models import User


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: int
    role_type: str
    status: str
    expiry_date: dt.date | None
    library_code: str | None  # None: the role is held at institution level
    library_name: str | None


@dataclass(frozen=True, slots=True)
class IdentifierRecord:
    id: int
    id_type: str
    value: str
    status: str


@dataclass(frozen=True, slots=True)
class BlockRecord:
    id: int
    block_type: str
    description: str
    note: str
    network: bool
    status: str
    created_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """The fields of `User` that answers and the user-read rules need, with the children in id order."""

    id: int
    institution_id: int | None
    is_operator: bool
    primary_id: str
    record_type: str
    account_type: str
    status: str
    user_group: str
    first_name: str
    middle_name: str
    last_name: str
    email: str
    phone: str
    address: dict[str, Any] | None
    birth_date: dt.date | None
    job_category: str
    preferred_language: str
    expiry_date: dt.date | None
    purge_date: dt.date | None
    support_level: str
    source_institution_id: int | None
    source_user_id: int | None
    linking_id: str | None
    linked_rule: str | None
    version: int
    roles: tuple[RoleRecord, ...] = ()
    identifiers: tuple[IdentifierRecord, ...] = ()
    blocks: tuple[BlockRecord, ...] = ()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


# The columns of `User` a record holds, in the order of UserRecord's fields.
RECORD_FIELDS = tuple(
    name for name in UserRecord.__dataclass_fields__ if name not in {"roles", "identifiers", "blocks"}
)


def record_of(user: User) -> UserRecord:
    """The record of a loaded user (roles with their libraries, identifiers and blocks loaded or loadable)."""
    return UserRecord(
        **{name: getattr(user, name) for name in RECORD_FIELDS},
        roles=tuple(
            RoleRecord(
                role.id,
                role.role_type,
                role.status,
                role.expiry_date,
                role.library.code if role.library is not None else None,
                role.library.name if role.library is not None else None,
            )
            for role in user.roles
        ),
        identifiers=tuple(IdentifierRecord(i.id, i.id_type, i.value, i.status) for i in user.identifiers),
        blocks=tuple(
            BlockRecord(b.id, b.block_type, b.description, b.note, b.network, b.status, b.created_at)
            for b in user.blocks
        ),
    )

"""What a request asks to set on a user (`UserChanges`) and the checks every verb makes on it (P-3).

Decisions where the specification is silent:
- A disabled user group or identifier type cannot be newly used; existing uses of it are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.roles import RoleSpec
from consortia.errors import BadRequest
from consortia.platform import codetables
from consortia.platform.models import User, UserIdentifier
from consortia.text import has_control_characters

RECORD_TYPES = ("STAFF", "PUBLIC")
STATUSES = ("ACTIVE", "INACTIVE")

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


# --- checks -----------------------------------------------------------------------------------


def _column_length(name: str) -> int | None:
    return getattr(User.__table__.c[name].type, "length", None)


def check_text(name: str, value: Any) -> None:
    """Refuse control characters (the databases disagree about them); `value` may be a str, list or dict."""
    texts = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and has_control_characters(text) for text in texts):
        raise BadRequest(f"{name} holds control characters.", "40166411")


def check_fields(session: Session, institution_id: int, user: User | None, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in USER_FIELDS:
            raise BadRequest(f"Unknown user field {name}.", "40166411")
        check_text(name, value)
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


def check_identifiers(session: Session, institution_id: int, user: User | None, wanted: list[IdentifierSpec]) -> None:
    existing_types = {i.id_type for i in user.identifiers} if user is not None else set()
    enabled = codetables.enabled_codes(session, institution_id, codetables.USER_IDENTIFIER_TYPES)
    seen: set[tuple[str, str]] = set()
    for spec in wanted:
        check_text("An identifier", spec.value)
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


def check_blocks(wanted: list[BlockSpec]) -> None:
    for spec in wanted:
        check_text("A block", [spec.block_type, spec.description, spec.note])
        if spec.status not in STATUSES:
            raise BadRequest(f"Block status must be one of {', '.join(STATUSES)}.", "40166411")
        if not spec.block_type or len(spec.block_type) > 60 or len(spec.description) > 200:
            raise BadRequest("A block needs a type (up to 60 characters) and a description of up to 200.", "40166411")

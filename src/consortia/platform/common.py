"""What the platform's tenancy verbs share: input rules, the check before a create, paging and history.

Consortia, institutions, libraries and fulfillment networks are named by stable upper-case codes.
Every verb takes the acting identity, fetches and authorizes through the permission map, changes
rows and records history (P-6) in the caller's transaction; the entry point commits. A code that is
unknown and a code outside the caller's tenancy answer alike (404); a visible thing the caller may
not change answers 403 with the reason (P-8).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import decide
from consortia.audit.service import record
from consortia.db import Base
from consortia.errors import BadRequest, Forbidden
from consortia.text import has_control_characters

CODE_RULE = re.compile(r"[A-Z0-9_]{2,40}")
CODE_HINT = "use 2 to 40 characters: letters A-Z, digits 0-9 or underscores"
MAX_NAME = 200
INVALID = "40166411"  # Alma: "Param value is invalid."

ModelT = TypeVar("ModelT", bound=Base)


class Unchanged(Enum):
    """Marks an argument of an update verb that was not given (distinct from None, "no value")."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


# --- input rules --------------------------------------------------------------------------------


def valid_code(value: str, what: str) -> str:
    """The code upper-cased, or 400 when it is not 2-40 of A-Z, 0-9 and underscore."""
    code = value.strip().upper()
    if not CODE_RULE.fullmatch(code):
        raise BadRequest(f"The {what} code {value.strip()!r} is not valid: {CODE_HINT}.", INVALID)
    return code


def valid_name(value: str, what: str) -> str:
    name = value.strip()
    if not name:
        raise BadRequest(f"The {what} needs a name.", INVALID)
    if len(name) > MAX_NAME:
        raise BadRequest(f"The {what} name is longer than {MAX_NAME} characters.", INVALID)
    if has_control_characters(name):
        raise BadRequest(f"The {what} name holds control characters.", INVALID)
    return name


def valid_text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if len(text) > limit:
        raise BadRequest(f"{field} is longer than {limit} characters.", INVALID)
    if has_control_characters(text):
        raise BadRequest(f"{field} holds control characters.", INVALID)
    return text


def check_stable_code(given: str | None, current: str, what: str) -> None:
    """Codes never change: a body may repeat the code, not alter it."""
    if given is not None and given.strip().upper() != current:
        raise BadRequest(f"Codes are stable: the code of {what} {current} cannot be changed.", INVALID)


# --- creates, pages and history -----------------------------------------------------------------


def require_permission(identity: Identity, permission: P) -> None:
    """403 with the policy's reason unless `permission` is granted (for creates, where no object exists yet)."""
    decision = decide(identity, permission, None)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def page_of(
    session: Session,
    model: type[ModelT],
    condition: ColumnElement[bool],
    order: Any,
    limit: int | None,
    offset: int,
) -> tuple[list[ModelT], int]:
    total = session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    query = select(model).where(condition).order_by(order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), int(total)


def set_field(
    session: Session,
    identity: Identity,
    obj: Any,
    field: str,
    new: Any,
    *,
    entity: str,
    entity_id: str,
    institution_id: int | None,
) -> None:
    old = getattr(obj, field)
    if old == new:
        return
    setattr(obj, field, new)
    record(
        session,
        entity=entity,
        entity_id=entity_id,
        field=field,
        old=old,
        new=new,
        actor=identity.actor,
        institution_id=institution_id,
    )


def record_created(
    session: Session, identity: Identity, entity: str, entity_id: str, institution_id: int | None, **fields: Any
) -> None:
    """History rows for a new thing: one per field given a value."""
    for field, value in fields.items():
        if value in (None, "", []):
            continue
        record(
            session,
            entity=entity,
            entity_id=entity_id,
            field=field,
            old=None,
            new=value,
            actor=identity.actor,
            institution_id=institution_id,
        )

"""Why a user may or may not do an action on an object (P-9).

Each domain hands over the object types it owns (`Domain.access_objects`: type -> `load`), and the
assembly (`consortia.domains`) registers them with `register_access_object(type, load)`;
`load(session, identity, id)` fetches the object with the caller's own read permission and raises
NotFound, exactly as the object's own endpoints do, when the caller may not know it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from consortia.access.identity import Identity, identity_of
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, decide
from consortia.errors import BadRequest
from consortia.platform.users import access_user

Load = Callable[[Session, Identity, str], Any]

_TYPES: dict[str, Load] = {}


def register_access_object(kind: str, load: Load) -> None:
    """Make objects of `kind` nameable as `<kind>:<id>` in access checks; a kind is registered once."""
    known = _TYPES.get(kind)
    if known is not None and known is not load:
        raise ValueError(f"access object type {kind!r} is already registered")
    _TYPES[kind] = load


def access_object_types() -> list[str]:
    return sorted(_TYPES)


@dataclass(frozen=True)
class Explanation:
    """The answer to "may `user` do `action` on `object`": the deciding rule and why."""

    allowed: bool
    rule: str
    reason: str
    action: str
    object: str | None
    user: str


def _permission(action: str) -> P:
    try:
        return P(action.strip())
    except ValueError:
        valid = ", ".join(p.value for p in P)
        raise BadRequest(f"Unknown action {action!r}; use one of: {valid}.", "40166411") from None


def _load_object(session: Session, identity: Identity, named: str) -> Any:
    kind, sep, object_id = named.partition(":")
    kind, object_id = kind.strip().lower(), object_id.strip()
    if not sep or not object_id:
        raise BadRequest(f"Name the object as <type>:<id>, not {named!r}.", "40166411")
    load = _TYPES.get(kind)
    if load is None:
        raise BadRequest(f"Unknown object type {kind!r}; use one of: {', '.join(access_object_types())}.", "40166411")
    return load(session, identity, object_id)


def explain_access(
    session: Session, identity: Identity, *, action: str, obj: str | None = None, user: str | None = None
) -> Explanation:
    """Decide `action` on `obj` for `user` (the caller when None) and say which rule decided it.

    Asking about another user needs `access:explain` over that user (404 when the caller may not see
    them, 403 when it may but is no administrator). An object the caller may not see answers 404 like
    the object itself. Without an object the question is about "something in the user's institution".
    """
    permission = _permission(action)
    target = identity
    if user is not None and user.strip():
        person = access_user(session, identity, user, P.ACCESS_EXPLAIN, id_type="primary_id")
        if person.id != identity.user_id:
            target = identity_of(person)
    thing = (
        _load_object(session, identity, obj)
        if obj is not None and obj.strip()
        else InInstitution(target.acting_institution_id)
    )
    decision = decide(target, permission, thing)
    return Explanation(
        allowed=decision.allowed,
        rule=decision.rule,
        reason=decision.reason,
        action=permission.value,
        object=obj.strip() if obj else None,
        user=target.primary_id,
    )

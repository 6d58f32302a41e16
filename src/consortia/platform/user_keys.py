"""The verbs on a user's API keys (P-5): create, list, fetch and revoke, each checked for `user:credentials`.

A key acts as its user, so only those who cover the user manage it: the user, the operator, and the
institution's administrators above the user (never a Consortia user's, never a User Administrator for a
General System Administrator); see `policy.covers`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize
from consortia.errors import NotFound
from consortia.platform.auth import api_keys_of, create_api_key, revoke_api_key
from consortia.platform.models import ApiKey, User
from consortia.platform.user_changes import check_text
from consortia.platform.users import user_not_found


def create_user_api_key(session: Session, identity: Identity, user: User, label: str = "") -> tuple[ApiKey, str]:
    """A new API key for `user` (themselves, an administrator of their institution who covers them, or the operator).

    The key itself is in the answer only; the caller shows it once.
    """
    authorize(identity, P.USER_CREDENTIALS, user, not_found=user_not_found(user.primary_id))
    check_text("The label", label)
    return create_api_key(session, user, actor=identity.actor, label=label.strip())


def user_api_keys(session: Session, identity: Identity, user: User) -> list[ApiKey]:
    authorize(identity, P.USER_CREDENTIALS, user, not_found=user_not_found(user.primary_id))
    return api_keys_of(session, user)


def access_api_key(session: Session, identity: Identity, key_id: int) -> ApiKey:
    """An API key whose user the caller may see: 404 otherwise, 403 when the caller does not cover the user."""
    key = session.get(ApiKey, key_id) if 0 < key_id < 2**31 else None
    not_found = NotFound(f"API key {key_id} was not found.", "402119")
    authorize(identity, P.USER_CREDENTIALS, key.user if key is not None else None, not_found=not_found)
    assert key is not None
    return key


def revoke_user_api_key(session: Session, identity: Identity, key: ApiKey) -> None:
    """Revoke a key at once: its next use answers 401."""
    authorize(identity, P.USER_CREDENTIALS, key.user, not_found=NotFound(f"API key {key.id} was not found.", "402119"))
    revoke_api_key(session, key, actor=identity.actor)
    session.flush()

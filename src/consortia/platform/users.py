"""Finding users and fetch-and-authorize for them (the verbs that change users live beside this)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize
from consortia.errors import NotFound
from consortia.platform.models import Institution, User, UserIdentifier
from consortia.platform.tenancy import acting_institution

USER_LOAD = (
    selectinload(User.roles),
    selectinload(User.identifiers),
    selectinload(User.blocks),
)


def user_not_found(user_id: str, id_type: str | None = None) -> NotFound:
    if id_type and id_type not in {"all_unique", "primary_id"}:
        return NotFound(f"User with identifier {user_id} of type {id_type} was not found.", "401890")
    return NotFound(f"User with identifier {user_id} was not found.", "401861")


def find_user(session: Session, institution: Institution, user_id: str, id_type: str = "all_unique") -> User | None:
    """A user of `institution` by primary id, by any identifier (`all_unique`), by one identifier
    type, or by `linking_id`."""
    key = user_id.strip().lower()
    base = select(User).where(User.institution_id == institution.id).options(*USER_LOAD)
    if id_type in {"all_unique", "primary_id"}:
        user = session.scalars(base.where(User.primary_id_key == key)).first()
        if user is not None or id_type == "primary_id":
            return user
        return session.scalars(
            base.join(UserIdentifier, UserIdentifier.user_id == User.id).where(UserIdentifier.value_key == key)
        ).first()
    if id_type == "linking_id":
        return session.scalars(base.where(User.linking_id == user_id.strip())).first()
    return session.scalars(
        base.join(UserIdentifier, UserIdentifier.user_id == User.id).where(
            UserIdentifier.id_type == id_type, UserIdentifier.value_key == key
        )
    ).first()


def access_user(
    session: Session, identity: Identity, user_id: str, permission: P, *, id_type: str = "all_unique"
) -> User:
    """Load a user of the institution the caller works in and check `permission` on them.

    Unknown users, users the caller may not see and users of other institutions all answer 404.
    """
    institution = acting_institution(session, identity)
    user = find_user(session, institution, user_id, id_type)
    authorize(identity, permission, user, not_found=user_not_found(user_id, id_type))
    assert user is not None
    return user

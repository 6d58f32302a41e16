"""Who is asking: the identity loaded once per request, and the ways to get one (P-5).

An `Identity` is a frozen snapshot of a user's place: institution, consortium, operator flag,
active roles with their scopes and Support Center level. Policy predicates read only this and
the object, so a decision costs a few set look-ups (N-7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from consortia.audit.service import Actor
from consortia.db import keep_for_session, today, unless_locked, utcnow
from consortia.platform.models import ApiKey, Institution, User, UserRole

EMPTY_LIBRARIES: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class RoleGrant:
    role_type: str
    library_id: int | None  # None: the role is held at institution level


@dataclass(frozen=True)
class Identity:
    user_id: int
    primary_id: str
    display_name: str
    institution_id: int | None
    consortium_id: int | None
    is_operator: bool
    support_level: str = "NONE"
    roles: frozenset[RoleGrant] = frozenset()
    # The institution a request works in: the user's own; for the operator, the one named with
    # ?institution= (None when none was named).
    acting_institution_id: int | None = None
    institution_roles: frozenset[str] = field(init=False)
    library_roles: Mapping[str, frozenset[int]] = field(init=False)

    def __post_init__(self) -> None:
        at_institution = frozenset(g.role_type for g in self.roles if g.library_id is None)
        by_library: dict[str, set[int]] = {}
        for grant in self.roles:
            if grant.library_id is not None:
                by_library.setdefault(grant.role_type, set()).add(grant.library_id)
        object.__setattr__(self, "institution_roles", at_institution)
        object.__setattr__(
            self,
            "library_roles",
            MappingProxyType({role: frozenset(ids) for role, ids in by_library.items()}),
        )

    def has_role(self, *role_types: str) -> bool:
        """Holds one of these roles at any scope."""
        return any(r in self.institution_roles or r in self.library_roles for r in role_types)

    def has_institution_role(self, *role_types: str) -> bool:
        return any(r in self.institution_roles for r in role_types)

    def libraries_for(self, *role_types: str) -> frozenset[int]:
        """Library ids where one of these roles is held at library level."""
        found: frozenset[int] = EMPTY_LIBRARIES
        for role in role_types:
            found = found | self.library_roles.get(role, EMPTY_LIBRARIES)
        return found

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.display_name or self.primary_id)

    def acting_in(self, institution_id: int | None) -> Identity:
        """The operator's identity working in one institution (`?institution=`)."""
        return Identity(
            user_id=self.user_id,
            primary_id=self.primary_id,
            display_name=self.display_name,
            institution_id=self.institution_id,
            consortium_id=self.consortium_id,
            is_operator=self.is_operator,
            support_level=self.support_level,
            roles=self.roles,
            acting_institution_id=institution_id,
        )


def identity_of(user: User, on: dt.date | None = None) -> Identity:
    """The identity of a loaded user: only active, unexpired roles count."""
    day = on or today()
    grants = frozenset(
        RoleGrant(role.role_type, role.library_id)
        for role in user.roles
        if role.status == "ACTIVE" and (role.expiry_date is None or role.expiry_date >= day)
    )
    institution = user.institution
    return Identity(
        user_id=user.id,
        primary_id=user.primary_id,
        display_name=user.full_name or user.primary_id,
        institution_id=user.institution_id,
        consortium_id=institution.consortium_id if institution else None,
        is_operator=user.is_operator,
        support_level=user.support_level,
        roles=grants,
        acting_institution_id=user.institution_id,
    )


def hash_secret(secret: str) -> str:
    """SHA-256 for high-entropy random tokens (API keys, session tokens); passwords use argon2."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _load_user(session: Session, user_id: int) -> User | None:
    return session.scalars(
        select(User)
        .where(User.id == user_id)
        .options(selectinload(User.roles), selectinload(User.institution).selectinload(Institution.consortium))
    ).first()


def can_sign_in(user: User) -> bool:
    """Active, not expired, and (for Support Center registrants) with a confirmed address."""
    if user.status != "ACTIVE":
        return False
    return not (user.expiry_date is not None and user.expiry_date < today())


def identity_from_api_key(session: Session, key: str) -> Identity | None:
    """The identity a key acts as, or None for an unknown or revoked key or a user who may not sign in.

    One round trip (key, user, institution and the active roles, one row per role): this runs on every
    API request. The institution comes as an entity, so that the request's later look-up of the
    institution it works in is answered from the session without another query.
    """
    if not key:
        return None
    day = today()
    active_role = and_(
        UserRole.user_id == User.id,
        UserRole.status == "ACTIVE",
        or_(UserRole.expiry_date.is_(None), UserRole.expiry_date >= day),
    )
    rows = session.execute(
        select(
            ApiKey.id.label("key_id"),
            ApiKey.last_used_at,
            User.id,
            User.primary_id,
            User.first_name,
            User.middle_name,
            User.last_name,
            User.institution_id,
            User.is_operator,
            User.support_level,
            User.status,
            User.expiry_date,
            Institution,
            UserRole.role_type,
            UserRole.library_id,
        )
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(Institution, Institution.id == User.institution_id)
        .outerjoin(UserRole, active_role)
        .where(ApiKey.key_hash == hash_secret(key), ApiKey.revoked_at.is_(None))
    ).all()
    if not rows:
        return None
    row = rows[0]
    if row.status != "ACTIVE" or (row.expiry_date is not None and row.expiry_date < day):
        return None
    if row.Institution is not None:
        keep_for_session(session, row.Institution)
    grants = frozenset(RoleGrant(r.role_type, r.library_id) for r in rows if r.role_type is not None)
    now = utcnow()
    # Note the use at most once a minute, so that hot keys do not write on every request.
    # A read does this on the side: left out when SQLite has no write lock for it (noted next time).
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        with unless_locked(session):
            session.execute(update(ApiKey).where(ApiKey.id == row.key_id).values(last_used_at=now))
    name = " ".join(part for part in (row.first_name, row.middle_name, row.last_name) if part)
    return Identity(
        user_id=row.id,
        primary_id=row.primary_id,
        display_name=name or row.primary_id,
        institution_id=row.institution_id,
        consortium_id=row.Institution.consortium_id if row.Institution is not None else None,
        is_operator=row.is_operator,
        support_level=row.support_level,
        roles=grants,
        acting_institution_id=row.institution_id,
    )


def identity_for_user_id(session: Session, user_id: int) -> Identity | None:
    user = _load_user(session, user_id)
    if user is None or not can_sign_in(user):
        return None
    return identity_of(user)


__all__ = [
    "Identity",
    "RoleGrant",
    "UserRole",
    "can_sign_in",
    "hash_secret",
    "identity_for_user_id",
    "identity_from_api_key",
    "identity_of",
]

"""Who is asking: the identity loaded once per request, and the ways to get one (P-5): an API key
(`identity_from_api_key`, cached), a browser session's cookie (`signed_in`), a user id (jobs); and the
institution a request works in (`acting_institution`).

An `Identity` is a frozen snapshot of a user's place: institution, consortium, operator flag,
active roles with their scopes and Support Center level. Policy predicates read only this and
the object, so a decision costs a few set look-ups (N-7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, selectinload

from consortia.access import auth_epoch as _auth_epoch  # noqa: F401  (listens for the changes an identity depends on)
from consortia.audit.models import Actor
from consortia.db import keep_for_session, today, unless_locked, utcnow
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import ApiKey, Institution, User, UserRole, WebSession

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


def acting_institution(session: Session, identity: Identity) -> Institution:
    """The institution an institution-bound request works in.

    Staff work in their own institution; the operator names one with `?institution=CODE`
    (API) or picks one on the start page (web).
    """
    if identity.acting_institution_id is None:
        raise BadRequest(
            "Name the institution to work in with ?institution=CODE."
            if identity.is_operator
            else "This account belongs to no institution.",
            "60224",
        )
    institution = session.get(Institution, identity.acting_institution_id)
    if institution is None:
        raise NotFound("Institution not found.", "60224")
    return institution


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


# --- browser sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """Who a browser session belongs to. `csrf_token` is the session's token as a plain value, so that
    an error page rendered after the request's database session has ended can still show its forms."""

    identity: Identity
    web_session: WebSession
    csrf_token: str


def signed_in(session: Session, token: str | None) -> SignedIn | None:
    """The identity behind a session cookie; None when absent, expired, or the user can no longer sign in."""
    if not token:
        return None
    row = session.scalars(select(WebSession).where(WebSession.token_hash == hash_secret(token))).first()
    if row is None or row.expires_at < utcnow():
        return None
    user = session.scalars(select(User).where(User.id == row.user_id).options(selectinload(User.roles))).first()
    if user is None or not can_sign_in(user):
        return None
    identity = identity_of(user)
    if user.is_operator:
        identity = identity.acting_in(row.acting_institution_id)
    return SignedIn(identity, row, row.csrf_token)


# --- API keys: the identity cache --------------------------------------------------------------

_KEYS: Table = ApiKey.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]
_ROLES: Table = UserRole.__table__  # type: ignore[assignment]
_INSTITUTIONS: Table = Institution.__table__  # type: ignore[assignment]

# Key, user, the institution's consortium and the active roles (one row per role), in one round trip.
_KEY_IDENTITY = (
    select(
        _KEYS.c.id.label("key_id"),
        _KEYS.c.last_used_at,
        _USERS.c.id,
        _USERS.c.auth_epoch,
        _USERS.c.primary_id,
        _USERS.c.first_name,
        _USERS.c.middle_name,
        _USERS.c.last_name,
        _USERS.c.institution_id,
        _USERS.c.is_operator,
        _USERS.c.support_level,
        _USERS.c.status,
        _USERS.c.expiry_date,
        _INSTITUTIONS.c.consortium_id,
        _ROLES.c.role_type,
        _ROLES.c.library_id,
    )
    .join(_USERS, _USERS.c.id == _KEYS.c.user_id)
    .outerjoin(_INSTITUTIONS, _INSTITUTIONS.c.id == _USERS.c.institution_id)
    .outerjoin(
        _ROLES,
        and_(
            _ROLES.c.user_id == _USERS.c.id,
            _ROLES.c.status == "ACTIVE",
            or_(_ROLES.c.expiry_date.is_(None), _ROLES.c.expiry_date >= bindparam("day")),
        ),
    )
    .where(_KEYS.c.key_hash == bindparam("key_hash"), _KEYS.c.revoked_at.is_(None))
)
# What a cached identity is checked against on every request: its owner's epoch, and the owner's
# institution, loaded as an entity so that the request's look-up of the institution it works in is
# answered from the session.
_EPOCH_AND_INSTITUTION = (
    select(User.auth_epoch, Institution)
    .outerjoin(Institution, Institution.id == User.institution_id)
    .where(User.id == bindparam("user_id"))
)
_EPOCH = select(_USERS.c.auth_epoch).where(_USERS.c.id == bindparam("user_id"))
_NOTE_USE = update(_KEYS).where(_KEYS.c.id == bindparam("key_id")).values(last_used_at=bindparam("now"))

KEY_USE_INTERVAL = dt.timedelta(minutes=1)  # a key's use is noted at most this often, per process
CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Cached:
    identity: Identity
    key_id: int
    auth_epoch: int
    day: dt.date  # roles and the account expire by the day: an entry holds for the day it was made
    last_used_at: dt.datetime | None


# Key hash -> what it resolved to. Entries are replaced, never changed, so threads share it safely.
_cache: dict[str, _Cached] = {}


def forget_cached_identities() -> None:
    _cache.clear()


def _resolve(session: Session, key_hash: str, day: dt.date) -> _Cached | None:
    rows = session.execute(_KEY_IDENTITY, {"key_hash": key_hash, "day": day}).all()
    if not rows:
        return None
    row = rows[0]
    if row.status != "ACTIVE" or (row.expiry_date is not None and row.expiry_date < day):
        return None
    name = " ".join(part for part in (row.first_name, row.middle_name, row.last_name) if part)
    identity = Identity(
        user_id=row.id,
        primary_id=row.primary_id,
        display_name=name or row.primary_id,
        institution_id=row.institution_id,
        consortium_id=row.consortium_id,
        is_operator=row.is_operator,
        support_level=row.support_level,
        roles=frozenset(RoleGrant(r.role_type, r.library_id) for r in rows if r.role_type is not None),
        acting_institution_id=row.institution_id,
    )
    return _Cached(identity, row.key_id, row.auth_epoch, day, row.last_used_at)


def identity_from_api_key(session: Session, key: str, *, keep_institution: bool = True) -> Identity | None:
    """The identity a key acts as, or None for an unknown or revoked key or a user who may not sign in.

    This runs on every API request. A key's identity is kept in this process with its owner's auth
    epoch (`access.auth_epoch`), and each request reads only that epoch (with the owner's institution,
    which the request needs anyway); a revoked key, an inactivated or expired user, or a changed role
    changes the epoch in the same transaction, so the next request of any process resolves the key
    afresh. An entry's epoch is read by the same statement as its identity, so the two always belong
    to one committed state. With `keep_institution` the owner's institution is loaded as an entity
    with the epoch (the request's look-up of the institution it works in is then answered from the
    session); routes that read the institution's fields otherwise leave it out.
    """
    if not key:
        return None
    key_hash = hash_secret(key)
    day = today()
    cached = _cache.get(key_hash)
    if cached is not None:
        params = {"user_id": cached.identity.user_id}
        if keep_institution:
            found = session.execute(_EPOCH_AND_INSTITUTION, params).first()
            epoch = None if found is None else found.auth_epoch
        else:
            epoch = session.execute(_EPOCH, params).scalar()
        if epoch != cached.auth_epoch or cached.day != day:
            cached = None
        elif keep_institution and found is not None and found.Institution is not None:
            keep_for_session(session, found.Institution)
    if cached is None:
        _cache.pop(key_hash, None)
        cached = _resolve(session, key_hash, day)
        if cached is None:
            return None
        if keep_institution and cached.identity.institution_id is not None:
            institution = session.get(Institution, cached.identity.institution_id)
            if institution is not None:
                keep_for_session(session, institution)
    now = utcnow()
    # Note the use at most once a minute, so that hot keys do not write on every request; the write
    # changes no epoch (access.auth_epoch leaves `last_used_at` out).
    # A read does this on the side: left out when SQLite has no write lock for it (noted next time).
    if cached.last_used_at is None or now - cached.last_used_at > KEY_USE_INTERVAL:
        with unless_locked(session):
            session.execute(_NOTE_USE, {"key_id": cached.key_id, "now": now})
        cached = replace(cached, last_used_at=now)
    if len(_cache) >= CACHE_SIZE:
        _cache.clear()
    _cache[key_hash] = cached
    return cached.identity


def identity_for_user_id(session: Session, user_id: int) -> Identity | None:
    user = _load_user(session, user_id)
    if user is None or not can_sign_in(user):
        return None
    return identity_of(user)


__all__ = [
    "Identity",
    "RoleGrant",
    "SignedIn",
    "UserRole",
    "acting_institution",
    "can_sign_in",
    "forget_cached_identities",
    "hash_secret",
    "identity_for_user_id",
    "identity_from_api_key",
    "identity_of",
    "signed_in",
]

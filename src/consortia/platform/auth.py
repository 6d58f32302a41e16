"""Passwords, sign-in with throttling, browser sessions and API keys (P-5, R-7)."""

from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, can_sign_in, hash_secret
from consortia.access.permissions import Permission as P
from consortia.access.policy import demand
from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.errors import BadRequest, NotFound, Throttled, Unauthorized
from consortia.platform.models import ApiKey, Institution, SignInFailure, User, WebSession

_hasher = PasswordHasher()

FREE_FAILURES = 5  # failed sign-ins before each further attempt has to wait
BASE_DELAY = dt.timedelta(seconds=15)
MAX_DELAY = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", "401664")
    return str(_hasher.hash(password))


def password_matches(stored: str | None, password: str) -> bool:
    if not stored:
        # Spend the same time as a real check so that unknown names are not told apart by timing.
        _hasher.hash(password)
        return False
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _name_key(username: str, institution_code: str | None) -> str:
    """The failure counter of a name that names no account: the normalised spelling, hashed (a user name
    field sometimes receives a password typed in the wrong box; no clear text of it is kept)."""
    return "name:" + hash_secret(f"{institution_code or ''}/{username.strip().lower()}")


def _account_key(user: User) -> str:
    return f"user:{user.id}"


def _wait_left(failure: SignInFailure | None, now: dt.datetime) -> dt.timedelta:
    if failure is None or failure.failures < FREE_FAILURES:
        return dt.timedelta(0)
    delay: dt.timedelta = min(BASE_DELAY * (2 ** (failure.failures - FREE_FAILURES)), MAX_DELAY)
    left: dt.timedelta = failure.last_failure_at + delay - now
    return max(dt.timedelta(0), left)


def _normal_code(institution_code: str | None) -> str | None:
    """An institution code as the look-up reads it: trimmed, upper-case; blank is no code."""
    return (institution_code or "").strip().upper() or None


def find_sign_in_user(session: Session, username: str, institution_code: str | None) -> User | None:
    """The account a sign-in names: `primary_id` in an institution, or an operator account.

    Without an institution code the name must be unambiguous across institutions.
    """
    key = username.strip().lower()
    code = _normal_code(institution_code)
    query = select(User).where(User.primary_id_key == key).options(selectinload(User.roles))
    if code:
        query = query.join(Institution, User.institution_id == Institution.id).where(Institution.code == code)
    users = session.scalars(query).all()
    return users[0] if len(users) == 1 else None


def _failure_counter(session: Session, key: str, now: dt.datetime) -> SignInFailure:
    """The counter of `key`, created when missing and locked for this transaction, so that attempts on one
    account made at the same moment are counted one after the other (none slips through uncounted)."""
    values = {"username_key": key, "failures": 0, "last_failure_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql_insert(SignInFailure).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(SignInFailure).values(values).on_conflict_do_nothing())
    elif session.get(SignInFailure, key) is None:
        session.add(SignInFailure(**values))
        session.flush()
    return session.scalars(
        select(SignInFailure)
        .where(SignInFailure.username_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def check_throttle(session: Session, key: str, now: dt.datetime) -> SignInFailure:
    """The locked counter of `key`; Throttled (429) while it must wait, whatever password comes with it."""
    counter = _failure_counter(session, key, now)
    wait = _wait_left(counter, now)
    if wait > dt.timedelta(0):
        raise Throttled(f"Too many failed sign-ins. Try again in {int(wait.total_seconds()) + 1} seconds.")
    return counter


def count_failure(counter: SignInFailure, now: dt.datetime) -> None:
    counter.failures += 1
    counter.last_failure_at = now


def sign_in(session: Session, username: str, password: str, institution_code: str | None = None) -> User:
    """Check a user name and password; repeated failures make each next attempt wait longer.

    Failures are counted per account (the user the name and code resolve to, however they are spelt) and,
    for names that resolve to no account, per normalised name. While a counter waits, even the right
    password is refused (429). The entry point commits a failed attempt so that it stays counted."""
    now = utcnow()
    user = find_sign_in_user(session, username, institution_code)
    key = _account_key(user) if user is not None else _name_key(username, _normal_code(institution_code))
    counter = check_throttle(session, key, now)
    ok = password_matches(user.password_hash if user else None, password)
    if not ok or user is None or not can_sign_in(user):
        count_failure(counter, now)
        raise Unauthorized("Unknown user name or wrong password, or the account is not active.")
    if user.record_type == "STAFF" and not user.email_confirmed:
        if counter.failures == 0:
            session.delete(counter)
        raise Unauthorized("Confirm your email address first: follow the link in the confirmation mail.")
    session.delete(counter)
    user.last_sign_in = now
    return user


def check_own_password(session: Session, user: User, password: str) -> None:
    """The user's current password, before they set a new one: counted with the account's sign-in
    failures, so that a browser left signed in cannot be used to guess it."""
    now = utcnow()
    counter = check_throttle(session, _account_key(user), now)
    if not password_matches(user.password_hash, password):
        count_failure(counter, now)
        raise Unauthorized("The current password is wrong.")
    session.delete(counter)


# --- browser sessions -------------------------------------------------------------------------


def create_web_session(session: Session, user: User, hours: int) -> tuple[str, WebSession]:
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=hash_secret(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        acting_institution_id=user.institution_id,
        created_at=utcnow(),
        expires_at=utcnow() + dt.timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def set_acting_institution(session: Session, identity: Identity, web_session_id: int, code: str) -> Institution | None:
    """The operator picks the institution that the institution-bound pages of this browser session work in
    (`institution:manage`); "" works in none. Answers the institution chosen."""
    demand(identity, P.INSTITUTION_MANAGE)
    row = session.get(WebSession, web_session_id)
    if row is None:
        raise NotFound("Session not found.")
    if not code:
        row.acting_institution_id = None
        return None
    institution = session.scalars(select(Institution).where(Institution.code == code.upper())).first()
    if institution is None:
        raise NotFound(f"Institution {code} was not found.")
    row.acting_institution_id = institution.id
    return institution


def end_web_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_secret(token)))


def end_sessions_of(session: Session, user_id: int, *, keep: int | None = None) -> None:
    """Sign a user out everywhere, but for the browser session `keep` (the one the user is changing their
    own password in): every other cookie of theirs is refused from its next request on, and stays refused
    when the account is reactivated later. (API keys need no such step: a key of an inactive or expired
    user is refused on every request, `identity.identity_from_api_key`, and a deleted user's keys go with
    them.)"""
    statement = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    session.execute(statement)


# --- API keys ---------------------------------------------------------------------------------


def create_api_key(
    session: Session, user: User, *, actor: Actor, label: str = "", secret: str | None = None
) -> tuple[ApiKey, str]:
    """A new key for `user`; the key itself is returned once and only its hash is kept.

    `secret` gives the key instead of a random one (the demo's published key only)."""
    secret = secret or "ck_" + secrets.token_urlsafe(32)
    row = ApiKey(
        user_id=user.id,
        key_hash=hash_secret(secret),
        prefix=secret[:10],
        label=label[:200],
        created_at=utcnow(),
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="api_key",
        old=None,
        new=f"created {row.prefix}… (id {row.id})",
        actor=actor,
        institution_id=user.institution_id,
    )
    return row, secret


def revoke_api_key(session: Session, key: ApiKey, *, actor: Actor) -> None:
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    record(
        session,
        entity="user",
        entity_id=key.user.primary_id,
        field="api_key",
        old=f"{key.prefix}… (id {key.id})",
        new="revoked",
        actor=actor,
        institution_id=key.user.institution_id,
    )


def api_keys_of(session: Session, user: User) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id)))


def get_api_key(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} was not found.")
    return row


def count_active_keys(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        )
        or 0
    )

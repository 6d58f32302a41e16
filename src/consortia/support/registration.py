"""Self-registration to the Support Center (SC-3).

Anyone with an address at one of an institution's email domains, or with the institution's
registration link (its registration token), can register. The new user is a STAFF user of that
institution with level BASIC, a password, and an unconfirmed address: they cannot sign in nor open
cases until they follow the link of the confirmation mail (valid `TOKEN_DAYS` days; only the token's
hash is stored).

To avoid telling strangers which addresses are registered, registering an address that already has
an account answers the same way and mails the address owner instead of creating anything. When that
account is still unconfirmed, the mail is a fresh confirmation link instead (the earlier links stop
working), so that someone who lost the first mail is not stuck: sign-in refuses unconfirmed accounts.
The new attempt changes nothing else of the account (not its password: whoever confirms the address
signs in with the password chosen first).

Every registration that sends a mail counts against two limits, kept in the database so that they
hold across server processes (R-7): `ADDRESS_LIMIT` mails per email address and `CLIENT_LIMIT` per
client address within `THROTTLE_WINDOW`; beyond them the registration answers 429 and sends nothing.
The address is counted before it is looked up, so a known and an unknown address are limited alike.
Two registrations racing past the count may both go through: the limits are a brake, not a quota.

An institution's registration link is `registration_link(institution)`: the registration page with the
institution's token, shown to the operator and to the institution's General System Administrator.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, hash_secret
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows
from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.config import get_settings
from consortia.db import utcnow
from consortia.errors import BadRequest, NotFound, Throttled
from consortia.mail import send_mail
from consortia.platform.auth import hash_password
from consortia.platform.consortium_service import InstitutionExtra
from consortia.platform.models import Institution, User
from consortia.platform.tenancy import institution_by_code
from consortia.support.models import BASIC, RegistrationAttempt, SupportRegistration

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


# What a person registering gives (SC-3): the API's body and the registration form. (No docstring: it
# would become the body's description in the API document.)
class Registration(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # The address becomes the user's primary id (at most 100 characters).
    email: str = Field(max_length=100, pattern=EMAIL_PATTERN)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    institution: str | None = Field(default=None, max_length=40)
    registration_token: str | None = Field(default=None, max_length=64)
    password: str = Field(min_length=8, max_length=500)


TOKEN_DAYS = 7
CONFIRM_SUBJECT = "Confirm your Support Center registration"
REGISTER_PATH = "/support/register"
THROTTLE_WINDOW = dt.timedelta(hours=1)
ADDRESS_LIMIT = 3  # registration mails to one address per window
CLIENT_LIMIT = 20  # registrations from one client address per window (colleagues behind one gateway)


def registration_link(institution: Institution) -> str | None:
    """The institution's registration link (SC-3): the registration page with its token (None without one).

    Built on the configured public address, like the links of the mails; callers decide who may see it.
    """
    token = institution.registration_token.strip()
    if not token:
        return None
    return f"{get_settings().base_url.rstrip('/')}{REGISTER_PATH}?{urlencode({'token': token})}"


def _institution_for(session: Session, data: Registration) -> tuple[Institution, bool]:
    """The institution registered with, and whether the registration link (token) vouches for it."""
    token = (data.registration_token or "").strip()
    if token:
        institution = session.scalars(select(Institution).where(Institution.registration_token == token)).first()
        if institution is None or (data.institution and institution.code != data.institution.strip().upper()):
            raise BadRequest("The registration link is not valid; ask your institution for a new one.")
        return institution, True
    if not data.institution:
        raise BadRequest("Name your institution, or use your institution's registration link.")
    institution = institution_by_code(session, data.institution)
    if institution is None:
        raise BadRequest(f"Institution {data.institution} was not found.")
    return institution, False


def _domain_allowed(institution: Institution, email: str) -> bool:
    domain = email.rsplit("@", 1)[-1].lower()
    return any(domain == d.domain.lower() or domain.endswith("." + d.domain.lower()) for d in institution.email_domains)


def _minutes(wait: dt.timedelta) -> str:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _throttle(session: Session, email: str, client: str) -> None:
    """Count this registration against the address's and the client's limits (429 beyond them)."""
    now = utcnow()
    since = now - THROTTLE_WINDOW
    session.execute(delete(RegistrationAttempt).where(RegistrationAttempt.at < since))
    limits = (
        (
            hash_secret(f"email:{email.lower()}"),
            ADDRESS_LIMIT,
            f"Too many registrations for this address: at most {ADDRESS_LIMIT} confirmation mails an hour are "
            "sent to one address. Look for the mail already sent, or try again in {wait}.",
        ),
        (
            hash_secret(f"client:{client}"),
            CLIENT_LIMIT,
            f"Too many registrations from your network: at most {CLIENT_LIMIT} an hour. Try again in {{wait}}.",
        ),
    )
    for key_hash, limit, message in limits:
        count, oldest = session.execute(
            select(func.count(), func.min(RegistrationAttempt.at)).where(
                RegistrationAttempt.key_hash == key_hash, RegistrationAttempt.at >= since
            )
        ).one()
        if count >= limit:
            raise Throttled(message.format(wait=_minutes((oldest or now) + THROTTLE_WINDOW - now)))
    session.add_all(RegistrationAttempt(key_hash=key_hash, at=now) for key_hash, _limit, _message in limits)
    session.flush()


def register(session: Session, data: Registration, *, client: str) -> None:
    """Create the BASIC user and mail the confirmation link (or, for a known address, a reminder);
    `client` is the caller's network address, for the limits."""
    institution, by_link = _institution_for(session, data)
    email = data.email.strip()
    if not by_link and not _domain_allowed(institution, email):
        raise BadRequest(
            f"Register with an address at one of {institution.name}'s email domains, "
            "or use the institution's registration link."
        )
    _throttle(session, email, client)
    key = email.lower()
    # Hash before looking the address up, so that known and unknown addresses take the same time.
    password_hash = hash_password(data.password)
    existing = session.scalars(
        select(User).where(
            User.institution_id == institution.id, or_(User.primary_id_key == key, func.lower(User.email) == key)
        )
    ).first()
    base_url = get_settings().base_url.rstrip("/")
    if existing is not None and not existing.email_confirmed:
        _send_confirmation(session, existing, institution, email, again=True)
        return
    if existing is not None:
        send_mail(
            session,
            email,
            "Support Center registration",
            f"Someone asked to register {email} at the {institution.name} Support Center, but this address "
            f"already has an account. Sign in at {base_url}/login; if you did not ask, ignore this message.",
        )
        return
    user = User(
        institution_id=institution.id,
        primary_id=email,
        primary_id_key=key,
        record_type="STAFF",
        first_name=data.first_name,
        last_name=data.last_name,
        email=email,
        support_level=BASIC,
        email_confirmed=False,
        password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    actor = Actor(user.id, user.full_name or user.primary_id)
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field="support_level",
        old=None,
        new=BASIC,
        actor=actor,
        institution_id=institution.id,
    )
    _send_confirmation(session, user, institution, email, again=False)


def _send_confirmation(session: Session, user: User, institution: Institution, email: str, *, again: bool) -> None:
    """Issue a confirmation token for an unconfirmed user and mail its link; with `again`, the user's
    earlier tokens stop working and the history says the link was sent again."""
    now = utcnow()
    if again:
        session.execute(
            update(SupportRegistration)
            .where(
                SupportRegistration.user_id == user.id,
                SupportRegistration.confirmed_at.is_(None),
                SupportRegistration.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="email_confirmation",
            old=None,
            new="confirmation link sent again",
            actor=Actor(user.id, user.full_name or user.primary_id),
            institution_id=institution.id,
        )
    token = secrets.token_urlsafe(32)
    session.add(
        SupportRegistration(
            user_id=user.id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + dt.timedelta(days=TOKEN_DAYS),
        )
    )
    base_url = get_settings().base_url.rstrip("/")
    password_note = " Sign in with the password you chose when you first registered." if again else ""
    send_mail(
        session,
        email,
        CONFIRM_SUBJECT,
        f"Hello {user.first_name},\n\n"
        f"confirm your registration at the {institution.name} Support Center by opening\n"
        f"{base_url}/support/confirm/{token}\n\n"
        f"The link is valid for {TOKEN_DAYS} days. Your user name is {user.primary_id}.{password_note}\n"
        f"Confirmation code: {token}\n",
    )
    session.flush()


def confirm(session: Session, token: str) -> User:
    """Confirm the address behind a token; unknown, used and expired tokens answer 404."""
    row = session.scalars(
        select(SupportRegistration).where(SupportRegistration.token_hash == hash_secret(token.strip()))
    ).first()
    now = utcnow()
    if row is None or row.confirmed_at is not None or row.expires_at <= now:
        raise NotFound("The confirmation link is unknown, already used or expired; register again.")
    user = session.get(User, row.user_id)
    if user is None:
        raise NotFound("The confirmation link is unknown, already used or expired; register again.")
    row.confirmed_at = now
    if not user.email_confirmed:
        record(
            session,
            entity="user",
            entity_id=user.primary_id,
            field="email_confirmed",
            old=False,
            new=True,
            actor=Actor(user.id, user.full_name or user.primary_id),
            institution_id=user.institution_id,
        )
        user.email_confirmed = True
    session.flush()
    return user


def registration_link_for(identity: Identity, institution: Institution) -> str | None:
    """The institution's registration link when `identity` may hand it out, else None: whoever manages
    the institution (`institution:manage`, the operator) or its Support Center contacts
    (`contact:manage`, the operator and the institution's General System Administrator)."""
    if not (allows(identity, P.INSTITUTION_MANAGE, institution) or allows(identity, P.CONTACT_MANAGE, institution)):
        return None
    return registration_link(institution)


REGISTRATION_LINK = InstitutionExtra("registration_link", "support/_registration_link.html", registration_link_for)

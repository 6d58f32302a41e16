"""Self-registration to the Support Center (SC-3).

Anyone with an address at one of an institution's email domains, or with the institution's
registration link (its registration token), can register. The new user is a STAFF user of that
institution with level BASIC, a password, and an unconfirmed address: they cannot sign in nor open
cases until they follow the link of the confirmation mail (valid `TOKEN_DAYS` days; only the token's
hash is stored).

To avoid telling strangers which addresses are registered, registering an address that already has
an account answers the same way and mails the address owner instead of creating anything.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from consortia.access.identity import hash_secret
from consortia.audit.service import Actor, record
from consortia.config import get_settings
from consortia.db import utcnow
from consortia.errors import BadRequest, NotFound
from consortia.mail import send_mail
from consortia.platform.auth import hash_password
from consortia.platform.models import Institution, User
from consortia.platform.tenancy import institution_by_code
from consortia.support.models import BASIC, SupportRegistration
from consortia.support.schemas import Registration

TOKEN_DAYS = 7
CONFIRM_SUBJECT = "Confirm your Support Center registration"


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


def register(session: Session, data: Registration) -> None:
    """Create the BASIC user and mail the confirmation link (or, for a known address, a reminder)."""
    institution, by_link = _institution_for(session, data)
    email = data.email.strip()
    if not by_link and not _domain_allowed(institution, email):
        raise BadRequest(
            f"Register with an address at one of {institution.name}'s email domains, "
            "or use the institution's registration link."
        )
    key = email.lower()
    # Hash before looking the address up, so that known and unknown addresses take the same time.
    password_hash = hash_password(data.password)
    existing = session.scalars(
        select(User).where(
            User.institution_id == institution.id, or_(User.primary_id_key == key, func.lower(User.email) == key)
        )
    ).first()
    base_url = get_settings().base_url.rstrip("/")
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
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        SupportRegistration(
            user_id=user.id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + dt.timedelta(days=TOKEN_DAYS),
        )
    )
    send_mail(
        session,
        email,
        CONFIRM_SUBJECT,
        f"Hello {user.first_name},\n\n"
        f"confirm your registration at the {institution.name} Support Center by opening\n"
        f"{base_url}/support/confirm/{token}\n\n"
        f"The link is valid for {TOKEN_DAYS} days. Your user name is {user.primary_id}.\n"
        f"Confirmation code: {token}\n",
    )
    session.flush()


def confirm(session: Session, token: str) -> User:
    """Confirm the address behind a token; unknown, used and expired tokens answer 404."""
    row = session.scalars(
        select(SupportRegistration).where(SupportRegistration.token_hash == hash_secret(token.strip()))
    ).first()
    now = utcnow()
    if row is None or row.confirmed_at is not None or row.expires_at < now:
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

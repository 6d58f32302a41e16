"""Consortia and institutions (P-1): the operator's tenancy verbs by code (conventions in `common`).

The history kinds and access-check object types `consortium` and `institution` are at the end (handed over
in `platform.domain`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, authorize, where
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.errors import BadRequest, NotFound
from consortia.platform.codetables import seed_code_tables
from consortia.platform.common import (
    INVALID,
    MAX_NAME,
    UNCHANGED,
    Unchanged,
    check_stable_code,
    page_of,
    record_created,
    require_permission,
    set_field,
    valid_code,
    valid_name,
    valid_text,
)
from consortia.platform.models import Consortium, Institution, InstitutionEmailDomain

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RULE = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
MAX_DOMAINS = 50


# --- consortia ----------------------------------------------------------------------------------


def consortium_not_found(code: str) -> NotFound:
    return NotFound(f"Consortium {code.strip().upper()} was not found.", "402119")


def access_consortium(session: Session, identity: Identity, code: str, permission: P = P.CONSORTIUM_READ) -> Consortium:
    """The consortium with this code, checked for `permission`."""
    consortium = session.scalars(select(Consortium).where(Consortium.code == code.strip().upper())).first()
    authorize(identity, permission, consortium, not_found=consortium_not_found(code))
    assert consortium is not None
    return consortium


def list_consortia(
    session: Session, identity: Identity, *, limit: int | None = None, offset: int = 0
) -> tuple[list[Consortium], int]:
    """The consortia `identity` may read, by code."""
    return page_of(session, Consortium, where(identity, P.CONSORTIUM_READ, Consortium), Consortium.code, limit, offset)


def create_consortium(
    session: Session, identity: Identity, *, code: str, name: str, parent_account: str = ""
) -> Consortium:
    require_permission(identity, P.CONSORTIUM_MANAGE)
    code = valid_code(code, "consortium")
    if session.scalar(select(Consortium.id).where(Consortium.code == code)) is not None:
        raise BadRequest(f"The consortium code {code} is already in use.", INVALID)
    consortium = Consortium(
        code=code,
        name=valid_name(name, "consortium"),
        parent_account=valid_text(parent_account, "parent_account", MAX_NAME),
    )
    session.add(consortium)
    session.flush()
    record_created(
        session,
        identity,
        "consortium",
        code,
        None,
        code=code,
        name=consortium.name,
        parent_account=consortium.parent_account,
    )
    return consortium


def update_consortium(
    session: Session,
    identity: Identity,
    code: str,
    *,
    name: str | None = None,
    parent_account: str | None = None,
    new_code: str | None = None,
) -> Consortium:
    """Change the name or parent account (None: keep); the code cannot change."""
    consortium = access_consortium(session, identity, code, P.CONSORTIUM_MANAGE)
    check_stable_code(new_code, consortium.code, "consortium")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = valid_name(name, "consortium")
    if parent_account is not None:
        changes["parent_account"] = valid_text(parent_account, "parent_account", MAX_NAME)
    for field, value in changes.items():
        set_field(
            session,
            identity,
            consortium,
            field,
            value,
            entity="consortium",
            entity_id=consortium.code,
            institution_id=None,
        )
    return consortium


def consortium_members(identity: Identity, consortium: Consortium) -> list[Institution]:
    """The member institutions of `consortium` that `identity` may read."""
    return sorted(
        (i for i in consortium.institutions if allows(identity, P.INSTITUTION_READ, i)),
        key=lambda i: i.code,
    )


# --- institutions -------------------------------------------------------------------------------


def institution_not_found(code: str) -> NotFound:
    return NotFound(f"Institution {code.strip().upper()} was not found.", "60224")


def access_institution(
    session: Session, identity: Identity, code: str, permission: P = P.INSTITUTION_READ
) -> Institution:
    """The institution with this code, checked for `permission` (which may be about its libraries,
    parameters, ...: the institution stands for "something in it")."""
    institution = session.scalars(
        select(Institution)
        .where(Institution.code == code.strip().upper())
        .options(selectinload(Institution.email_domains), selectinload(Institution.consortium))
    ).first()
    authorize(identity, permission, institution, not_found=institution_not_found(code))
    assert institution is not None
    return institution


def list_institutions(
    session: Session,
    identity: Identity,
    *,
    consortium: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Institution], int]:
    """The institutions `identity` may read, by code; `consortium` keeps those of one consortium."""
    condition = where(identity, P.INSTITUTION_READ, Institution)
    if consortium:
        condition = and_(condition, Institution.consortium.has(Consortium.code == consortium.strip().upper()))
    return page_of(session, Institution, condition, Institution.code, limit, offset)


def _consortium_for(session: Session, identity: Identity, code: str | None) -> Consortium | None:
    """The consortium a body names ("" or None: none); an unknown one is invalid input."""
    if code is None or not code.strip():
        return None
    try:
        return access_consortium(session, identity, code)
    except NotFound:
        raise BadRequest(f"Consortium {code.strip().upper()} was not found.", INVALID) from None


def _email_domains(session: Session, values: Sequence[str], institution_id: int | None) -> list[str]:
    """Domains lower-cased, each valid and not used by another institution."""
    domains: list[str] = []
    for value in values:
        domain = value.strip().lower().lstrip("@")
        if not domain:
            continue
        if len(domain) > MAX_NAME or not DOMAIN_RULE.fullmatch(domain):
            raise BadRequest(f"{value.strip()!r} is not an email domain (for example: east.example.edu).", INVALID)
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise BadRequest(f"An institution has at most {MAX_DOMAINS} email domains.", INVALID)
    if domains:
        taken = session.execute(
            select(InstitutionEmailDomain.domain, Institution.code)
            .join(Institution, Institution.id == InstitutionEmailDomain.institution_id)
            .where(InstitutionEmailDomain.domain.in_(domains), Institution.id != (institution_id or 0))
            .order_by(InstitutionEmailDomain.domain)
        ).first()
        if taken is not None:
            raise BadRequest(f"The email domain {taken.domain} is already used by institution {taken.code}.", INVALID)
    return sorted(domains)


def _membership(session: Session, identity: Identity, institution: Institution, old: Consortium | None) -> None:
    """History of the consortia an institution left and joined."""
    new = institution.consortium
    if old is not None and (new is None or new.id != old.id):
        record(
            session,
            entity="consortium",
            entity_id=old.code,
            field="institution",
            old=institution.code,
            new=None,
            actor=identity.actor,
            institution_id=None,
        )
    if new is not None and (old is None or new.id != old.id):
        record(
            session,
            entity="consortium",
            entity_id=new.code,
            field="institution",
            old=None,
            new=institution.code,
            actor=identity.actor,
            institution_id=None,
        )


def create_institution(
    session: Session,
    identity: Identity,
    *,
    code: str,
    name: str,
    consortium: str | None = None,
    email_domains: Sequence[str] = (),
) -> Institution:
    """A new institution, in at most one consortium, with its email domains (unique on the platform)."""
    require_permission(identity, P.INSTITUTION_MANAGE)
    code = valid_code(code, "institution")
    if session.scalar(select(Institution.id).where(Institution.code == code)) is not None:
        raise BadRequest(f"The institution code {code} is already in use.", INVALID)
    name = valid_name(name, "institution")
    member_of = _consortium_for(session, identity, consortium)
    domains = _email_domains(session, email_domains, None)
    institution = Institution(
        code=code,
        name=name,
        consortium=member_of,
        registration_token=secrets.token_urlsafe(24),
        email_domains=[InstitutionEmailDomain(domain=d) for d in domains],
    )
    session.add(institution)
    session.flush()
    record_created(
        session,
        identity,
        "institution",
        code,
        institution.id,
        code=code,
        name=name,
        consortium=member_of.code if member_of else None,
        email_domains=domains,
    )
    _membership(session, identity, institution, None)
    seed_code_tables(session, identity.actor, institution.id)
    return institution


def update_institution(
    session: Session,
    identity: Identity,
    code: str,
    *,
    name: str | None = None,
    consortium: str | Unchanged | None = UNCHANGED,
    email_domains: Sequence[str] | None = None,
    new_code: str | None = None,
) -> Institution:
    """Change the name, the consortium (None or "": none) or the email domains (replaced as a set).

    Everything given is checked before anything changes.
    """
    institution = access_institution(session, identity, code, P.INSTITUTION_MANAGE)
    check_stable_code(new_code, institution.code, "institution")
    new_name = None if name is None else valid_name(name, "institution")
    new_consortium = None if isinstance(consortium, Unchanged) else _consortium_for(session, identity, consortium)
    domains = None if email_domains is None else _email_domains(session, email_domains, institution.id)

    def note(field: str, old: Any, new: Any) -> None:
        record(
            session,
            entity="institution",
            entity_id=institution.code,
            field=field,
            old=old,
            new=new,
            actor=identity.actor,
            institution_id=institution.id,
        )

    if new_name is not None and new_name != institution.name:
        note("name", institution.name, new_name)
        institution.name = new_name
    old_consortium = institution.consortium
    if not isinstance(consortium, Unchanged) and (old_consortium.id if old_consortium else None) != (
        new_consortium.id if new_consortium else None
    ):
        institution.consortium = new_consortium
        note(
            "consortium",
            old_consortium.code if old_consortium else None,
            new_consortium.code if new_consortium else None,
        )
        _membership(session, identity, institution, old_consortium)
    old_domains = sorted(d.domain for d in institution.email_domains)
    if domains is not None and old_domains != domains:
        kept = [d for d in institution.email_domains if d.domain in domains]
        added = [InstitutionEmailDomain(domain=d) for d in domains if d not in old_domains]
        institution.email_domains = kept + added
        note("email_domains", old_domains, domains)
    session.flush()
    return institution


# --- what other domains add to an institution ---------------------------------------------------


@dataclass(frozen=True)
class InstitutionExtra:
    """Something a domain adds to an institution's answer (`/api/v1/institutions`: the field `name`) and
    to its pages (the operator's institution page, the Parameters page: the fragment `template`, which
    reads `extra.value`). `value(identity, institution)` says what it is for this caller; None: nothing
    is added (the caller may not see it)."""

    name: str
    template: str
    value: Callable[[Identity, Institution], Any]


_EXTRAS: list[InstitutionExtra] = []


def add_institution_extra(extra: InstitutionExtra) -> None:
    """Make `extra` part of every institution's answer and pages (at assembly, `consortia.domains`)."""
    if any(known.name == extra.name and known is not extra for known in _EXTRAS):
        raise ValueError(f"the institution field {extra.name!r} is already added by another domain")
    if extra not in _EXTRAS:
        _EXTRAS.append(extra)


def institution_extras(identity: Identity, institution: Institution) -> list[tuple[InstitutionExtra, Any]]:
    """The extras this caller sees for `institution`, each with its value, in the order they were added."""
    found = []
    for extra in _EXTRAS:
        value = extra.value(identity, institution)
        if value is not None:
            found.append((extra, value))
    return found


@dataclass(frozen=True)
class StartPagePlaces:
    """Where the signed-in person is, for the start page: their institution, the one they work in (the
    operator's choice), and the institutions the operator may choose from (none for anyone else)."""

    institution: Institution | None
    acting: Institution | None
    choices: list[Institution]


def start_page_places(session: Session, identity: Identity) -> StartPagePlaces:
    institution = session.get(Institution, identity.institution_id) if identity.institution_id else None
    acting = session.get(Institution, identity.acting_institution_id) if identity.acting_institution_id else None
    may_choose = allows(identity, P.INSTITUTION_MANAGE)
    return StartPagePlaces(institution, acting, list_institutions(session, identity)[0] if may_choose else [])


def institution_choices(session: Session, identity: Identity) -> list[Institution]:
    """Every institution `identity` may read, by code (for pickers)."""
    return list_institutions(session, identity)[0]


# --- history kinds and access-check objects -----------------------------------------------------


def consortium_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_consortium(session, identity, code).code, None)


def institution_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_institution(session, identity, code).code, None)

"""The operator's tenancy verbs (P-1) and institution parameters by code (P-2).

Consortia, institutions, libraries and fulfillment networks are named by stable upper-case codes.
Every verb takes the acting identity, fetches and authorizes through the permission map, changes
rows and records history (P-6) in the caller's transaction; the entry point commits. A code that is
unknown and a code outside the caller's tenancy answer alike (404); a visible thing the caller may
not change answers 403 with the reason (P-8).

The platform's history kinds and access-check object types are registered at the end of this module.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.explain import register_access_object
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, authorize, decide, where
from consortia.audit.registry import HistoryScope, register_history_kind
from consortia.audit.service import record
from consortia.db import Base
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.platform.models import (
    Consortium,
    FulfillmentNetwork,
    Institution,
    InstitutionEmailDomain,
    Library,
    User,
)
from consortia.platform.parameters import ParameterTarget, access_parameter, parameters_of, set_parameter
from consortia.platform.tenancy import acting_institution
from consortia.platform.users import access_user, has_control_characters

CODE_RULE = re.compile(r"[A-Z0-9_]{2,40}")
CODE_HINT = "use 2 to 40 characters: letters A-Z, digits 0-9 or underscores"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RULE = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
MAX_NAME = 200
MAX_DOMAINS = 50
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


def _name(value: str, what: str) -> str:
    name = value.strip()
    if not name:
        raise BadRequest(f"The {what} needs a name.", INVALID)
    if len(name) > MAX_NAME:
        raise BadRequest(f"The {what} name is longer than {MAX_NAME} characters.", INVALID)
    if has_control_characters(name):
        raise BadRequest(f"The {what} name holds control characters.", INVALID)
    return name


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if len(text) > limit:
        raise BadRequest(f"{field} is longer than {limit} characters.", INVALID)
    if has_control_characters(text):
        raise BadRequest(f"{field} holds control characters.", INVALID)
    return text


def _stable(given: str | None, current: str, what: str) -> None:
    """Codes never change: a body may repeat the code, not alter it."""
    if given is not None and given.strip().upper() != current:
        raise BadRequest(f"Codes are stable: the code of {what} {current} cannot be changed.", INVALID)


def _require(identity: Identity, permission: P) -> None:
    """403 with the policy's reason unless `permission` is granted (for creates, where no object exists yet)."""
    decision = decide(identity, permission, None)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def _page(
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


def _change(
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


def _created(
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
    return _page(session, Consortium, where(identity, P.CONSORTIUM_READ, Consortium), Consortium.code, limit, offset)


def create_consortium(
    session: Session, identity: Identity, *, code: str, name: str, parent_account: str = ""
) -> Consortium:
    _require(identity, P.CONSORTIUM_MANAGE)
    code = valid_code(code, "consortium")
    if session.scalar(select(Consortium.id).where(Consortium.code == code)) is not None:
        raise BadRequest(f"The consortium code {code} is already in use.", INVALID)
    consortium = Consortium(
        code=code,
        name=_name(name, "consortium"),
        parent_account=_text(parent_account, "parent_account", MAX_NAME),
    )
    session.add(consortium)
    session.flush()
    _created(
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
    _stable(new_code, consortium.code, "consortium")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name, "consortium")
    if parent_account is not None:
        changes["parent_account"] = _text(parent_account, "parent_account", MAX_NAME)
    for field, value in changes.items():
        _change(
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
    return _page(session, Institution, condition, Institution.code, limit, offset)


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
    _require(identity, P.INSTITUTION_MANAGE)
    code = valid_code(code, "institution")
    if session.scalar(select(Institution.id).where(Institution.code == code)) is not None:
        raise BadRequest(f"The institution code {code} is already in use.", INVALID)
    name = _name(name, "institution")
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
    _created(
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
    _stable(new_code, institution.code, "institution")
    new_name = None if name is None else _name(name, "institution")
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


def institution_choices(session: Session, identity: Identity) -> list[Institution]:
    """Every institution `identity` may read, by code (for pickers)."""
    return list_institutions(session, identity)[0]


# --- libraries ----------------------------------------------------------------------------------


def library_not_found(code: str) -> NotFound:
    return NotFound(f"Library {code.strip().upper()} was not found.", "402119")


def access_library(session: Session, identity: Identity, code: str, permission: P = P.LIBRARY_READ) -> Library:
    """The library with this code (codes are unique on the platform), checked for `permission`."""
    library = session.scalars(
        select(Library).where(Library.code == code.strip().upper()).options(selectinload(Library.institution))
    ).first()
    authorize(identity, permission, library, not_found=library_not_found(code))
    assert library is not None
    return library


def list_libraries(
    session: Session, identity: Identity, institution_code: str, *, limit: int | None = None, offset: int = 0
) -> tuple[Institution, list[Library], int]:
    """The libraries of one institution that `identity` may read, by code."""
    institution = access_institution(session, identity, institution_code, P.LIBRARY_READ)
    condition = and_(Library.institution_id == institution.id, where(identity, P.LIBRARY_READ, Library))
    rows, total = _page(session, Library, condition, Library.code, limit, offset)
    return institution, rows, total


def add_library(
    session: Session,
    identity: Identity,
    institution_code: str,
    *,
    code: str,
    name: str,
    campus: str = "",
    resource_sharing: bool = True,
) -> Library:
    """A new library of an institution; its code is unique on the whole platform."""
    institution = access_institution(session, identity, institution_code, P.LIBRARY_MANAGE)
    code = valid_code(code, "library")
    if session.scalar(select(Library.id).where(Library.code == code)) is not None:
        raise BadRequest(f"The library code {code} is already in use.", INVALID)
    library = Library(
        institution_id=institution.id,
        code=code,
        name=_name(name, "library"),
        campus=_text(campus, "campus", 100),
        resource_sharing=resource_sharing,
    )
    session.add(library)
    session.flush()
    _created(
        session,
        identity,
        "library",
        code,
        institution.id,
        code=code,
        name=library.name,
        campus=library.campus,
        resource_sharing=resource_sharing,
    )
    record(
        session,
        entity="institution",
        entity_id=institution.code,
        field="library",
        old=None,
        new=code,
        actor=identity.actor,
        institution_id=institution.id,
    )
    return library


# --- fulfillment networks -----------------------------------------------------------------------


def network_not_found(code: str) -> NotFound:
    return NotFound(f"Fulfillment network {code.strip().upper()} was not found.", "402119")


def access_network(
    session: Session, identity: Identity, code: str, permission: P = P.NETWORK_READ
) -> FulfillmentNetwork:
    """The fulfillment network with this code, with its members, checked for `permission`."""
    network = session.scalars(
        select(FulfillmentNetwork)
        .where(FulfillmentNetwork.code == code.strip().upper())
        .options(selectinload(FulfillmentNetwork.members))
    ).first()
    authorize(identity, permission, network, not_found=network_not_found(code))
    assert network is not None
    return network


def list_networks(
    session: Session, identity: Identity, *, limit: int | None = None, offset: int = 0
) -> tuple[list[FulfillmentNetwork], int]:
    """The fulfillment networks `identity` may read (the operator: all; staff: their institution's)."""
    return _page(
        session,
        FulfillmentNetwork,
        where(identity, P.NETWORK_READ, FulfillmentNetwork),
        FulfillmentNetwork.code,
        limit,
        offset,
    )


def _members(session: Session, identity: Identity, codes: Sequence[str]) -> list[Institution]:
    wanted: list[str] = []
    for code in codes:
        normal = code.strip().upper()
        if normal and normal not in wanted:
            wanted.append(normal)
    found = {
        i.code: i
        for i in session.scalars(
            select(Institution).where(Institution.code.in_(wanted), where(identity, P.INSTITUTION_READ, Institution))
        )
    }
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise BadRequest(f"Institution not found: {', '.join(unknown)}.", INVALID)
    return sorted(found.values(), key=lambda i: i.code)


def create_network(
    session: Session, identity: Identity, *, code: str, name: str, members: Sequence[str] = ()
) -> FulfillmentNetwork:
    """A new fulfillment network of the named institutions (independent of consortia)."""
    _require(identity, P.NETWORK_MANAGE)
    code = valid_code(code, "fulfillment network")
    if session.scalar(select(FulfillmentNetwork.id).where(FulfillmentNetwork.code == code)) is not None:
        raise BadRequest(f"The fulfillment network code {code} is already in use.", INVALID)
    network = FulfillmentNetwork(
        code=code, name=_name(name, "fulfillment network"), members=_members(session, identity, members)
    )
    session.add(network)
    session.flush()
    _created(
        session,
        identity,
        "network",
        code,
        None,
        code=code,
        name=network.name,
        members=[i.code for i in network.members],
    )
    return network


def update_network(
    session: Session, identity: Identity, code: str, *, name: str | None = None, new_code: str | None = None
) -> FulfillmentNetwork:
    network = access_network(session, identity, code, P.NETWORK_MANAGE)
    _stable(new_code, network.code, "fulfillment network")
    if name is not None:
        _change(
            session,
            identity,
            network,
            "name",
            _name(name, "fulfillment network"),
            entity="network",
            entity_id=network.code,
            institution_id=None,
        )
    return network


def set_network_members(session: Session, identity: Identity, code: str, members: Sequence[str]) -> FulfillmentNetwork:
    """Replace the members of a fulfillment network."""
    network = access_network(session, identity, code, P.NETWORK_MANAGE)
    new = _members(session, identity, members)
    old_codes = [i.code for i in network.members]
    new_codes = [i.code for i in new]
    if old_codes != new_codes:
        network.members = new
        record(
            session,
            entity="network",
            entity_id=network.code,
            field="members",
            old=old_codes,
            new=new_codes,
            actor=identity.actor,
            institution_id=None,
        )
        session.flush()
    return network


# --- parameters (P-2) ---------------------------------------------------------------------------


def institution_parameters(
    session: Session, identity: Identity, institution_code: str
) -> tuple[Institution, list[dict[str, Any]]]:
    """An institution's parameters with value, default and whether `identity` may change each."""
    institution = access_institution(session, identity, institution_code, P.PARAMETER_READ)
    return institution, parameters_of(session, identity, institution)


def set_institution_parameter(
    session: Session, identity: Identity, institution_code: str, name: str, value: Any
) -> dict[str, Any]:
    """Change one parameter (operator-only ones: the operator only), with history; answers its new row."""
    institution = access_institution(session, identity, institution_code, P.PARAMETER_READ)
    set_parameter(session, identity, institution, name, value)
    return next(row for row in parameters_of(session, identity, institution) if row["name"] == name)


# --- history kinds and access-check objects of the platform ------------------------------------


def _user(session: Session, identity: Identity, primary_id: str) -> User:
    return access_user(session, identity, primary_id, P.USER_READ, id_type="primary_id")


def _parameter(session: Session, identity: Identity, name: str) -> ParameterTarget:
    return access_parameter(identity, acting_institution(session, identity), name)


def _user_history(session: Session, identity: Identity, primary_id: str) -> HistoryScope:
    user = _user(session, identity, primary_id)
    return HistoryScope(user.primary_id, user.institution_id)


def _parameter_history(session: Session, identity: Identity, name: str) -> HistoryScope:
    target = _parameter(session, identity, name)
    return HistoryScope(target.definition.name, target.institution_id)


def _consortium_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_consortium(session, identity, code).code, None)


def _institution_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_institution(session, identity, code).code, None)


def _library_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_library(session, identity, code).code, None)


def _network_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_network(session, identity, code).code, None)


register_history_kind("user", _user_history)
register_history_kind("parameter", _parameter_history)
register_history_kind("consortium", _consortium_history)
register_history_kind("institution", _institution_history)
register_history_kind("library", _library_history)
register_history_kind("network", _network_history)

register_access_object("user", _user)
register_access_object("parameter", _parameter)
register_access_object("consortium", access_consortium)
register_access_object("institution", access_institution)
register_access_object("library", access_library)
register_access_object("network", access_network)

"""Libraries, fulfillment networks (P-1) and institution parameters by code (P-2); conventions in `common`.

The history kinds and access-check object types `library`, `network` and `parameter` are registered at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize, where
from consortia.audit.registry import HistoryScope, register_history_kind
from consortia.audit.service import record
from consortia.errors import BadRequest, NotFound
from consortia.platform.common import (
    INVALID,
    check_stable_code,
    page_of,
    record_created,
    require_permission,
    set_field,
    valid_code,
    valid_name,
    valid_text,
)
from consortia.platform.consortium_service import access_institution
from consortia.platform.explain import register_access_object
from consortia.platform.models import FulfillmentNetwork, Institution, Library
from consortia.platform.parameters import ParameterTarget, access_parameter, parameters_of, set_parameter

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
    rows, total = page_of(session, Library, condition, Library.code, limit, offset)
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
        name=valid_name(name, "library"),
        campus=valid_text(campus, "campus", 100),
        resource_sharing=resource_sharing,
    )
    session.add(library)
    session.flush()
    record_created(
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
    return page_of(
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
    require_permission(identity, P.NETWORK_MANAGE)
    code = valid_code(code, "fulfillment network")
    if session.scalar(select(FulfillmentNetwork.id).where(FulfillmentNetwork.code == code)) is not None:
        raise BadRequest(f"The fulfillment network code {code} is already in use.", INVALID)
    network = FulfillmentNetwork(
        code=code, name=valid_name(name, "fulfillment network"), members=_members(session, identity, members)
    )
    session.add(network)
    session.flush()
    record_created(
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
    check_stable_code(new_code, network.code, "fulfillment network")
    if name is not None:
        set_field(
            session,
            identity,
            network,
            "name",
            valid_name(name, "fulfillment network"),
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


# --- history kinds and access-check objects -----------------------------------------------------


def _parameter(session: Session, identity: Identity, name: str) -> ParameterTarget:
    return access_parameter(identity, acting_institution(session, identity), name)


def _parameter_history(session: Session, identity: Identity, name: str) -> HistoryScope:
    target = _parameter(session, identity, name)
    return HistoryScope(target.definition.name, target.institution_id)


def _library_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_library(session, identity, code).code, None)


def _network_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_network(session, identity, code).code, None)


register_history_kind("parameter", _parameter_history)
register_history_kind("library", _library_history)
register_history_kind("network", _network_history)

register_access_object("parameter", _parameter)
register_access_object("library", access_library)
register_access_object("network", access_network)

"""Fulfillment networks of the platform (P-1): groups of institutions, independent of consortia, that the
operator makes and changes by code (conventions in `common`). Not the collaborative networks domain
(`consortia.network`), which builds its linked accounts on them.

The history kind and access-check object type `network` are at the end (handed over in `platform.domain`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize, where
from consortia.audit.registry import HistoryScope
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
)
from consortia.platform.models import FulfillmentNetwork, Institution


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


# --- history kind and access-check object -------------------------------------------------------


def network_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_network(session, identity, code).code, None)

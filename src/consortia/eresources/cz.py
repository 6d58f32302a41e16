"""The Community Zone catalogue (the operator's) and activating from it (ER-23).

Activation creates the institution's own copy at institution level: the collection without a library,
one service, a record and a portfolio per CZ portfolio, each linked to its CZ original. The activating
user's scope library is never put on it, so a library-scoped user may then be unable to edit what they
activated (as the seed says). A CZ collection is activated once per institution; activating one of its
portfolios activates the collection (without its other portfolios) when it is not active yet.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, demand
from consortia.audit.service import record
from consortia.db import today, utcnow
from consortia.eresources.models import (
    AVAILABLE,
    COLLECTION_TYPES,
    CzCollection,
    CzPortfolio,
    ElectronicCollection,
    ElectronicService,
    Portfolio,
)
from consortia.eresources.policy import COLLECTION, PORTFOLIO
from consortia.eresources.schemas import CzCollectionIn
from consortia.eresources.service import bib_for_title
from consortia.eresources.task_items import add_activation_item, add_cz_update_items
from consortia.eresources.task_models import (
    ACTIVATED_FROM_CZ,
    COLLECTION_DELETED,
    COLLECTION_UPDATED,
    PORTFOLIO_DELETED,
    PORTFOLIO_UPDATED,
)
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.platform.models import Institution


def cz_collection_not_found(cid: str | int) -> NotFound:
    return NotFound(f"Community Zone collection {cid} was not found.", "60121")


def cz_portfolio_not_found(pid: str | int) -> NotFound:
    return NotFound(f"Community Zone portfolio {pid} was not found.", "60123")


def _id(value: str | int) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def cz_collections(session: Session, identity: Identity) -> list[CzCollection]:
    demand(identity, P.ERESOURCE_READ, InInstitution(identity.acting_institution_id))
    return list(
        session.scalars(select(CzCollection).options(selectinload(CzCollection.portfolios)).order_by(CzCollection.id))
    )


def activated_ids(session: Session, institution_id: int | None) -> set[int]:
    if institution_id is None:
        return set()
    return {
        i
        for i in session.scalars(
            select(ElectronicCollection.cz_collection_id).where(
                ElectronicCollection.institution_id == institution_id,
                ElectronicCollection.cz_collection_id.is_not(None),
            )
        )
        if i is not None
    }


def create_cz_collection(session: Session, identity: Identity, body: CzCollectionIn) -> CzCollection:
    demand(identity, P.CZ_MANAGE)
    if body.type not in COLLECTION_TYPES:
        raise BadRequest(f"type: {body.type!r} is not valid; use one of: {', '.join(COLLECTION_TYPES)}.", "60127")
    collection = CzCollection(
        public_name=body.public_name,
        description=body.description,
        type=body.type,
        interface_name=body.interface.name if body.interface else "",
        vendor=body.interface.vendor if body.interface else "",
        created_at=utcnow(),
    )
    collection.portfolios = [
        CzPortfolio(title=p.title, issn=p.issn, isbn=p.isbn, coverage=p.coverage) for p in body.portfolios
    ]
    session.add(collection)
    session.flush()
    return collection


def access_cz_collection(session: Session, identity: Identity, cid: str | int) -> CzCollection:
    demand(identity, P.ERESOURCE_READ, InInstitution(identity.acting_institution_id))
    number = _id(cid)
    found = session.get(CzCollection, number) if number is not None else None
    if found is None:
        raise cz_collection_not_found(cid)
    return found


def _local_copy(session: Session, institution_id: int, cz: CzCollection) -> ElectronicCollection | None:
    return session.scalars(
        select(ElectronicCollection).where(
            ElectronicCollection.institution_id == institution_id, ElectronicCollection.cz_collection_id == cz.id
        )
    ).first()


def _activate_collection(
    session: Session, identity: Identity, institution: Institution, cz: CzCollection
) -> tuple[ElectronicCollection, ElectronicService]:
    collection = ElectronicCollection(
        institution_id=institution.id,
        public_name=cz.public_name,
        description=cz.description,
        type=cz.type,
        library_id=None,  # ER-23: institution level, whatever the activating user's scope
        is_local=False,
        activation_status=AVAILABLE,
        activation_date=today(),
        interface_name=cz.interface_name,
        vendor=cz.vendor,
        cz_collection_id=cz.id,
    )
    session.add(collection)
    session.flush()
    service = ElectronicService(institution_id=institution.id, collection_id=collection.id, type="getFullTxt")
    session.add(service)
    session.flush()
    record(
        session,
        entity=COLLECTION,
        entity_id=collection.id,
        field="activated",
        old=None,
        new=f"Community Zone collection {cz.id}",
        actor=identity.actor,
        institution_id=institution.id,
    )
    return collection, service


def _activate_portfolio(
    session: Session,
    identity: Identity,
    institution: Institution,
    cz: CzPortfolio,
    collection: ElectronicCollection,
    service: ElectronicService,
) -> Portfolio:
    bib = bib_for_title(session, institution.id, cz.title, issn=cz.issn, isbn=cz.isbn, actor=identity.actor)
    portfolio = Portfolio(
        institution_id=institution.id,
        bib_id=bib.id,
        collection_id=collection.id,
        service_id=service.id,
        library_id=None,
        title=bib.title,
        issn=cz.issn,
        isbn=cz.isbn,
        coverage=cz.coverage,
        is_local=False,
        cz_portfolio_id=cz.id,
        activation_date=today(),
    )
    session.add(portfolio)
    session.flush()
    record(
        session,
        entity=PORTFOLIO,
        entity_id=portfolio.id,
        field="activated",
        old=None,
        new=f"Community Zone portfolio {cz.id}",
        actor=identity.actor,
        institution_id=institution.id,
    )
    return portfolio


def activate_collection(
    session: Session, identity: Identity, institution: Institution, cz: CzCollection
) -> ElectronicCollection:
    demand(identity, P.CZ_ACTIVATE, InInstitution(institution.id))
    if _local_copy(session, institution.id, cz) is not None:
        raise Conflict(f"{cz.public_name} is already activated in {institution.code}.")
    collection, service = _activate_collection(session, identity, institution, cz)
    for cz_portfolio in cz.portfolios:
        _activate_portfolio(session, identity, institution, cz_portfolio, collection, service)
    add_activation_item(session, ACTIVATED_FROM_CZ, collection, identity.actor)  # ER-15
    session.flush()
    return collection


def activate_portfolio(session: Session, identity: Identity, institution: Institution, pid: str | int) -> Portfolio:
    demand(identity, P.CZ_ACTIVATE, InInstitution(institution.id))
    number = _id(pid)
    cz = session.get(CzPortfolio, number) if number is not None else None
    if cz is None:
        raise cz_portfolio_not_found(pid)
    collection = _local_copy(session, institution.id, cz.collection)
    if collection is None:
        collection, service = _activate_collection(session, identity, institution, cz.collection)
    else:
        if session.scalar(
            select(Portfolio.id).where(Portfolio.collection_id == collection.id, Portfolio.cz_portfolio_id == cz.id)
        ):
            raise Conflict(f"{cz.title} is already activated in {institution.code}.")
        service = session.scalars(
            select(ElectronicService)
            .where(ElectronicService.collection_id == collection.id)
            .order_by(ElectronicService.id)
        ).first() or ElectronicService(institution_id=institution.id, collection_id=collection.id, type="getFullTxt")
        session.add(service)
        session.flush()
    portfolio = _activate_portfolio(session, identity, institution, cz, collection, service)
    add_activation_item(session, ACTIVATED_FROM_CZ, portfolio, identity.actor)  # ER-15
    return portfolio


# --- the operator changes the catalogue: items in the CZ Updates Task Lists (ER-14) -------------


def _copies_of_portfolio(session: Session, cz: CzPortfolio) -> list[Portfolio]:
    return list(session.scalars(select(Portfolio).where(Portfolio.cz_portfolio_id == cz.id).order_by(Portfolio.id)))


def _copies_of_collection(session: Session, cz: CzCollection) -> list[ElectronicCollection]:
    return list(
        session.scalars(
            select(ElectronicCollection)
            .where(ElectronicCollection.cz_collection_id == cz.id)
            .order_by(ElectronicCollection.id)
        )
    )


def access_cz_portfolio(session: Session, identity: Identity, pid: str | int) -> CzPortfolio:
    demand(identity, P.ERESOURCE_READ, InInstitution(identity.acting_institution_id))
    number = _id(pid)
    found = session.get(CzPortfolio, number) if number is not None else None
    if found is None:
        raise cz_portfolio_not_found(pid)
    return found


def update_cz_portfolio(session: Session, identity: Identity, cz: CzPortfolio, changes: dict[str, str]) -> CzPortfolio:
    """Change a Community Zone portfolio; every institution's copy gets a "Portfolio updated in CZ" item."""
    demand(identity, P.CZ_MANAGE)
    changed = False
    for field_name, value in changes.items():
        if value is not None and getattr(cz, field_name) != value:
            setattr(cz, field_name, value)
            changed = True
    if changed:
        add_cz_update_items(session, PORTFOLIO_UPDATED, _copies_of_portfolio(session, cz), identity.actor)
    session.flush()
    return cz


def delete_cz_portfolio(session: Session, identity: Identity, cz: CzPortfolio) -> None:
    """Remove a Community Zone portfolio; copies stay (unlinked) with a "Portfolio deleted in CZ" item."""
    demand(identity, P.CZ_MANAGE)
    add_cz_update_items(session, PORTFOLIO_DELETED, _copies_of_portfolio(session, cz), identity.actor)
    session.delete(cz)
    session.flush()


def update_cz_collection(
    session: Session, identity: Identity, cz: CzCollection, changes: dict[str, str]
) -> CzCollection:
    demand(identity, P.CZ_MANAGE)
    changed = False
    for field_name, value in changes.items():
        if value is not None and getattr(cz, field_name) != value:
            setattr(cz, field_name, value)
            changed = True
    if changed:
        add_cz_update_items(session, COLLECTION_UPDATED, _copies_of_collection(session, cz), identity.actor)
    session.flush()
    return cz


def delete_cz_collection(session: Session, identity: Identity, cz: CzCollection) -> None:
    """Remove a Community Zone collection with its portfolios; each institution's copy stays (unlinked) with
    a "Collection deleted in CZ" item."""
    demand(identity, P.CZ_MANAGE)
    add_cz_update_items(session, COLLECTION_DELETED, _copies_of_collection(session, cz), identity.actor)
    session.delete(cz)
    session.flush()

"""The service editor's verbs on its portfolios (ER-12): Activate/Deactivate, Remove, Duplicate, Add,
Delete Selected. Each takes the actor, checks the one scope rule through `authorize` (a row action is
editing, or deleting, that portfolio; a table action is editing the service), changes, and writes
history in the caller's transaction; the entry point commits.

A set of portfolios (Activate/Deactivate, Delete Selected) is checked whole before anything changes: one
portfolio out of scope refuses the lot (403) and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, demand
from consortia.audit.service import record
from consortia.db import today, utcnow
from consortia.eresources import service as inventory
from consortia.eresources.models import AVAILABILITY, ElectronicService, Portfolio
from consortia.eresources.policy import PORTFOLIO
from consortia.errors import BadRequest
from consortia.platform.models import Institution

MAX_SELECTION = 200


def _authorized(session: Session, identity: Identity, portfolio: Portfolio, permission: P) -> None:
    authorize(
        identity,
        permission,
        inventory.scoped(session, portfolio),
        not_found=inventory.portfolio_not_found(portfolio.id),
    )


def _record(session: Session, portfolio: Portfolio, field: str, old: object, new: object, identity: Identity) -> None:
    record(
        session,
        entity=PORTFOLIO,
        entity_id=portfolio.id,
        field=field,
        old=old,
        new=new,
        actor=identity.actor,
        institution_id=portfolio.institution_id,
    )


def set_portfolio_availability(session: Session, identity: Identity, portfolio: Portfolio, availability: str) -> None:
    """Activate ("11") or deactivate ("10") a portfolio (the row action Deactivate, the table action
    Activate/Deactivate)."""
    if availability not in AVAILABILITY:
        raise BadRequest(
            f"availability: {availability!r} is not valid; use one of: {', '.join(AVAILABILITY)}.", "60161"
        )
    _authorized(session, identity, portfolio, P.PORTFOLIO_EDIT)
    if portfolio.availability == availability:
        return
    _record(session, portfolio, "availability", portfolio.availability, availability, identity)
    portfolio.availability = availability
    portfolio.updated_at = utcnow()
    session.flush()


def remove_portfolio(session: Session, identity: Identity, portfolio: Portfolio) -> None:
    """Remove a portfolio from its electronic collection: it becomes standalone. A portfolio that
    inherited its collection's library keeps it as its own, so its effective library (ER-3), and who may
    edit it, stay the same."""
    _authorized(session, identity, portfolio, P.PORTFOLIO_EDIT)
    collection = portfolio.collection
    if collection is None:
        raise BadRequest("portfolio: a standalone portfolio is in no electronic collection to be removed from.")
    if collection.library_id is not None and portfolio.library_id != collection.library_id:
        old = portfolio.library.code if portfolio.library else None
        _record(session, portfolio, "library", old, collection.library.code if collection.library else None, identity)
        portfolio.library_id = collection.library_id
        portfolio.library = collection.library
    _record(session, portfolio, "electronic_collection", collection.public_name, None, identity)
    portfolio.collection_id = None
    portfolio.service_id = None
    portfolio.collection = None
    portfolio.updated_at = utcnow()
    session.flush()


def duplicate_portfolio(session: Session, identity: Identity, portfolio: Portfolio) -> Portfolio:
    """A copy of a portfolio in the same service, of the same record, with the same own library (so the
    same effective library: the copy is in scope wherever the original is) and the same coverage and
    availability. The copy is a local portfolio and goes into the Activation Task List."""
    _authorized(session, identity, portfolio, P.PORTFOLIO_EDIT)
    demand(identity, P.PORTFOLIO_CREATE, InInstitution(portfolio.institution_id))
    now = utcnow()
    copy = Portfolio(
        institution_id=portfolio.institution_id,
        bib_id=portfolio.bib_id,
        collection_id=portfolio.collection_id,
        service_id=portfolio.service_id,
        library_id=portfolio.library_id,
        title=portfolio.title,
        issn=portfolio.issn,
        isbn=portfolio.isbn,
        availability=portfolio.availability,
        coverage=portfolio.coverage,
        po_line=portfolio.po_line,
        license=portfolio.license,
        is_local=True,
        activation_date=today(),
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    session.refresh(copy)
    _record(session, copy, "created", None, copy.title, identity)
    _record(session, copy, "duplicated_from", None, str(portfolio.id), identity)
    inventory.put_in_activation_list(session, copy, identity.actor)
    return copy


def add_service_portfolio(
    session: Session, identity: Identity, service: ElectronicService, *, title: str, coverage: str = ""
) -> Portfolio:
    """The table action Add: a local portfolio of a new record with `title`, in this service; it inherits
    the collection's library (or has none). Adding to the service is editing it (ER-12)."""
    authorize(
        identity, P.SERVICE_EDIT, inventory.scoped(session, service), not_found=inventory.service_not_found(service.id)
    )
    if not title.strip():
        raise BadRequest("title: The portfolio's title is missing.")
    institution = session.get(Institution, service.institution_id)
    assert institution is not None
    bib = inventory.bib_for_title(session, institution.id, title.strip(), actor=identity.actor)
    return inventory.create_portfolio(
        session,
        identity,
        institution,
        bib,
        inventory.PortfolioChange(
            coverage=coverage, collection_id=str(service.collection_id), service_id=str(service.id)
        ),
    )


def selected_portfolios(
    session: Session, identity: Identity, service: ElectronicService, ids: Iterable[str], permission: P
) -> list[Portfolio]:
    """The selected portfolios of a service, each fetched and checked for `permission` before any is
    changed (an unknown id, or one of another service, is 404; one out of scope, 403)."""
    wanted = list(dict.fromkeys(i for i in ids if str(i).strip()))
    if not wanted:
        raise BadRequest("portfolio: select at least one portfolio.")
    if len(wanted) > MAX_SELECTION:
        raise BadRequest(f"portfolio: select at most {MAX_SELECTION} portfolios at a time.")
    return [inventory.access_portfolio(session, identity, pid, permission, service_id=service.id) for pid in wanted]


def set_availability_of(
    session: Session, identity: Identity, service: ElectronicService, ids: Iterable[str], availability: str
) -> int:
    """The table action Activate/Deactivate over the selected portfolios; answers how many changed."""
    portfolios = selected_portfolios(session, identity, service, ids, P.PORTFOLIO_EDIT)
    changed = 0
    for portfolio in portfolios:
        if portfolio.availability != availability:
            changed += 1
        set_portfolio_availability(session, identity, portfolio, availability)
    return changed


def delete_selected(session: Session, identity: Identity, service: ElectronicService, ids: Iterable[str]) -> int:
    """Delete Selected (Extended, ER-6, ER-12): every selected portfolio, or none."""
    portfolios = selected_portfolios(session, identity, service, ids, P.PORTFOLIO_DELETE)
    for portfolio in portfolios:
        inventory.delete_portfolio(session, identity, portfolio)
    return len(portfolios)


def move_portfolios(
    session: Session,
    identity: Identity,
    service: ElectronicService,
    ids: Iterable[str],
    collection_id: str,
    service_id: str | None = None,
) -> int:
    """Move (a row) and Move set of Portfolios (the table): the selected portfolios of `service` go to a
    service of a collection in the caller's scope (ER-9's choice: 400 otherwise). Each portfolio follows
    the library rule of ER-3: in a collection with a library it keeps no library of its own; leaving a
    collection's library for a collection without one, it keeps that library as its own, so its effective
    library does not silently become institution level. Answers how many moved."""
    portfolios = selected_portfolios(session, identity, service, ids, P.PORTFOLIO_EDIT)
    institution_id = service.institution_id
    target, target_service = inventory.collection_in_scope(session, identity, institution_id, collection_id, service_id)
    moved = 0
    for portfolio in portfolios:
        if portfolio.service_id == target_service.id:
            continue
        old = portfolio.collection
        code = portfolio.library.code if portfolio.library else None
        if target.library_id is not None and portfolio.library_id is not None:
            _record(session, portfolio, "library", code, None, identity)
            portfolio.library_id = None
            portfolio.library = None
        elif target.library_id is None and old is not None and old.library_id is not None:
            inherited = old.library.code if old.library else None
            if portfolio.library_id != old.library_id:
                _record(session, portfolio, "library", code, inherited, identity)
                portfolio.library_id = old.library_id
                portfolio.library = old.library
        _record(
            session, portfolio, "electronic_collection", old.public_name if old else None, target.public_name, identity
        )
        _record(session, portfolio, "electronic_service", portfolio.service_id, target_service.id, identity)
        portfolio.collection_id = target.id
        portfolio.service_id = target_service.id
        portfolio.collection = target
        portfolio.updated_at = utcnow()
        moved += 1
    session.flush()
    return moved

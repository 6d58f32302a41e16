"""Searches and editors (ER-10 .. ER-13, ER-16): what the search pages and the editors show, and what the
caller may do there, all from the one scope rule of `eresources.policy`.

A search lists every resource of the institution the caller may read (R-3), with the "Library" facet
(each portfolio counted under its effective library, ER-3) and, per result, the actions the rule
allows. `editable=True` narrows to what the caller may edit, with the rule's SQL face. Counting: no
exact COUNT(*) over millions on the page path (N-1), in the searches and the service and collection
editors alike: the total is bounded by `count_cap` (the page's "more than 1,000"), and one row beyond
the page tells whether there is a next one. A chooser lists its first choices and says when there are
more (`Chooser`). The facet groups
the institution's portfolios by (collection, own library) first, over the index, and joins the few
groups to their collections, so it never joins millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, demand
from consortia.eresources import policy as scope
from consortia.eresources.models import BibRecord, ElectronicCollection, ElectronicService, Portfolio
from consortia.eresources.policy import COLLECTION, PORTFOLIO, Scoped
from consortia.eresources.service import (
    attach_warning,
    libraries_of,
    library_choices,
    list_services,
    no_library_choice,
    rows_scope,
    scoped,
)
from consortia.errors import BadRequest
from consortia.platform.models import Institution, Library

PAGE_COUNT_CAP = 1000
API_COUNT_CAP = 1000


@dataclass
class Result:
    resource: Any
    scoped: Scoped
    actions: list[str]


@dataclass
class FacetValue:
    library: Library | None
    count: int


@dataclass
class SearchPage:
    results: list[Result]
    total: int
    exact: bool
    has_next: bool
    facets: list[FacetValue] = field(default_factory=list)
    # ER-10: a column is shown only when some result has a value in it.
    show_library: bool = False
    show_collection_library: bool = False


def _library_filter(session: Session, institution: Institution, code: str | None) -> int | None:
    if code is None or not code.strip():
        return None
    wanted = code.strip().upper()
    found = next((lib for lib in libraries_of(session, institution.id).values() if lib.code == wanted), None)
    if found is None:
        raise BadRequest(f"library: The library code is not valid: {code}.", "402469")
    return found.id


def _bounded(session: Session, query: Select[Any], cap: int | None) -> tuple[int, bool]:
    counted = query.with_only_columns(literal(1)).order_by(None)
    if cap is not None:
        counted = counted.limit(cap + 1)
    total = int(session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    if cap is not None and total > cap:
        return cap, False
    return total, True


def _text(column: Any, q: str) -> ColumnElement[bool]:
    return func.lower(column).contains(q.strip().lower(), autoescape=True)


def search_portfolios(
    session: Session,
    identity: Identity,
    institution: Institution,
    *,
    q: str | None = None,
    library: str | None = None,
    editable: bool = False,
    limit: int = 50,
    offset: int = 0,
    facets: bool = True,
    count_cap: int | None = PAGE_COUNT_CAP,
) -> SearchPage:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    rows = rows_scope(session, PORTFOLIO, institution.id, Portfolio)
    condition: list[ColumnElement[bool]] = [Portfolio.institution_id == institution.id]
    if q and q.strip():
        condition.append(_text(Portfolio.title, q))
    library_id = _library_filter(session, institution, library)
    if library_id is not None:
        condition.append(rows.effective_library == library_id)
    if editable:
        condition.append(scope.editable_rows(identity, rows))
    base = (
        select(Portfolio.id)
        .outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
        .where(*condition)
    )
    rows_found = list(
        session.scalars(
            select(Portfolio)
            .outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
            .where(*condition)
            .order_by(Portfolio.id)
            .limit(limit + 1)
            .offset(offset)
        ).unique()
    )
    has_next = len(rows_found) > limit
    results = []
    for portfolio in rows_found[:limit]:
        target = scoped(session, portfolio)
        results.append(Result(portfolio, target, scope.actions_for(identity, target)))
    total, exact = _bounded(session, base, count_cap)
    if offset + len(results) > total:
        total, exact = offset + len(results), exact
    page = SearchPage(results, total, exact, has_next)
    page.show_library = any(r.resource.library_id is not None for r in results)
    page.show_collection_library = any(
        r.resource.collection is not None and r.resource.collection.library_id is not None for r in results
    )
    if facets:
        page.facets = portfolio_facet(session, institution, q=q)
    return page


def portfolio_facet(session: Session, institution: Institution, *, q: str | None = None) -> list[FacetValue]:
    """The "Library" facet (ER-10): portfolios per effective library (ER-3's SQL face), most first."""
    condition: list[ColumnElement[bool]] = [Portfolio.institution_id == institution.id]
    if q and q.strip():
        condition.append(_text(Portfolio.title, q))
    groups = (
        select(Portfolio.collection_id, Portfolio.library_id, func.count().label("n"))
        .where(*condition)
        .group_by(Portfolio.collection_id, Portfolio.library_id)
        .subquery()
    )
    effective = scope.effective_library_sql(groups.c.library_id)
    rows = session.execute(
        select(effective.label("library_id"), func.sum(groups.c.n))
        .select_from(groups)
        .outerjoin(ElectronicCollection, ElectronicCollection.id == groups.c.collection_id)
        .group_by(effective)
    ).all()
    libraries = libraries_of(session, institution.id)
    values = [FacetValue(libraries.get(lib) if lib is not None else None, int(n)) for lib, n in rows if n]
    values.sort(key=lambda v: (-v.count, v.library.code if v.library else ""))
    return [v for v in values if v.library is not None]


def search_collections(
    session: Session,
    identity: Identity,
    institution: Institution,
    *,
    q: str | None = None,
    library: str | None = None,
    editable: bool = False,
    limit: int = 50,
    offset: int = 0,
    count_cap: int | None = PAGE_COUNT_CAP,
) -> SearchPage:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    rows = rows_scope(session, COLLECTION, institution.id, ElectronicCollection)
    condition: list[ColumnElement[bool]] = [ElectronicCollection.institution_id == institution.id]
    if q and q.strip():
        condition.append(_text(ElectronicCollection.public_name, q))
    library_id = _library_filter(session, institution, library)
    if library_id is not None:
        condition.append(ElectronicCollection.library_id == library_id)
    if editable:
        condition.append(scope.editable_rows(identity, rows))
    base = select(ElectronicCollection.id).where(*condition)
    ids = list(session.scalars(base.order_by(ElectronicCollection.id).limit(limit + 1).offset(offset)))
    has_next = len(ids) > limit
    ids = ids[:limit]
    found = (
        {c.id: c for c in session.scalars(select(ElectronicCollection).where(ElectronicCollection.id.in_(ids)))}
        if ids
        else {}
    )
    results = []
    for cid in ids:
        target = scoped(session, found[cid])
        results.append(Result(found[cid], target, scope.actions_for(identity, target)))
    total, exact = _bounded(session, base, count_cap)
    page = SearchPage(results, max(total, offset + len(results)), exact, has_next)
    page.show_library = any(r.resource.library_id is not None for r in results)
    page.facets = collection_facet(session, institution, q=q)
    return page


def collection_result(session: Session, identity: Identity, collection: ElectronicCollection) -> Result:
    """One collection as a search result, with the actions the caller may take on it."""
    target = scoped(session, collection)
    return Result(collection, target, scope.actions_for(identity, target))


def collection_facet(session: Session, institution: Institution, *, q: str | None = None) -> list[FacetValue]:
    """The "Library" facet of the collection search (ER-10): collections per library, over the same name
    search as the results (the facet's own choice aside, as in `portfolio_facet`), most first."""
    condition: list[ColumnElement[bool]] = [
        ElectronicCollection.institution_id == institution.id,
        ElectronicCollection.library_id.is_not(None),
    ]
    if q and q.strip():
        condition.append(_text(ElectronicCollection.public_name, q))
    rows = session.execute(
        select(ElectronicCollection.library_id, func.count())
        .where(*condition)
        .group_by(ElectronicCollection.library_id)
    ).all()
    libraries = libraries_of(session, institution.id)
    return sorted(
        (FacetValue(libraries[lib], int(n)) for lib, n in rows if lib in libraries),
        key=lambda v: (-v.count, v.library.code if v.library else ""),
    )


# --- editors ----------------------------------------------------------------------------------


@dataclass
class EditorState:
    """How an editor opens (ER-11 .. ER-13): EDIT or VIEW (with the message), which library fields it
    shows and whether the library can be chosen, and the choices."""

    mode: str
    message: str | None
    library_visible: bool
    library_editable: bool
    collection_library_visible: bool
    library_choices: list[Library]
    can_delete: bool
    # ER-7, ER-8: "None" (institution level) is offered only where the roles reach institution level.
    library_none: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "message": self.message,
            "fields": {
                "library": {"visible": self.library_visible, "editable": self.library_editable},
                "electronic_collection_library": {"visible": self.collection_library_visible},
            },
            "library_choices": [{"value": lib.code, "desc": lib.name} for lib in self.library_choices],
            "library_none_choice": self.library_none,
        }


def editor_state(session: Session, identity: Identity, resource: Any) -> EditorState:
    target = scoped(session, resource)
    editable = scope.can_edit(identity, target)
    choices = library_choices(session, identity, resource.institution_id) if editable else []
    none = editable and no_library_choice(session, identity, resource.institution_id)
    if isinstance(resource, Portfolio):
        inherited = resource.collection is not None and resource.collection.library_id is not None
        return EditorState(
            mode="EDIT" if editable else "VIEW",
            message=None if editable else scope.VIEW_MODE_MESSAGE,
            # ER-8: the collection's library replaces the portfolio's own field; standalone ones never show it.
            library_visible=not inherited,
            library_editable=editable and not inherited,
            collection_library_visible=inherited,
            library_choices=[] if inherited else choices,
            can_delete=scope.can_delete(identity, target),
            library_none=none and not inherited,
        )
    return EditorState(
        mode="EDIT" if editable else "VIEW",
        message=None if editable else scope.VIEW_MODE_MESSAGE,
        library_visible=isinstance(resource, ElectronicCollection),
        library_editable=editable and isinstance(resource, ElectronicCollection),
        collection_library_visible=isinstance(resource, ElectronicService),
        library_choices=choices if isinstance(resource, ElectronicCollection) else [],
        can_delete=scope.can_delete(identity, target),
        library_none=none and isinstance(resource, ElectronicCollection),
    )


# ER-12: the service editor's actions; those marked Extended need the delete rule.
ROW_ACTIONS = ("edit", "move", "remove", "duplicate", "deactivate")
TABLE_ACTIONS = (
    "link_local_portfolios_to_community",
    "move_set_of_portfolios",
    "activate_deactivate",
    "load_portfolios",
    "add",
)


@dataclass
class ServiceEditor:
    service: ElectronicService
    state: EditorState
    rows: list[Result]
    total: int  # bounded like the searches' (N-1): `exact` is False beyond the cap
    exact: bool
    has_next: bool
    table_actions: list[str]
    library_filter: list[Library]  # "All" and these: the libraries in the Library column


def service_editor(
    session: Session,
    identity: Identity,
    service: ElectronicService,
    *,
    library: str | None = None,
    limit: int = 50,
    offset: int = 0,
    count_cap: int | None = PAGE_COUNT_CAP,
) -> ServiceEditor:
    """The service editor (ER-12): the portfolio list with per-row actions, the table actions, the
    Library filter (All + the values of the Library column: portfolio-level libraries only).

    An aggregator's service holds a million portfolios: the total is counted up to `count_cap` (as in
    the searches), one row beyond the page tells whether there is a next one, and the filter's values
    are found library by library over `ix_portfolio_service_library`, never by reading the service's
    portfolios."""
    state = editor_state(session, identity, service)
    target = scoped(session, service)
    editable = scope.can_edit(identity, target)
    deletable = scope.can_delete(identity, target)
    condition = [Portfolio.service_id == service.id]
    if library and library.strip().upper() not in {"", "ALL"}:
        library_id = _library_filter(session, _institution_of(session, service), library)
        condition.append(Portfolio.library_id == library_id)
    portfolios = list(
        session.scalars(select(Portfolio).where(*condition).order_by(Portfolio.id).limit(limit + 1).offset(offset))
    )
    has_next = len(portfolios) > limit
    rows = []
    for portfolio in portfolios[:limit]:
        row_target = scoped(session, portfolio)
        actions = [a for a in ROW_ACTIONS if scope.can_edit(identity, row_target)]
        if scope.can_delete(identity, row_target):
            actions.append("delete")
        rows.append(Result(portfolio, row_target, actions))
    total, exact = _bounded(session, select(Portfolio.id).where(*condition), count_cap)
    total = max(total, offset + len(rows))
    table = list(TABLE_ACTIONS) if editable else []
    if deletable:
        table.append("delete_selected")
    return ServiceEditor(service, state, rows, total, exact, has_next, table, service_libraries(session, service))


def service_libraries(session: Session, service: ElectronicService) -> list[Library]:
    """The libraries some portfolio of `service` has as its own, by code: for each library of the
    institution (a few), whether one such portfolio exists (an index seek each)."""
    used = exists().where(Portfolio.service_id == service.id, Portfolio.library_id == Library.id)
    ids = set(session.scalars(select(Library.id).where(Library.institution_id == service.institution_id, used)))
    libraries = libraries_of(session, service.institution_id)
    return sorted((libraries[i] for i in ids if i in libraries), key=lambda lib: lib.code)


def _institution_of(session: Session, resource: Any) -> Institution:
    institution = session.get(Institution, resource.institution_id)
    assert institution is not None
    return institution


@dataclass
class ServiceRow:
    """A row of the collection editor's services table: its portfolios counted up to the cap."""

    service: ElectronicService
    portfolios: int
    exact: bool
    actions: list[str]


@dataclass
class CollectionEditor:
    collection: ElectronicCollection
    state: EditorState
    services: list[ServiceRow]


def collection_editor(
    session: Session,
    identity: Identity,
    collection: ElectronicCollection,
    *,
    count_cap: int | None = PAGE_COUNT_CAP,
) -> CollectionEditor:
    """ER-11: the collection editor; the services table's Delete row action needs Extended. Each
    service's portfolios are counted up to `count_cap` (an aggregator's service has a million)."""
    state = editor_state(session, identity, collection)
    rows = []
    for service in list_services(session, collection):
        target = scoped(session, service)
        actions = ["edit"] if scope.can_edit(identity, target) else []
        if scope.can_delete(identity, target):
            actions.append("delete")
        count, exact = _bounded(session, select(Portfolio.id).where(Portfolio.service_id == service.id), count_cap)
        rows.append(ServiceRow(service, count, exact, actions))
    return CollectionEditor(collection, state, rows)


@dataclass
class Inventory:
    """ER-16: a record's Portfolios and Electronic collection tabs."""

    bib: BibRecord
    portfolios: list[Result]
    collections: list[Result]
    add_local_portfolio: bool


def bib_inventory(session: Session, identity: Identity, bib: BibRecord) -> Inventory:
    portfolios = list(session.scalars(select(Portfolio).where(Portfolio.bib_id == bib.id).order_by(Portfolio.id)))
    collections = list(
        session.scalars(
            select(ElectronicCollection)
            .where(
                ElectronicCollection.institution_id == bib.institution_id,
                (ElectronicCollection.bib_id == bib.id)
                | ElectronicCollection.id.in_(
                    select(Portfolio.collection_id).where(
                        Portfolio.bib_id == bib.id, Portfolio.collection_id.is_not(None)
                    )
                ),
            )
            .order_by(ElectronicCollection.id)
        )
    )

    def result(resource: Any) -> Result:
        target = scoped(session, resource)
        # ER-16: Edit and Delete (Extended) only in scope; no Add here.
        actions = [a for a in scope.actions_for(identity, target) if a != "add"]
        return Result(resource, target, actions)

    return Inventory(
        bib,
        [result(p) for p in portfolios],
        [result(c) for c in collections],
        # ER-16: Add Local Portfolio is enabled regardless of scope (for those who may add portfolios at all).
        add_local_portfolio=allows(identity, P.PORTFOLIO_CREATE, InInstitution(bib.institution_id)),
    )


@dataclass
class CollectionChoice:
    collection: ElectronicCollection
    selectable: bool
    warning: str | None


@dataclass
class Chooser:
    """A chooser's first `limit` choices by name; `more` when there are others (the page says so and
    offers the name search `q` that narrows the list: nothing is cut off silently)."""

    choices: list[CollectionChoice]
    limit: int
    more: bool
    q: str = ""


def attach_choices(
    session: Session, identity: Identity, portfolio: Portfolio, *, q: str | None = None, limit: int = 50
) -> Chooser:
    """ER-9's chooser: the collections of the institution whose name has `q`, only those in scope
    selectable, with the warning for those whose library differs from the portfolio's."""
    condition = [ElectronicCollection.institution_id == portfolio.institution_id]
    if q and q.strip():
        condition.append(_text(ElectronicCollection.public_name, q))
    collections = list(
        session.scalars(
            select(ElectronicCollection)
            .where(*condition)
            .order_by(ElectronicCollection.public_name, ElectronicCollection.id)
            .limit(limit + 1)
        )
    )
    choices = [
        CollectionChoice(c, scope.can_edit(identity, scoped(session, c)), attach_warning(portfolio, c))
        for c in collections[:limit]
    ]
    return Chooser(choices, limit, len(collections) > limit, (q or "").strip())

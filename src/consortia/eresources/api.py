"""`/api/v1/eresources/...` and `/api/v1/cz/...` (API.md "Electronic resources beyond Alma's API"): the
searches with facet and per-row actions (ER-10), the editors (ER-11 .. ER-13), a record's inventory
(ER-16), attaching a standalone portfolio (ER-9), the Community Zone catalogue and activation (ER-23).
Parse, call a verb, respond.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import cz, search, service
from consortia.eresources.models import Portfolio
from consortia.eresources.schemas import (
    AttachIn,
    CzCollectionIn,
    collection_json,
    cz_collection_json,
    library_facets_json,
    library_or_null,
    portfolio_json,
    result_json,
)
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares

router = APIRouter(prefix="/api/v1", tags=["Electronic resources"])

Id = Annotated[str, Path(min_length=1, max_length=20)]
Reader = Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]
Q = Annotated[str | None, Query(max_length=200, description="Words of the title or name.")]
LibraryCode = Annotated[str | None, Query(max_length=40, description="Only resources of this (effective) library.")]
Editable = Annotated[bool, Query(description="Only resources the caller may edit.")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _search_answer(page: search.SearchPage) -> dict[str, Any]:
    return envelope(
        "result",
        [result_json(r) for r in page.results],
        page.total,
        total_is_exact=page.exact,
        columns={"library": page.show_library, "electronic_collection_library": page.show_collection_library},
        facets={"library": library_facets_json(page)},
    )


@router.get("/eresources/portfolios/search", summary="Electronic portfolio search (ER-10)")
def search_portfolios(
    request: Request,
    session: DbSession,
    identity: Reader,
    q: Q = None,
    library: LibraryCode = None,
    editable: Editable = False,
    limit: Limit = 10,
    offset: Offset = 0,
    facets: Annotated[bool, Query(description="With the Library facet (its counts cost more).")] = True,
) -> Response:
    institution = acting_institution(session, identity)
    page = search.search_portfolios(
        session,
        identity,
        institution,
        q=q,
        library=library,
        editable=editable,
        limit=limit,
        offset=offset,
        facets=facets,
        count_cap=search.API_COUNT_CAP,
    )
    return respond(request, _search_answer(page), root="result")


@router.get("/eresources/collections/search", summary="Electronic collection search (ER-10)")
def search_collections(
    request: Request,
    session: DbSession,
    identity: Reader,
    q: Q = None,
    library: LibraryCode = None,
    editable: Editable = False,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    institution = acting_institution(session, identity)
    page = search.search_collections(
        session,
        identity,
        institution,
        q=q,
        library=library,
        editable=editable,
        limit=limit,
        offset=offset,
        count_cap=search.API_COUNT_CAP,
    )
    return respond(request, _search_answer(page), root="result")


@router.get("/eresources/collections/{collection_id}/editor", summary="How the collection editor opens (ER-11, ER-13)")
def collection_editor(request: Request, session: DbSession, identity: Reader, collection_id: Id) -> Response:
    collection = service.access_collection(session, identity, collection_id)
    editor = search.collection_editor(session, identity, collection, count_cap=search.API_COUNT_CAP)
    body = editor.state.as_json()
    body["confirmation"] = service.LIBRARY_CONFIRMATION
    # Each service's portfolios are counted up to the cap; `portfolios_is_exact` is False beyond it.
    body["services"] = [
        {
            "id": str(row.service.id),
            "type": row.service.type,
            "portfolios": row.portfolios,
            "portfolios_is_exact": row.exact,
            "actions": row.actions,
        }
        for row in editor.services
    ]
    return respond(request, body, root="editor")


@router.get(
    "/eresources/collections/{collection_id}/services/{service_id}/editor",
    summary="How the service editor opens (ER-12, ER-13)",
)
def service_editor(
    request: Request,
    session: DbSession,
    identity: Reader,
    collection_id: Id,
    service_id: Id,
    library: LibraryCode = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    editor = search.service_editor(
        session, identity, svc, library=library, limit=limit, offset=offset, count_cap=search.API_COUNT_CAP
    )
    body = editor.state.as_json()
    body["collection_library"] = library_or_null(svc.collection.library)
    body["portfolio_list"] = {
        "columns": {"library": {"visible": False, "available": True}},  # hidden by default (ER-12)
        "library_filter": [{"value": "ALL", "desc": "All"}]
        + [{"value": lib.code, "desc": lib.name} for lib in editor.library_filter],
        "table_actions": editor.table_actions,
        "total_record_count": editor.total,
        "total_is_exact": editor.exact,
        "portfolio": [
            {
                "id": str(r.resource.id),
                "title": r.resource.title,
                "library": library_or_null(r.resource.library),
                "actions": r.actions,
            }
            for r in editor.rows
        ],
    }
    return respond(request, body, root="editor")


@router.get("/eresources/portfolios/{portfolio_id}/editor", summary="How the portfolio editor opens (ER-8, ER-13)")
def portfolio_editor(request: Request, session: DbSession, identity: Reader, portfolio_id: Id) -> Response:
    portfolio = service.access_portfolio(session, identity, portfolio_id)
    body = search.editor_state(session, identity, portfolio).as_json()
    collection = portfolio.collection
    body["electronic_collection_library"] = library_or_null(collection.library if collection else None)
    return respond(request, body, root="editor")


@router.get("/eresources/portfolios/{portfolio_id}/attach-choices", summary="Collections to attach to (ER-9)")
def attach_choices(
    request: Request,
    session: DbSession,
    identity: Reader,
    portfolio_id: Id,
    q: Q = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Choices to list, 1 to 100.")] = 50,
) -> Response:
    """The first `limit` collections by name; beyond them `total_is_exact` is false (there are more than
    `total_record_count`), and `q` narrows the list."""
    portfolio = service.access_portfolio(session, identity, portfolio_id)
    chooser = search.attach_choices(session, identity, portfolio, q=q, limit=limit)
    items = [
        {
            "id": str(c.collection.id),
            "public_name": c.collection.public_name,
            "library": library_or_null(c.collection.library),
            "selectable": c.selectable,
            "warning": c.warning,
        }
        for c in chooser.choices
    ]
    body = envelope("collection", items, len(items), total_is_exact=not chooser.more)
    return respond(request, body, root="collection")


@router.post("/eresources/portfolios/{portfolio_id}/attach", summary="Attach a standalone portfolio (ER-9)")
def attach(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_EDIT))],
    portfolio_id: Id,
    body: Annotated[AttachIn, Body()],
) -> Response:
    portfolio = service.access_portfolio(session, identity, portfolio_id, P.PORTFOLIO_EDIT)
    service.attach_portfolio(session, identity, portfolio, body.collection_id, body.service_id, confirm=body.confirm)
    return respond(request, portfolio_json(portfolio, _base(request)), root="portfolio")


@router.get(
    "/eresources/bibs/{mms_id}/inventory", summary="A record's Portfolios and Electronic collection tabs (ER-16)"
)
def bib_inventory(request: Request, session: DbSession, identity: Reader, mms_id: Id) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    inventory = search.bib_inventory(session, identity, bib)
    return respond(
        request,
        {
            "mms_id": str(bib.id),
            "title": bib.title,
            "add_local_portfolio": inventory.add_local_portfolio,
            "portfolios": [result_json(r) for r in inventory.portfolios],
            "electronic_collections": [result_json(r) for r in inventory.collections],
        },
        root="inventory",
    )


# --- Community Zone ---------------------------------------------------------------------------


@router.get("/cz/collections", summary="The Community Zone catalogue")
def list_cz(request: Request, session: DbSession, identity: Reader) -> Response:
    rows = cz.cz_collections(session, identity)
    active = cz.activated_ids(session, identity.acting_institution_id)
    base = _base(request)
    items = [cz_collection_json(c, base, activated=c.id in active) for c in rows]
    return respond(request, envelope("collection", items, len(items)), root="collection")


@router.post("/cz/collections", status_code=201, summary="Add to the Community Zone catalogue (operator)")
def post_cz(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CZ_MANAGE))],
    body: Annotated[CzCollectionIn, Body()],
) -> Response:
    collection = cz.create_cz_collection(session, identity, body)
    return respond(request, cz_collection_json(collection, _base(request), activated=False), status=201)


@router.post("/cz/collections/{cz_id}/activate", summary="Activate a Community Zone collection (ER-23)")
def activate_cz_collection(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CZ_ACTIVATE))],
    cz_id: Id,
) -> Response:
    institution = acting_institution(session, identity)
    found = cz.access_cz_collection(session, identity, cz_id)
    collection = cz.activate_collection(session, identity, institution, found)
    counts = service.portfolio_counts(session, Portfolio.collection_id, [collection.id])
    body = collection_json(collection, _base(request), portfolios=counts.get(collection.id, 0))
    return respond(request, body, root="electronic_collection")


@router.post("/cz/portfolios/{cz_id}/activate", summary="Activate a Community Zone portfolio (ER-23)")
def activate_cz_portfolio(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CZ_ACTIVATE))],
    cz_id: Id,
) -> Response:
    institution = acting_institution(session, identity)
    portfolio = cz.activate_portfolio(session, identity, institution, cz_id)
    return respond(request, portfolio_json(portfolio, _base(request)), root="portfolio")

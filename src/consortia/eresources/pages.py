"""Electronic resources pages: the portfolio and collection searches (ER-10) with Add a local electronic
collection, the collection editor with the library confirmation (ER-7, ER-11) and its Add service, the
portfolio editor with "Attach to an electronic collection" (ER-8, ER-9), View mode (ER-13), a record's
inventory tabs (ER-16), Add Local Portfolio (ER-17) and the Community Zone catalogue (ER-23). The service
editor (ER-12) is in `service_pages`, the deletes with their confirmation in `delete_pages`.

Routes parse the form, call the same verbs as the API and redirect (303) with a flash message; what a
person may do comes from `eresources.search` (the scope rule) and is passed to the templates.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows
from consortia.eresources import cz, search, service
from consortia.eresources.models import AVAILABILITY, SERVICE_TYPES
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.http.deps import DbSession, page_declares
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Identity, Depends(page_declares(P.ERESOURCE_READ))]
PAGE_SIZE = 50
ATTACH_CHOICES = 50  # the choosers' first choices by name; the page says when there are more
NEW_PORTFOLIO_CHOICES = 200
Text = Annotated[str, Form(max_length=300)]


def pager(request: Request, page: int, has_next: bool) -> dict[str, str | None]:
    def link(number: int) -> str:
        params = dict(request.query_params)
        params["page"] = str(number)
        return f"{request.url.path}?{urlencode(params)}"

    return {"previous_link": link(page - 1) if page > 1 else None, "next_link": link(page + 1) if has_next else None}


# --- searches ---------------------------------------------------------------------------------


@router.get("/eresources/portfolios", response_class=HTMLResponse)
def portfolio_search(
    request: Request,
    session: DbSession,
    identity: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    library: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = acting_institution(session, identity)
    found = search.search_portfolios(
        session, identity, institution, q=q, library=library, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "eresources/portfolios.html",
        {
            "result": found,
            "q": q,
            "library": library.upper(),
            "page": page,
            "count_cap": search.PAGE_COUNT_CAP,
            **pager(request, page, found.has_next),
        },
    )


@router.get("/eresources/collections", response_class=HTMLResponse)
def collection_search(
    request: Request,
    session: DbSession,
    identity: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    library: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = acting_institution(session, identity)
    found = search.search_collections(
        session, identity, institution, q=q, library=library, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    can_create = allows(identity, P.COLLECTION_CREATE, InInstitution(institution.id))
    return render(
        request,
        "eresources/collections.html",
        {
            "result": found,
            "q": q,
            "library": library.upper(),
            "page": page,
            "count_cap": search.PAGE_COUNT_CAP,
            "can_create": can_create,
            # ER-7's choices: the libraries of the person's scopes (all of them at institution scope).
            "library_choices": service.library_choices(session, identity, institution.id) if can_create else [],
            # ER-23: "None" stays a choice when creating; the page says when it is out of the person's scope.
            "no_library_in_scope": service.no_library_choice(session, identity, institution.id),
            **pager(request, page, found.has_next),
        },
    )


@router.post("/eresources/collections")
def collection_add(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.COLLECTION_CREATE))],
    public_name: Text = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    library: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Add a local electronic collection (ER-23): at institution level unless a library of the person's
    scopes is chosen; the verb checks the permission and the library again."""
    collection = service.create_collection(
        session,
        identity,
        acting_institution(session, identity),
        service.CollectionChange(public_name=public_name.strip(), description=description, library=library),
    )
    return redirect(f"/eresources/collections/{collection.id}", "The local electronic collection was added.")


# --- the collection editor --------------------------------------------------------------------


def _collection_page(
    request: Request, session: Session, identity: Identity, cid: str, *, confirm: str | None = None, status: int = 200
) -> Response:
    collection = service.access_collection(session, identity, cid)
    editor = search.collection_editor(session, identity, collection, count_cap=search.PAGE_COUNT_CAP)
    return render(
        request,
        "eresources/collection.html",
        {
            "collection": collection,
            "editor": editor,
            "count_cap": search.PAGE_COUNT_CAP,
            "confirm_library": confirm,
            "confirmation": service.LIBRARY_CONFIRMATION,
            "job": service.latest_library_job(session, identity, collection),
            "service_types": SERVICE_TYPES,
        },
        status=status,
    )


@router.get("/eresources/collections/{cid}", response_class=HTMLResponse)
def collection_page(request: Request, session: DbSession, identity: Reader, cid: str) -> Response:
    return _collection_page(request, session, identity, cid)


@router.post("/eresources/collections/{cid}/library")
def collection_library(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.COLLECTION_EDIT))],
    cid: str,
    library: Annotated[str, Form(max_length=40)] = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    collection = service.access_collection(session, identity, cid, P.COLLECTION_EDIT)
    chosen = service.chosen_library(session, identity, collection.institution_id, library)
    if chosen is not None and chosen != collection.library and confirmed != "yes":
        # ER-7: the confirmation first.
        return _collection_page(request, session, identity, cid, confirm=chosen.code)
    instance = service.set_collection_library(session, identity, collection, chosen)
    if instance is None:
        return redirect(f"/eresources/collections/{collection.id}", "The library was saved.")
    return redirect(
        f"/eresources/collections/{collection.id}",
        f"The library is set. Job {instance.id} (Set Electronic Collection Library) clears the library of the "
        "collection's portfolios; follow it in Monitor Jobs.",
    )


@router.post("/eresources/collections/{cid}/update")
def collection_update(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.COLLECTION_EDIT))],
    cid: str,
    public_name: Text,
    description: Annotated[str, Form(max_length=4000)] = "",
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    collection = service.access_collection(session, identity, cid, P.COLLECTION_EDIT)
    service.update_collection(
        session,
        identity,
        collection,
        service.CollectionChange(public_name=public_name, description=description, version=version),
    )
    return redirect(f"/eresources/collections/{collection.id}", "The electronic collection was saved.")


@router.post("/eresources/collections/{cid}/services")
def service_add(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.COLLECTION_EDIT))],
    cid: str,
    type: Annotated[str, Form(max_length=40)] = "getFullTxt",
    public_description: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Add a service to the collection (its "Add" action, ER-5); the verb checks the scope rule again."""
    collection = service.access_collection(session, identity, cid, P.COLLECTION_EDIT)
    svc = service.create_service(
        session, identity, collection, type=type, public_description=public_description, activation_status=None
    )
    return redirect(f"/eresources/collections/{collection.id}/services/{svc.id}", "The electronic service was added.")


# --- the portfolio editor ---------------------------------------------------------------------


def _portfolio_page(
    request: Request,
    session: Session,
    identity: Identity,
    pid: str,
    *,
    attach_warning: dict[str, str] | None = None,
    q: str = "",
    status: int = 200,
) -> Response:
    portfolio = service.access_portfolio(session, identity, pid)
    state = search.editor_state(session, identity, portfolio)
    chooser = (
        search.attach_choices(session, identity, portfolio, q=q, limit=ATTACH_CHOICES)
        if portfolio.is_standalone and state.mode == "EDIT"
        else None
    )
    return render(
        request,
        "eresources/portfolio.html",
        {
            "portfolio": portfolio,
            "editor": state,
            "chooser": chooser,
            "availability": AVAILABILITY,
            "attach_warning": attach_warning,
        },
        status=status,
    )


@router.get("/eresources/portfolios/{pid}", response_class=HTMLResponse)
def portfolio_page(
    request: Request,
    session: DbSession,
    identity: Reader,
    pid: str,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The portfolio editor; `q` narrows the collections of "Attach to an electronic collection"."""
    return _portfolio_page(request, session, identity, pid, q=q)


@router.post("/eresources/portfolios/{pid}/update")
def portfolio_update(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PORTFOLIO_EDIT))],
    pid: str,
    library: Annotated[str | None, Form(max_length=40)] = None,
    library_field: Annotated[str, Form(max_length=5)] = "",
    availability: Annotated[str | None, Form(max_length=10)] = None,
    coverage: Annotated[str | None, Form(max_length=200)] = None,
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT)
    if library is None and library_field == "yes":
        library = ""  # the form's "None": an empty field reaches the route as absent, so the form says it had one
    service.update_portfolio(
        session,
        identity,
        portfolio,
        service.PortfolioChange(library=library, availability=availability, coverage=coverage, version=version),
    )
    return redirect(f"/eresources/portfolios/{portfolio.id}", "The portfolio was saved.")


@router.post("/eresources/portfolios/{pid}/attach")
def portfolio_attach(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PORTFOLIO_EDIT))],
    pid: str,
    collection_id: Annotated[str, Form(max_length=20)] = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT)
    if not collection_id:
        raise BadRequest("Choose the electronic collection to attach the portfolio to.")
    try:
        service.attach_portfolio(session, identity, portfolio, collection_id, None, confirm=confirmed == "yes")
    except Conflict as warning:
        return _portfolio_page(
            request, session, identity, pid, attach_warning={"message": warning.message, "collection_id": collection_id}
        )
    return redirect(
        f"/eresources/portfolios/{portfolio.id}", "The portfolio was attached to the electronic collection."
    )


# --- a record's inventory, Add Local Portfolio ------------------------------------------------


@router.get("/eresources/bibs/{mms_id}", response_class=HTMLResponse)
def bib_page(
    request: Request,
    session: DbSession,
    identity: Reader,
    mms_id: str,
    tab: Annotated[str, Query(max_length=20)] = "portfolios",
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    inventory = search.bib_inventory(session, identity, bib)
    return render(
        request,
        "eresources/bib.html",
        {"inventory": inventory, "tab": "collections" if tab == "collections" else "portfolios"},
    )


@router.get("/eresources/bibs/{mms_id}/portfolios/new", response_class=HTMLResponse)
def new_portfolio_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PORTFOLIO_CREATE))],
    mms_id: str,
    collection_id: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Add Local Portfolio (ER-17): the collection chooser lists the first 200 collections (`q` narrows
    them, and the page says when there are more); the chosen one is shown even when the list leaves it out."""
    bib = service.access_bib(session, identity, mms_id)
    choices = service.library_choices(session, identity, bib.institution_id)
    found = search.search_collections(
        session, identity, acting_institution(session, identity), q=q, limit=NEW_PORTFOLIO_CHOICES, count_cap=0
    )
    collections = found.results
    chosen = None
    if collection_id:
        try:
            chosen = service.access_collection(session, identity, collection_id)
        except NotFound:
            chosen = None
    if chosen is not None and all(c.resource.id != chosen.id for c in collections):
        collections = [search.collection_result(session, identity, chosen), *collections]
    return render(
        request,
        "eresources/portfolio_new.html",
        {
            "bib": bib,
            "library_choices": choices,
            "no_library_in_scope": service.no_library_choice(session, identity, bib.institution_id),
            "collections": collections,
            "chooser": {"more": found.has_next, "limit": NEW_PORTFOLIO_CHOICES, "q": q.strip()},
            "chosen": chosen,
            "availability": AVAILABILITY,
        },
    )


@router.post("/eresources/bibs/{mms_id}/portfolios")
def new_portfolio(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PORTFOLIO_CREATE))],
    mms_id: str,
    portfolio_type: Annotated[str, Form(max_length=40)] = "STANDALONE",
    collection_id: Annotated[str, Form(max_length=20)] = "",
    library: Annotated[str, Form(max_length=40)] = "",
    coverage: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    part = portfolio_type == "PART_OF_ELECTRONIC_COLLECTION"
    if part and not collection_id:
        raise BadRequest("electronic_collection: choose the electronic collection the portfolio is part of.")
    portfolio = service.create_portfolio(
        session,
        identity,
        acting_institution(session, identity),
        bib,
        service.PortfolioChange(library=library, coverage=coverage, collection_id=collection_id if part else None),
    )
    return redirect(f"/eresources/portfolios/{portfolio.id}", "The local portfolio was added.")


# --- the Community Zone -----------------------------------------------------------------------


@router.get("/eresources/cz", response_class=HTMLResponse)
def cz_page(request: Request, session: DbSession, identity: Reader) -> Response:
    rows = cz.cz_collections(session, identity)
    active = cz.activated_ids(session, identity.acting_institution_id)
    may = allows(identity, P.CZ_ACTIVATE, InInstitution(identity.acting_institution_id))
    return render(request, "eresources/cz.html", {"rows": rows, "active": active, "can_activate": may})


@router.post("/eresources/cz/{cz_id}/activate")
def cz_activate(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CZ_ACTIVATE))],
    cz_id: str,
) -> Response:
    institution = acting_institution(session, identity)
    collection = cz.activate_collection(
        session, identity, institution, cz.access_cz_collection(session, identity, cz_id)
    )
    return redirect(
        f"/eresources/collections/{collection.id}",
        "The collection was activated at institution level (no library).",
    )

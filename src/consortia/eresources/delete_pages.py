"""Delete from the pages (ER-6, ER-10, ER-11, ER-16): an electronic collection, a service or a portfolio,
from the searches, the editors, a record's inventory tabs and the service editor's portfolio list.

The GET shows the confirmation (403 when the delete rule does not allow it); the POST deletes through
the service's verb, which checks the rule again and writes history, and redirects with a message. A
delete the inventory blocks (a collection that still has services, a service that still has
portfolios) goes back with the reason as a warning, nothing changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.eresources import service
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Back = Annotated[str, Query(max_length=300)]
BackField = Annotated[str, Form(max_length=300)]


def safe_back(value: str, default: str) -> str:
    """Where to go after the delete: a page of the electronic resources, never another site."""
    if value.startswith("/eresources/") and "//" not in value and "\\" not in value and "\n" not in value:
        return value
    return default


def _after(back: str, gone: str, default: str) -> str:
    """Where to go after deleting the resource at `gone`: `back`, unless it is that resource's own page."""
    target = safe_back(back, default)
    return default if target.split("?")[0].split("#")[0].rstrip("/") == gone else target


def _confirm(request: Request, *, what: str, name: str, action: str, back: str) -> Response:
    return render(
        request,
        "eresources/delete_confirm.html",
        {"what": what, "names": [name], "action": action, "selection": [], "back": back},
    )


# --- electronic collections -------------------------------------------------------------------

CollectionDeleter = Annotated[Identity, Depends(page_declares(P.COLLECTION_DELETE))]


@router.get("/eresources/collections/{cid}/delete", response_class=HTMLResponse)
def collection_delete_page(
    request: Request, session: DbSession, identity: CollectionDeleter, cid: str, back: Back = ""
) -> Response:
    collection = service.access_collection(session, identity, cid, P.COLLECTION_DELETE)
    return _confirm(
        request,
        what="the electronic collection",
        name=collection.public_name,
        action=f"/eresources/collections/{collection.id}/delete",
        back=safe_back(back, f"/eresources/collections/{collection.id}"),
    )


@router.post("/eresources/collections/{cid}/delete")
def collection_delete(session: DbSession, identity: CollectionDeleter, cid: str, back: BackField = "") -> Response:
    collection = service.access_collection(session, identity, cid, P.COLLECTION_DELETE)
    name, page = collection.public_name, f"/eresources/collections/{collection.id}"
    try:
        service.delete_collection(session, identity, collection)
    except BadRequest as blocked:
        return redirect(page, warning=blocked.message)
    return redirect(_after(back, page, "/eresources/collections"), f"The electronic collection {name} was deleted.")


# --- electronic services ----------------------------------------------------------------------

ServiceDeleter = Annotated[Identity, Depends(page_declares(P.SERVICE_DELETE))]


@router.get("/eresources/collections/{cid}/services/{sid}/delete", response_class=HTMLResponse)
def service_delete_page(request: Request, session: DbSession, identity: ServiceDeleter, cid: str, sid: str) -> Response:
    svc = service.access_service(session, identity, cid, sid, P.SERVICE_DELETE)
    return _confirm(
        request,
        what="the electronic service",
        name=f"{svc.type} of {svc.collection.public_name}",
        action=f"/eresources/collections/{svc.collection_id}/services/{svc.id}/delete",
        back=f"/eresources/collections/{svc.collection_id}",
    )


@router.post("/eresources/collections/{cid}/services/{sid}/delete")
def service_delete(session: DbSession, identity: ServiceDeleter, cid: str, sid: str) -> Response:
    svc = service.access_service(session, identity, cid, sid, P.SERVICE_DELETE)
    editor = f"/eresources/collections/{svc.collection_id}"
    try:
        service.delete_service(session, identity, svc)
    except BadRequest as blocked:
        return redirect(editor, warning=blocked.message)
    return redirect(editor, "The electronic service was deleted.")


# --- portfolios -------------------------------------------------------------------------------

PortfolioDeleter = Annotated[Identity, Depends(page_declares(P.PORTFOLIO_DELETE))]


@router.get("/eresources/portfolios/{pid}/delete", response_class=HTMLResponse)
def portfolio_delete_page(
    request: Request, session: DbSession, identity: PortfolioDeleter, pid: str, back: Back = ""
) -> Response:
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_DELETE)
    return _confirm(
        request,
        what="the portfolio",
        name=portfolio.title,
        action=f"/eresources/portfolios/{portfolio.id}/delete",
        back=safe_back(back, f"/eresources/portfolios/{portfolio.id}"),
    )


@router.post("/eresources/portfolios/{pid}/delete")
def portfolio_delete(session: DbSession, identity: PortfolioDeleter, pid: str, back: BackField = "") -> Response:
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_DELETE)
    title, page, record = (
        portfolio.title,
        f"/eresources/portfolios/{portfolio.id}",
        f"/eresources/bibs/{portfolio.bib_id}",
    )
    service.delete_portfolio(session, identity, portfolio)
    # The portfolio's own page is gone: back to where the person came from, or to its record.
    return redirect(_after(back, page, record), f"The portfolio {title} was deleted.")

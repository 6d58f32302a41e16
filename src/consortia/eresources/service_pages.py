"""The Electronic Service Editor page (ER-12): the header with "Collection library", the portfolio list
with its Library column and filter, and its actions. Row actions (Edit, Move, Remove, Duplicate,
Deactivate/Activate, Delete) and table actions (Move set of Portfolios, Activate/Deactivate, Load
portfolios, Add, Delete Selected) post to the routes below, which call the verbs of
`eresources.portfolio_actions`; the verbs check the one scope rule again, so a forged form is refused
(403) with nothing changed. "Link local portfolios to Community" has no counterpart here (there is no
shared Community Zone inventory to link into) and stays disabled.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.eresources import portfolio_actions as actions
from consortia.eresources import search, service
from consortia.eresources.models import AVAILABLE, NOT_AVAILABLE
from consortia.eresources.pages import PAGE_SIZE, Reader, pager
from consortia.http.deps import DbSession, page_declares
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

BASE = "/eresources/collections/{cid}/services/{sid}"
Editor = Annotated[Identity, Depends(page_declares(P.PORTFOLIO_EDIT))]
Selection = Annotated[list[str] | None, Form()]
# The row and table actions of ER-12 in the editor's order; "delete" and "delete_selected" need Extended.
ROW_ACTIONS = (*search.ROW_ACTIONS, "delete")
TABLE_ACTIONS = (*search.TABLE_ACTIONS, "delete_selected")
NOT_HERE = frozenset({"link_local_portfolios_to_community"})
MOVE_CHOICES = 200


def _editor_url(cid: str | int, sid: str | int) -> str:
    return f"/eresources/collections/{cid}/services/{sid}"


@router.get(BASE, response_class=HTMLResponse)
def service_page(
    request: Request,
    session: DbSession,
    identity: Reader,
    cid: str,
    sid: str,
    library: Annotated[str, Query(max_length=40)] = "ALL",
    columns: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    svc = service.access_service(session, identity, cid, sid)
    editor = search.service_editor(
        session,
        identity,
        svc,
        library=library,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        count_cap=search.PAGE_COUNT_CAP,
    )
    return render(
        request,
        "eresources/service.html",
        {
            "svc": svc,
            "editor": editor,
            "library": (library or "ALL").upper(),
            # ER-12: the Library column is hidden by default; the person may show it.
            "show_library": columns == "library",
            "row_actions": ROW_ACTIONS,
            "table_actions": TABLE_ACTIONS,
            "not_here": NOT_HERE,
            "available": AVAILABLE,
            "page": page,
            "count_cap": search.PAGE_COUNT_CAP,
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **pager(request, page, editor.has_next),
        },
    )


# --- row actions ------------------------------------------------------------------------------


@router.post(BASE + "/portfolios/{pid}/availability")
def portfolio_availability(
    session: DbSession,
    identity: Editor,
    cid: str,
    sid: str,
    pid: str,
    availability: Annotated[str, Form(max_length=10)] = NOT_AVAILABLE,
) -> Response:
    svc = service.access_service(session, identity, cid, sid)
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT, service_id=svc.id)
    actions.set_portfolio_availability(session, identity, portfolio, availability)
    done = "activated" if availability == AVAILABLE else "deactivated"
    return redirect(_editor_url(svc.collection_id, svc.id), f"The portfolio {portfolio.title} was {done}.")


@router.post(BASE + "/portfolios/{pid}/remove")
def portfolio_remove(session: DbSession, identity: Editor, cid: str, sid: str, pid: str) -> Response:
    svc = service.access_service(session, identity, cid, sid)
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT, service_id=svc.id)
    actions.remove_portfolio(session, identity, portfolio)
    return redirect(
        _editor_url(svc.collection_id, svc.id),
        f"The portfolio {portfolio.title} was removed from the electronic collection; it is now standalone.",
    )


@router.post(BASE + "/portfolios/{pid}/duplicate")
def portfolio_duplicate(session: DbSession, identity: Editor, cid: str, sid: str, pid: str) -> Response:
    svc = service.access_service(session, identity, cid, sid)
    portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT, service_id=svc.id)
    copy = actions.duplicate_portfolio(session, identity, portfolio)
    return redirect(_editor_url(svc.collection_id, svc.id), f"The portfolio was duplicated (portfolio {copy.id}).")


# --- Move, Move set of Portfolios -------------------------------------------------------------


@router.post(BASE + "/move", response_class=HTMLResponse)
def move(
    request: Request,
    session: DbSession,
    identity: Editor,
    cid: str,
    sid: str,
    portfolio: Selection = None,
    collection_id: Annotated[str, Form(max_length=20)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Without a collection: the chooser (collections in scope selectable, ER-9; the first 200 by name,
    `q` narrows them); with one: the move."""
    svc = service.access_service(session, identity, cid, sid)
    chosen = actions.selected_portfolios(session, identity, svc, portfolio or [], P.PORTFOLIO_EDIT)
    if not collection_id:
        chooser = search.attach_choices(session, identity, chosen[0], q=q, limit=MOVE_CHOICES)
        return render(request, "eresources/move.html", {"svc": svc, "portfolios": chosen, "chooser": chooser})
    moved = actions.move_portfolios(session, identity, svc, [str(p.id) for p in chosen], collection_id)
    return redirect(_editor_url(svc.collection_id, svc.id), f"{moved} portfolio(s) moved.")


# --- table actions ----------------------------------------------------------------------------


@router.post(BASE + "/portfolios/availability")
def selection_availability(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.SERVICE_EDIT))],
    cid: str,
    sid: str,
    portfolio: Selection = None,
    availability: Annotated[str, Form(max_length=10)] = AVAILABLE,
) -> Response:
    svc = service.access_service(session, identity, cid, sid, P.SERVICE_EDIT)
    changed = actions.set_availability_of(session, identity, svc, portfolio or [], availability)
    done = "activated" if availability == AVAILABLE else "deactivated"
    return redirect(_editor_url(svc.collection_id, svc.id), f"{changed} portfolio(s) {done}.")


@router.post(BASE + "/portfolios/delete-selected", response_class=HTMLResponse)
def selection_delete(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.SERVICE_DELETE))],
    cid: str,
    sid: str,
    portfolio: Selection = None,
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Delete Selected: first the confirmation listing the portfolios, then the delete."""
    svc = service.access_service(session, identity, cid, sid, P.SERVICE_DELETE)
    chosen = actions.selected_portfolios(session, identity, svc, portfolio or [], P.PORTFOLIO_DELETE)
    if confirmed != "yes":
        return render(
            request,
            "eresources/delete_confirm.html",
            {
                "what": f"{len(chosen)} portfolio(s) of this service",
                "names": [p.title for p in chosen],
                "action": _editor_url(svc.collection_id, svc.id) + "/portfolios/delete-selected",
                "selection": [p.id for p in chosen],
                "back": _editor_url(svc.collection_id, svc.id),
            },
        )
    count = actions.delete_selected(session, identity, svc, [str(p.id) for p in chosen])
    return redirect(_editor_url(svc.collection_id, svc.id), f"{count} portfolio(s) deleted.")


@router.post(BASE + "/portfolios")
def add_portfolio(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.SERVICE_EDIT))],
    cid: str,
    sid: str,
    title: Annotated[str, Form(max_length=500)] = "",
    coverage: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    svc = service.access_service(session, identity, cid, sid, P.SERVICE_EDIT)
    made = actions.add_service_portfolio(session, identity, svc, title=title, coverage=coverage)
    return redirect(_editor_url(svc.collection_id, svc.id), f"The portfolio {made.title} was added.")

"""Acquisitions pages: PO lines with their ordered electronic items (ER-18: edit controls only for items in
scope) and licences with their Inventory tab (ER-19: links open the editors, in Edit mode in scope and in
View mode otherwise). Routes parse the form, call `eresources.acquisitions` and redirect with a message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import acquisitions as acq
from consortia.eresources.task_schemas import effective_library, resource_ref, resource_title
from consortia.http.deps import DbSession, page_declares
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Identity, Depends(page_declares(P.ERESOURCE_READ))]
PAGE_SIZE = 50
HELPERS = {"ref": resource_ref, "title_of": resource_title, "library_of": effective_library}


def _choose(request: Request, identity: Identity) -> Response | None:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    return None


@router.get("/acq/po-lines", response_class=HTMLResponse)
def po_lines_page(request: Request, session: DbSession, identity: Reader) -> Response:
    if (chosen := _choose(request, identity)) is not None:
        return chosen
    lines = acq.po_lines(session, identity, acting_institution(session, identity))
    return render(request, "eresources/po_lines.html", {"lines": lines})


@router.get("/acq/po-lines/{po_line_id}", response_class=HTMLResponse)
def po_line_page(request: Request, session: DbSession, identity: Reader, po_line_id: str) -> Response:
    line = acq.access_po_line(session, identity, po_line_id)
    rows = acq.po_line_items(session, identity, line)
    return render(request, "eresources/po_line.html", {"line": line, "rows": rows, **HELPERS})


@router.post("/acq/po-lines/{po_line_id}/items/{item_id}")
def po_line_item_update(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PO_LINE_ITEM_EDIT))],
    po_line_id: str,
    item_id: str,
    coverage: Annotated[str | None, Form(max_length=200)] = None,
    note: Annotated[str | None, Form(max_length=1000)] = None,
    activation_note: Annotated[str | None, Form(max_length=1000)] = None,
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    line = acq.access_po_line(session, identity, po_line_id)
    item = acq.access_po_line_item(session, identity, line, item_id, P.PO_LINE_ITEM_EDIT)
    acq.update_po_line_item(
        session,
        identity,
        item,
        acq.ItemChange(coverage=coverage, note=note, activation_note=activation_note, version=version),
    )
    return redirect(f"/acq/po-lines/{line.id}", "The ordered item was saved.")


@router.get("/acq/licenses", response_class=HTMLResponse)
def licenses_page(request: Request, session: DbSession, identity: Reader) -> Response:
    if (chosen := _choose(request, identity)) is not None:
        return chosen
    found = acq.licenses(session, identity, acting_institution(session, identity))
    return render(request, "eresources/licenses.html", {"licenses": found})


@router.get("/acq/licenses/{code}", response_class=HTMLResponse)
def license_page(
    request: Request,
    session: DbSession,
    identity: Reader,
    code: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    if (chosen := _choose(request, identity)) is not None:
        return chosen
    found = acq.access_license(session, identity, acting_institution(session, identity), code)
    rows, total = acq.license_inventory(session, identity, found, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "eresources/license.html",
        {"license": found, "rows": rows, "total": total, "page": page, "has_next": page * PAGE_SIZE < total, **HELPERS},
    )

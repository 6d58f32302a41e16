"""`/api/v1/acq/...`: a PO line with its ordered electronic items (ER-18) and a licence's inventory (ER-19).
Parse, call a verb, respond."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import acquisitions as acq
from consortia.eresources.schemas import library_or_null
from consortia.eresources.task_schemas import (
    PoLineItemIn,
    editor_links,
    effective_library,
    item_json,
    po_line_json,
    resource_ref,
    resource_title,
)
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares

router = APIRouter(prefix="/api/v1", tags=["Acquisitions: electronic items"])

Id = Annotated[str, Path(min_length=1, max_length=20)]
Code = Annotated[str, Path(min_length=1, max_length=60)]
Reader = Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/acq/po-lines/{po_line_id}", summary="A PO line and its ordered electronic items (ER-18)")
def get_po_line(request: Request, session: DbSession, identity: Reader, po_line_id: Id) -> Response:
    line = acq.access_po_line(session, identity, po_line_id)
    base = _base(request)
    rows = acq.po_line_items(session, identity, line)
    body = {**po_line_json(line, base), **envelope("item", [item_json(r, base) for r in rows], len(rows))}
    return respond(request, body, root="po_line")


@router.put("/acq/po-lines/{po_line_id}/items/{item_id}", summary="Edit an ordered electronic item, in scope (ER-18)")
def put_po_line_item(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PO_LINE_ITEM_EDIT))],
    po_line_id: Id,
    item_id: Id,
    body: Annotated[PoLineItemIn, Body()],
) -> Response:
    line = acq.access_po_line(session, identity, po_line_id)
    item = acq.access_po_line_item(session, identity, line, item_id, P.PO_LINE_ITEM_EDIT)
    acq.update_po_line_item(session, identity, item, acq.ItemChange(**body.model_dump(exclude_none=True)))
    row = next(r for r in acq.po_line_items(session, identity, line) if r.item.id == item.id)
    return respond(request, item_json(row, _base(request)), root="item")


@router.get("/acq/licenses/{code}/inventory", summary="A licence's Inventory tab: links in EDIT or VIEW mode (ER-19)")
def license_inventory(
    request: Request, session: DbSession, identity: Reader, code: Code, limit: Limit = 10, offset: Offset = 0
) -> Response:
    institution = acting_institution(session, identity)
    found = acq.access_license(session, identity, institution, code)
    rows, total = acq.license_inventory(session, identity, found, limit=limit, offset=offset)
    base = _base(request)
    items = [
        {
            **resource_ref(r.resource),
            "title": resource_title(r.resource),
            "library": library_or_null(effective_library(r.resource)),
            **editor_links(base, r.resource),
            "mode": r.mode,
        }
        for r in rows
    ]
    return respond(
        request, envelope("item", items, total, license={"value": found.code, "desc": found.name}), root="item"
    )

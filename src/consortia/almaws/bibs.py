"""`/almaws/v1/bibs/...`: bibliographic records and every portfolio of a record, standalone ones
included (API.md "Electronic resources"; Alma notes §3). Translation only.

`POST /bibs` takes Alma's `<bib><record>…</record></bib>` or a bare MARCXML `<record>` (parsed with
pymarc, `eresources.marc`) and answers the bib with its `mms_id`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.almaws.electronic import IfMatch, base_url, if_match, portfolio_answer, portfolio_change
from consortia.eresources import service
from consortia.eresources.marc import MAX_BYTES, parse_marcxml
from consortia.eresources.reads import access_bib_portfolio_record
from consortia.eresources.schemas import PortfolioIn, bib_json, portfolio_json
from consortia.errors import BadRequest, NotFound
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import ApiCaller, DbSession, api_caller, declares, in_one_hop

router = APIRouter(prefix="/almaws/v1", tags=["Bibs"])

Id = Annotated[str, Path(min_length=1, max_length=20)]
Reader = Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]


async def marcxml_body(request: Request) -> bytes:
    """The raw body, at most MAX_BYTES (400 beyond)."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise BadRequest(f"record: the body is larger than {MAX_BYTES} bytes.", "40166411")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/bibs", summary="Records by MMS id")
def list_bibs(
    request: Request,
    session: DbSession,
    identity: Reader,
    mms_id: Annotated[str | None, Query(max_length=2000, description="Comma-separated MMS ids")] = None,
) -> Response:
    base = base_url(request)
    found = []
    for one in (mms_id or "").split(",")[:100]:
        if not one.strip():
            continue
        try:
            found.append(bib_json(service.access_bib(session, identity, one.strip()), base))
        except NotFound:
            continue
    return respond(request, envelope("bib", found, len(found)), root="bib")


@router.post("/bibs", summary="Create a record from MARCXML")
def post_bib(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.BIB_CREATE))],
    body: Annotated[bytes, Depends(marcxml_body)],
) -> Response:
    institution = acting_institution(session, identity)
    parsed = parse_marcxml(body)
    bib = service.create_bib(session, identity, institution, parsed)
    return respond(request, bib_json(bib, base_url(request)), root="bib")


@router.get("/bibs/{mms_id}", summary="One record")
def get_bib(request: Request, session: DbSession, identity: Reader, mms_id: Id) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    return respond(request, bib_json(bib, base_url(request)), root="bib")


@router.get("/bibs/{mms_id}/portfolios", summary="Every portfolio of a record")
def list_bib_portfolios(
    request: Request, session: DbSession, identity: Reader, mms_id: Id, limit: Limit = 10, offset: Offset = 0
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    rows, total = service.portfolios_of(session, bib_id=bib.id, limit=limit, offset=offset)
    base = base_url(request)
    return respond(request, envelope("portfolio", [portfolio_json(p, base) for p in rows], total), root="portfolio")


@router.post("/bibs/{mms_id}/portfolios", summary="Add a portfolio to a record (Add Local Portfolio)")
def post_bib_portfolio(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_CREATE))],
    mms_id: Id,
    body: Annotated[PortfolioIn, Body()],
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    institution = acting_institution(session, identity)
    portfolio = service.create_portfolio(session, identity, institution, bib, portfolio_change(body))
    return portfolio_answer(request, portfolio)


@router.get("/bibs/{mms_id}/portfolios/{portfolio_id}", summary="One portfolio of a record")
async def get_bib_portfolio(
    request: Request,
    session: DbSession,
    caller: Annotated[ApiCaller, Depends(api_caller(P.ERESOURCE_READ))],
    mms_id: Id,
    portfolio_id: Id,
) -> Response:
    # The hot read of Alma clients (N-6): key check, one Core read and the commit in one thread-pool call.
    def work() -> Response:
        identity = caller.identity(session, keep_institution=False)
        return portfolio_answer(request, access_bib_portfolio_record(session, identity, mms_id, portfolio_id))

    return await in_one_hop(session, work, reads_only=True)


@router.put("/bibs/{mms_id}/portfolios/{portfolio_id}", summary="Update a portfolio of a record")
def put_bib_portfolio(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_EDIT))],
    mms_id: Id,
    portfolio_id: Id,
    body: Annotated[PortfolioIn, Body()],
    if_match_header: IfMatch = None,
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    portfolio = service.access_portfolio(session, identity, portfolio_id, P.PORTFOLIO_EDIT, bib_id=bib.id)
    change = portfolio_change(body)
    change.collection_id = change.service_id = None  # moving a portfolio is the attach verb's
    if change.version is None:
        change.version = if_match(if_match_header)
    service.update_portfolio(session, identity, portfolio, change)
    return portfolio_answer(request, portfolio)


@router.delete("/bibs/{mms_id}/portfolios/{portfolio_id}", status_code=204, summary="Delete a portfolio of a record")
def delete_bib_portfolio(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_DELETE))],
    mms_id: Id,
    portfolio_id: Id,
) -> Response:
    bib = service.access_bib(session, identity, mms_id)
    portfolio = service.access_portfolio(session, identity, portfolio_id, P.PORTFOLIO_DELETE, bib_id=bib.id)
    service.delete_portfolio(session, identity, portfolio)
    return Response(status_code=204)

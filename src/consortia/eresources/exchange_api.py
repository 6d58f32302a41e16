"""`GET /api/v1/eresources/portfolios/export.csv` (streamed) and `POST /api/v1/eresources/portfolios/load`
(ER-20). Parse, call `eresources.exchange`, respond."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import exchange
from consortia.eresources.task_schemas import report_json
from consortia.http.answers import respond
from consortia.http.deps import DbSession, declares, get_session

router = APIRouter(prefix="/api/v1", tags=["Electronic resources: export and load"])

# The export streams after the route returns: its session lives until the answer is sent.
StreamingSession = Annotated[Session, Depends(get_session, scope="request")]


def export_response(rows: Any) -> StreamingResponse:
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="portfolios.csv"'},
    )


def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, at most one byte beyond the limit (which the load answers with 413)."""
    return file.file.read(exchange.max_upload_bytes() + 1)


@router.get(
    "/eresources/portfolios/export.csv",
    summary='Extended export of portfolios, with "Library" and "Electronic Collection Library" (ER-20)',
    response_class=StreamingResponse,
)
def export_portfolios(
    session: StreamingSession, identity: Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]
) -> StreamingResponse:
    institution = acting_institution(session, identity)
    return export_response(exchange.export_csv(session, identity, institution))


@router.post(
    "/eresources/portfolios/load",
    summary='Load portfolios from the export\'s CSV; "Electronic Collection Library" is ignored (ER-20)',
)
def load_portfolios(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_EDIT))],
    file: Annotated[UploadFile, File(description="The CSV file (the export's headers).")],
) -> Response:
    institution = acting_institution(session, identity)
    report = exchange.load_portfolios(session, identity, institution, read_upload(file))
    return respond(request, report_json(report), root="load")

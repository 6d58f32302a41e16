"""The portfolio search page's Export and Load buttons (ER-20): the same export stream and load verb as the
API, as a download and a form that answers the load's report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import exchange
from consortia.eresources.exchange_api import export_response, read_upload
from consortia.http.deps import DbSession, get_session, page_declares
from consortia.web.templating import render

router = APIRouter(include_in_schema=False)

StreamingSession = Annotated[Session, Depends(get_session, scope="request")]


@router.get("/eresources/portfolios-export.csv")
def export_page(
    session: StreamingSession, identity: Annotated[Identity, Depends(page_declares(P.ERESOURCE_READ))]
) -> Response:
    return export_response(exchange.export_csv(session, identity, acting_institution(session, identity)))


@router.post("/eresources/portfolios-load", response_class=HTMLResponse)
def load_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PORTFOLIO_EDIT))],
    file: Annotated[UploadFile, File()],
) -> Response:
    report = exchange.load_portfolios(session, identity, acting_institution(session, identity), read_upload(file))
    return render(request, "eresources/portfolio_load.html", {"report": report})

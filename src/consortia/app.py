"""The web application: the assembled domains and their routes, the HTTP kit's conventions, the kernel's
pages and routes, and the embedded worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from consortia import __version__
from consortia.almaws import jobs as almaws_jobs
from consortia.almaws.error_codes import markdown_table
from consortia.audit import api as audit_api
from consortia.config import Settings, configure, get_settings
from consortia.db import get_database, init_database
from consortia.domains import DOMAINS, assemble
from consortia.http.deps import DbSession, public
from consortia.http.errors import document_errors, install_error_handlers
from consortia.http.middleware import SecurityHeadersMiddleware, TrailingSlashMiddleware
from consortia.jobs import api as job_api
from consortia.jobs import pages as job_pages
from consortia.jobs.queue import HueyQueue, get_queue
from consortia.logs import install_redaction
from consortia.web import mail_pages as web_mail_pages
from consortia.web.templating import html_error

STATIC = Path(__file__).parent / "web" / "static"

FAVICON = STATIC / "favicon.ico"
log = logging.getLogger("consortia.web")

# The application's own routes: the health check and the favicon.
router = APIRouter(include_in_schema=False)


@router.get("/healthz", dependencies=[Depends(public())])
def health(session: DbSession) -> Response:
    """For load balancers and monitors: 200 `{"status": "ok", "database": "ok", "queue": "ok"}` when the
    database and the job queue answer; otherwise 503 with `status` "unavailable" and "down" for each
    part that does not answer. Always JSON of this one shape, never cached."""
    parts = {"database": _database_state(session), "queue": _queue_state()}
    healthy = all(state == "ok" for state in parts.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **parts},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


def _database_state(session: Session) -> str:
    try:
        session.execute(select(1))
    except DBAPIError as exc:
        log.warning("health: the database does not answer: %s", exc.orig if exc.orig is not None else exc)
        session.rollback()
        return "down"
    return "ok"


def _queue_state() -> str:
    """The queue answers when it can count its pending ids (the in-process queue of tests always can)."""
    queue = get_queue()
    if not isinstance(queue, HueyQueue):
        return "ok"
    try:
        queue.huey.pending_count()
    except Exception as exc:  # any failure of the queue's store (Redis, the SQLite file) means down
        log.warning("health: the job queue does not answer: %s", exc)
        return "down"
    return "ok"


@router.get("/favicon.ico", dependencies=[Depends(public())])
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links; the pages link the SVG in /static."""
    return FileResponse(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


# The routes that belong to no domain: jobs, history, the mail outbox's pages, and the application's own.
KERNEL_ROUTERS = (
    almaws_jobs.router,
    job_api.router,
    audit_api.router,
    router,
    job_pages.router,
    web_mail_pages.router,
)

DESCRIPTION = """Consortia's HTTP API.

`/almaws/v1` follows the Alma REST API (paths, JSON shapes, list envelopes, error body) so that
Alma client libraries work unchanged; `/api/v1` holds everything Alma has no public API for, in the
same style. Authenticate with `Authorization: apikey <key>` or `?apikey=<key>`.

## Errors

Every failure answers the error body (`errorsExist`, `errorList.error[]` with `errorCode`,
`errorMessage`, `trackingId`). The codes, with their HTTP statuses and when each is given (Alma's own
codes mean what they mean in Alma; 402119 is its general error):

""" + markdown_table()


def create_app(settings: Settings | None = None, *, start_worker: bool | None = None) -> FastAPI:
    settings = configure(settings) if settings is not None else get_settings()
    assemble()
    init_database(settings.database_url)
    run_worker = settings.run_embedded_worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from consortia.jobs import queue

        embedded = queue.start_embedded(settings) if run_worker else None
        try:
            yield
        finally:
            if embedded is not None:
                embedded.stop()
            get_database().dispose()

    app = FastAPI(
        title="Consortia",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    install_redaction()
    install_error_handlers(app, html_handler=html_error)
    document_errors(app)
    app.add_middleware(TrailingSlashMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _wrap_outermost(app, lambda inner: SecurityHeadersMiddleware(inner, hsts=settings.secure_cookies))

    for domain in DOMAINS:
        for router in domain.routers:
            app.include_router(router)
    for router in KERNEL_ROUTERS:
        app.include_router(router)
    return app


def _wrap_outermost(app: FastAPI, layer: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put `layer` around the whole stack, outside Starlette's server-error layer (which `add_middleware`
    stays inside of), so that it also sees the 500 answered for an unexpected error."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return layer(build())

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]

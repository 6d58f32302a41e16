"""The web application: routers of every domain, the API conventions, pages and the embedded worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from consortia import __version__
from consortia.almaws import bibs as almaws_bibs
from consortia.almaws import conf as almaws_conf
from consortia.almaws import electronic as almaws_electronic
from consortia.almaws import import_profiles as almaws_import_profiles
from consortia.almaws import jobs as almaws_jobs
from consortia.almaws import sets as almaws_sets
from consortia.almaws import users as almaws_users
from consortia.almaws.conventions import TrailingSlashMiddleware, document_errors, install_error_handlers
from consortia.almaws.error_codes import markdown_table
from consortia.config import Settings, configure, get_settings
from consortia.db import get_database, init_database
from consortia.eresources import acq_api as eresources_acq_api
from consortia.eresources import acq_pages as eresources_acq_pages
from consortia.eresources import api as eresources_api
from consortia.eresources import delete_pages as eresources_delete_pages
from consortia.eresources import exchange_api as eresources_exchange_api
from consortia.eresources import exchange_pages as eresources_exchange_pages
from consortia.eresources import import_api as eresources_import_api
from consortia.eresources import import_pages as eresources_import_pages
from consortia.eresources import pages as eresources_pages
from consortia.eresources import service_pages as eresources_service_pages
from consortia.eresources import task_api as eresources_task_api
from consortia.eresources import task_pages as eresources_task_pages
from consortia.headers import SecurityHeadersMiddleware
from consortia.jobs import pages as job_pages
from consortia.logs import install_redaction
from consortia.network import api as network_api
from consortia.network import pages as network_pages
from consortia.platform import account_pages as platform_account_pages
from consortia.platform import api as platform_api
from consortia.platform import apikey_api as platform_apikey_api
from consortia.platform import pages as platform_pages
from consortia.platform import user_pages as platform_user_pages
from consortia.support import api as support_api
from consortia.support import pages as support_pages
from consortia.support import view_pages as support_view_pages
from consortia.web import mail_pages as web_mail_pages
from consortia.web import pages as web_pages
from consortia.web.templating import html_error

STATIC = Path(__file__).parent / "web" / "static"

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

    for router in (
        almaws_users.router,
        almaws_conf.router,
        almaws_jobs.router,
        almaws_electronic.router,
        almaws_bibs.router,
        almaws_sets.router,
        almaws_import_profiles.router,
        platform_api.router,
        platform_apikey_api.router,
        support_api.router,
        eresources_api.router,
        eresources_task_api.router,
        eresources_acq_api.router,
        eresources_import_api.router,
        eresources_exchange_api.router,
        network_api.router,
        web_pages.router,
        platform_pages.router,
        platform_user_pages.router,
        platform_account_pages.router,
        job_pages.router,
        support_pages.router,
        support_view_pages.router,
        eresources_pages.router,
        eresources_service_pages.router,
        eresources_delete_pages.router,
        eresources_task_pages.router,
        eresources_acq_pages.router,
        eresources_import_pages.router,
        eresources_exchange_pages.router,
        network_pages.router,
        web_mail_pages.router,
    ):
        app.include_router(router)
    return app


def _wrap_outermost(app: FastAPI, layer: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put `layer` around the whole stack, outside Starlette's server-error layer (which `add_middleware`
    stays inside of), so that it also sees the 500 answered for an unexpected error."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return layer(build())

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]

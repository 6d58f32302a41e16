"""Sign-in, sign-out, the start page, the health check and the favicon."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, demand
from consortia.config import get_settings
from consortia.errors import NotFound, Throttled, Unauthorized
from consortia.http.deps import SESSION_COOKIE, DbSession, page_declares, public
from consortia.jobs.queue import HueyQueue, get_queue
from consortia.platform.auth import create_web_session, end_web_session, sign_in
from consortia.platform.models import Institution, WebSession
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("consortia.web")

FAVICON = Path(__file__).parent / "static" / "favicon.ico"

LOGIN_CSRF_COOKIE = "consortia_login_csrf"


def _safe_next(target: str) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public())])
def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": _safe_next(next), "username": "", "institution": "", "error": ""},
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().secure_cookies
    )
    return response


@router.post("/login", dependencies=[Depends(public())])
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    institution: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    error = ""
    status = 400
    if not expected or not secrets.compare_digest(expected, csrf_token):
        error = "The sign-in form expired; please try again."
    else:
        try:
            user = sign_in(session, username, password, institution or None)
        except (Unauthorized, Throttled) as exc:
            error, status = exc.message, exc.status
            session.commit()  # keep the failure count even though the request fails
        else:
            settings = get_settings()
            token, _row = create_web_session(session, user, settings.session_hours)
            done = RedirectResponse(_safe_next(next), status_code=303)
            done.set_cookie(
                SESSION_COOKIE,
                token,
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                max_age=settings.session_hours * 3600,
            )
            done.delete_cookie(LOGIN_CSRF_COOKIE)
            return done
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next": _safe_next(next),
            "username": username,
            "institution": institution,
            "error": error,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().secure_cookies
    )
    return response


@router.post("/logout")
def logout(
    request: Request, session: DbSession, _identity: Annotated[Identity, Depends(page_declares(P.SIGNED_IN))]
) -> Response:
    end_web_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(page_declares(P.SIGNED_IN))]
) -> Response:
    institution = session.get(Institution, identity.institution_id) if identity.institution_id else None
    acting = session.get(Institution, identity.acting_institution_id) if identity.acting_institution_id else None
    may_choose = allows(identity, P.INSTITUTION_MANAGE)
    institutions = session.scalars(select(Institution).order_by(Institution.code)).all() if may_choose else []
    return render(
        request,
        "home.html",
        {
            "institution": institution,
            "consortium": institution.consortium if institution else None,
            "acting": acting,
            "institutions": institutions,
        },
    )


@router.post("/operator/acting-institution")
def choose_acting_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.INSTITUTION_MANAGE))],
    institution: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The operator picks the institution that institution-bound pages work in (`institution:manage`)."""
    demand(identity, P.INSTITUTION_MANAGE)
    found = request.state.signed_in
    row = session.get(WebSession, found.web_session.id)
    if row is None:
        raise NotFound("Session not found.")
    if institution:
        inst = session.scalars(select(Institution).where(Institution.code == institution.upper())).first()
        if inst is None:
            raise NotFound(f"Institution {institution} was not found.")
        row.acting_institution_id = inst.id
        return redirect("/", f"Now working in {inst.name}.")
    row.acting_institution_id = None
    return redirect("/", "Not working in any institution.")


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

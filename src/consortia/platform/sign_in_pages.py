"""Sign-in and sign-out, the start page, and the operator's choice of the institution to work in.

The health check and the favicon are the application's own (`consortia.app`).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.config import get_settings
from consortia.errors import Throttled, Unauthorized
from consortia.http.deps import SESSION_COOKIE, DbSession, page_declares, public
from consortia.platform.auth import create_web_session, end_web_session, set_acting_institution, sign_in
from consortia.platform.consortium_service import start_page_places
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

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
    places = start_page_places(session, identity)
    return render(
        request,
        "home.html",
        {
            "institution": places.institution,
            "consortium": places.institution.consortium if places.institution else None,
            "acting": places.acting,
            "institutions": places.choices,
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
    chosen = set_acting_institution(session, identity, request.state.signed_in.web_session.id, institution)
    if chosen is not None:
        return redirect("/", f"Now working in {chosen.name}.")
    return redirect("/", "Not working in any institution.")

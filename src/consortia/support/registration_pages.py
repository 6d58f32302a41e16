"""Public Support Center pages: self-registration and email confirmation (SC-3).

Nobody is signed in here, so the forms are protected by a double-submit token: a random value in a
strict same-site cookie that the form must echo.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from consortia.config import get_settings
from consortia.errors import BadRequest, Forbidden, Throttled
from consortia.http.deps import DbSession, public
from consortia.support import registration
from consortia.support.registration import Registration
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

CSRF_COOKIE = "consortia_support_csrf"


def _with_token(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, template, {**context, "form_token": token}, status=status)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().secure_cookies)
    return response


def _check_token(request: Request, token: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, token):
        raise Forbidden("The form has expired or did not come from this site; reload the page and try again.")


@router.get("/support/register", response_class=HTMLResponse, dependencies=[Depends(public())])
def register_page(request: Request, token: Annotated[str, Query(max_length=64)] = "") -> Response:
    values = {"registration_token": token, "institution": "", "email": "", "first_name": "", "last_name": ""}
    return _with_token(request, "support/register.html", {"values": values, "error": ""})


@router.post("/support/register", dependencies=[Depends(public())])
def register(
    request: Request,
    session: DbSession,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
    first_name: Annotated[str, Form(max_length=100)] = "",
    last_name: Annotated[str, Form(max_length=100)] = "",
    institution: Annotated[str, Form(max_length=40)] = "",
    registration_token: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _check_token(request, csrf_token)
    values = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "institution": institution,
        "registration_token": registration_token,
    }
    try:
        data = Registration.model_validate({**values, "password": password})
        registration.register(session, data, client=request.client.host if request.client else "")
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]).replace("_", " ") for e in exc.errors()}))
        error = f"Check these fields: {fields} (the password needs at least 8 characters)."
        return _with_token(request, "support/register.html", {"values": values, "error": error}, status=400)
    except (BadRequest, Throttled) as exc:
        context = {"values": values, "error": exc.message}
        return _with_token(request, "support/register.html", context, status=exc.status)
    return redirect("/support/register/sent")


@router.get("/support/register/sent", response_class=HTMLResponse, dependencies=[Depends(public())])
def register_sent(request: Request) -> Response:
    return render(request, "support/register_sent.html", {})


@router.get("/support/confirm/{token}", response_class=HTMLResponse, dependencies=[Depends(public())])
def confirm_page(request: Request, token: str) -> Response:
    """Confirming is a POST (a button), so that mail scanners that open links confirm nothing."""
    return _with_token(request, "support/confirm.html", {"token": token})


@router.post("/support/confirm/{token}", dependencies=[Depends(public())])
def confirm(
    request: Request, session: DbSession, token: str, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    _check_token(request, csrf_token)
    user = registration.confirm(session, token)
    return redirect(
        "/login?" + "next=/support/cases", f"Thank you: {user.email} is confirmed. Sign in as {user.primary_id}."
    )

"""Rendering pages: the layout's context (who is signed in, navigation, CSRF token) and error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from consortia.web import flash as flashes
from consortia.web.navigation import header_entries, visible_items

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _date(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M" if hasattr(value, "hour") else "%Y-%m-%d"))
    return str(value)


TEMPLATES.env.filters["date"] = _date


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    found = getattr(request.state, "signed_in", None)
    identity = found.identity if found else None
    # The message of the redirect that led here, from the signed flash cookie (never from the query).
    notice, used = flashes.take(request)
    nav = visible_items(identity) if identity else []
    base: dict[str, Any] = {
        "identity": identity,
        "nav": nav,
        "nav_entries": header_entries(nav),
        "csrf_token": found.csrf_token if found else "",
        "flash": notice.message,
        "flash_warning": notice.warning,
        "path": request.url.path,
    }
    base.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, base, status_code=status)
    if used:
        flashes.clear(response)
    return response


def redirect(url: str, flash: str | None = None, *, warning: str | None = None) -> RedirectResponse:
    """A redirect after a successful POST (303), with an optional message (and warning) shown once on
    the next page (`flash`: a signed one-shot cookie, never the address)."""
    response = RedirectResponse(url, status_code=303)
    flashes.keep(response, flashes.Flash(flash or "", warning or ""))
    return response


async def html_error(request: Request, status: int, message: str) -> Response:
    if status == 401:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    titles = {
        403: "Not permitted",
        404: "Not found",
        409: "Conflict",
        429: "Too many attempts",
        503: "Temporarily unavailable",
    }
    return render(
        request,
        "error.html",
        {"status": status, "title": titles.get(status, "Error"), "message": message},
        status=status,
    )

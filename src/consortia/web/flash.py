"""One-shot messages after a redirect ("flash"): carried in a signed cookie, never shown from the address.

A page that redirects after a POST names its message (and a warning) with
`templating.redirect(url, text, warning=...)`, which puts them in a short-lived, HttpOnly cookie
signed with the server's secret; the next full page that `templating.render` draws shows them once
and clears the cookie. Nothing shows message text from a query string, so a crafted link cannot make
a page say anything; a message reaches only the browser whose request produced it.

Why not message codes: messages name what changed (a case number, a user, the licences a change
granted, the second-licence warning of SC-11), several modules build them, and the server-side
session has no place for data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from consortia.config import get_settings

COOKIE = "consortia_flash"
# Long enough to survive the redirect, short enough that a message never turns up much later.
MAX_AGE_SECONDS = 120
# Each message is cut to this length, so that the cookie stays well below browsers' 4 KB limit.
MAX_CHARS = 1200


@dataclass(frozen=True)
class Flash:
    message: str = ""
    warning: str = ""

    def __bool__(self) -> bool:
        return bool(self.message or self.warning)


def _mac(payload: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"flash:" + payload.encode(), hashlib.sha256).hexdigest()


def pack(flash: Flash) -> str:
    """The cookie value: the messages as base64url JSON, a dot, their HMAC."""
    data = json.dumps([flash.message[:MAX_CHARS], flash.warning[:MAX_CHARS]], ensure_ascii=True)
    payload = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
    return f"{payload}.{_mac(payload)}"


def unpack(value: str | None) -> Flash:
    """The messages of a cookie value; anything unsigned, tampered with or malformed is no message."""
    if not value:
        return Flash()
    payload, _, mac = value.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload)):
        return Flash()
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return Flash()
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(item, str) for item in data)):
        return Flash()
    return Flash(data[0], data[1])


def take(request: Request) -> tuple[Flash, bool]:
    """(the messages for this page, whether the cookie is to be cleared).

    htmx fragments (polled status tables) neither show nor use up the messages of the page.
    """
    if request.headers.get("hx-request"):
        return Flash(), False
    value = request.cookies.get(COOKIE)
    return unpack(value), value is not None


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=get_settings().secure_cookies)


def _cookie_header(value: str) -> str:
    secure = "; Secure" if get_settings().secure_cookies else ""
    return f"{COOKIE}={value}; Max-Age={MAX_AGE_SECONDS}; Path=/; HttpOnly; SameSite=lax{secure}"


def keep(response: Response, flash: Flash) -> None:
    """Send `flash` with `response` (a redirect), for the next page to show."""
    if flash:
        response.headers.append("set-cookie", _cookie_header(pack(flash)))

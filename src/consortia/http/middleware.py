"""The layers around every request: security headers on every answer, and `/x/` routed as `/x`.

Security headers: a pure ASGI layer (no `BaseHTTPMiddleware`, which costs a task and a queue per
request) wrapped around the whole application, outside Starlette's server-error layer, so that even an
unexpected 500 carries the headers. The header lists are built once; per response the layer only
appends the ones the route has not set itself (an attachment's own `X-Content-Type-Options`, say).

Content security policies:

- pages (and static files): only this site's own scripts, styles, images and requests; no inline
  script or style (the templates have none: the share dialog's script is /static/share-case.js, htmx
  runs with `allowEval` and `includeIndicatorStyles` off, see base.html), no plugins, no framing.
- the API (`/almaws`, `/api`, `/openapi.json`): nothing at all may load (`default-src 'none'`).
- `/docs`: Swagger UI is loaded from its CDN and started by an inline script FastAPI writes, so this
  one page allows the CDN and inline script and style; it shows the OpenAPI document and nothing a
  user typed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consortia.http.answers import is_api_path

SWAGGER_CDN = "https://cdn.jsdelivr.net"

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    f"default-src 'none'; script-src 'self' {SWAGGER_CDN} 'unsafe-inline'; "
    f"style-src 'self' {SWAGGER_CDN} 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"

Headers = tuple[tuple[bytes, bytes], ...]
OURS = frozenset(
    {
        b"x-content-type-options",
        b"x-frame-options",
        b"referrer-policy",
        b"content-security-policy",
        b"strict-transport-security",
    }
)


def _headers(policy: str, *, hsts: bool) -> Headers:
    values = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("content-security-policy", policy),
    ]
    if hsts:
        values.append(("strict-transport-security", HSTS))
    return tuple((name.encode(), value.encode()) for name, value in values)


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response; HSTS only when the site is served over HTTPS
    (`hsts`, from `settings.secure_cookies`)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.page = _headers(PAGE_POLICY, hsts=hsts)
        self.api = _headers(API_POLICY, hsts=hsts)
        self.docs = _headers(DOCS_POLICY, hsts=hsts)

    def headers_for(self, path: str) -> Headers:
        if is_api_path(path):
            return self.api
        if path == "/docs" or path.startswith("/docs/"):
            return self.docs
        return self.page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if any(name.lower() in OURS for name, _ in headers):
                    present = {name.lower() for name, _ in headers}
                    headers.extend(item for item in extra if item[0] not in present)
                else:
                    headers.extend(extra)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- trailing slashes -------------------------------------------------------------------------


class TrailingSlashMiddleware:
    """Route `/x/` as `/x` (Alma documents some paths with a trailing slash; clients send both)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)

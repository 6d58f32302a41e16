"""The conventions of API.md, in one place, for `/almaws/v1` and `/api/v1` alike.

Key from header or query, `format` negotiation, the exact JSON Content-Type, the error body,
list envelopes and paging, trailing slashes, and the 503 answer when the database is gone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from consortia.errors import DomainError

log = logging.getLogger("consortia.api")

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
ALMA_XML_NS = "http://com/exlibris/urm/general/xmlbeans"
API_PREFIXES = ("/almaws/", "/api/")
MAX_LIMIT = 100
MAX_OFFSET = 2**62  # beyond any table; larger numbers overflow the databases' integers (a 500 otherwise)


# --- values -----------------------------------------------------------------------------------


def alma_date(value: dt.date | None) -> str | None:
    """Dates as Alma writes them: `YYYY-MM-DDZ`."""
    return None if value is None else value.isoformat() + "Z"


def alma_datetime(value: dt.datetime | None) -> str | None:
    return (
        None
        if value is None
        else value.replace(microsecond=(value.microsecond // 1000) * 1000).isoformat(timespec="milliseconds") + "Z"
    )


def parse_alma_date(value: Any, field: str) -> dt.date | None:
    """Accept `YYYY-MM-DD` with or without Alma's trailing `Z`; "" and None mean no date."""
    from consortia.errors import BadRequest

    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD).", "40166411")
    text = value.strip().rstrip("Z")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD), not {value!r}.", "40166411") from None


def coded(value: str | None, desc: str | None = None) -> dict[str, Any]:
    return {"value": value or "", "desc": desc}


def reference(value: str | int | None, link: str | None) -> dict[str, Any]:
    return {"value": "" if value is None else str(value), "link": link}


def envelope(key: str, items: Sequence[Mapping[str, Any]], total: int, **extra: Any) -> dict[str, Any]:
    """A list answer: the array under its singular key (omitted when empty) and the total."""
    body: dict[str, Any] = {}
    if items:
        body[key] = list(items)
    body["total_record_count"] = total
    body.update(extra)
    return body


Limit = Annotated[int, Query(ge=0, le=MAX_LIMIT, description="Page size, 0 to 100.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Records to skip.")]


# --- negotiation ------------------------------------------------------------------------------


def wants_xml(request: Request) -> bool:
    fmt = request.query_params.get("format", "").lower()
    if fmt in {"json", "xml"}:
        return fmt == "xml"
    accept = request.headers.get("accept", "").lower()
    return "xml" in accept and "json" not in accept


class AlmaJSONResponse(Response):
    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str)
        try:
            return text.encode()
        except UnicodeEncodeError:
            # A lone surrogate (a JSON body may carry one as an escape, and a message may repeat it) has no
            # UTF-8 form: answer with JSON's ASCII escapes instead of failing.
            return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers(headers)
        # Starlette appends "; charset=utf-8" only to text types; make sure nothing else is added.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-type"]
        self.raw_headers.append((b"content-type", JSON_TYPE.encode()))


def respond(
    request: Request,
    payload: Any,
    *,
    root: str = "result",
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Answer in the format the caller asked for (`format`, then `Accept`, JSON by default)."""
    if wants_xml(request):
        return Response(to_xml(root, payload), status_code=status, media_type=XML_TYPE, headers=headers)
    return AlmaJSONResponse(payload, status_code=status, headers=headers)


def to_xml(root: str, payload: Any) -> bytes:
    """A plain mapping of JSON to XML: coded values `{value, desc, link}` become text with attributes,
    lists become repeated elements, and list envelopes become `<roots total_record_count=N>`."""
    if isinstance(payload, Mapping) and "total_record_count" in payload:
        element = ET.Element(root + "s", {"total_record_count": str(payload["total_record_count"])})
        for key, value in payload.items():
            if key == "total_record_count":
                continue
            _append(element, key, value)
        return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))
    element = ET.Element(root)
    _fill(element, payload)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def _is_coded(value: Mapping[str, Any]) -> bool:
    return "value" in value and all(not isinstance(v, Mapping | list) for v in value.values())


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        if _is_coded(value):
            element.text = _text(value["value"])
            for key, attr in value.items():
                if key != "value" and attr is not None:
                    element.set(key, _text(attr))
            return
        for key, child in value.items():
            _append(element, key, child)
    elif value is not None:
        element.text = _text(value)


def _append(parent: ET.Element, key: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(parent, key), item)
    else:
        _fill(ET.SubElement(parent, key), value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- errors -----------------------------------------------------------------------------------


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    tracking = "E" + uuid.uuid4().hex[:20].upper()
    if wants_xml(request):
        ET.register_namespace("", ALMA_XML_NS)
        root = ET.Element(f"{{{ALMA_XML_NS}}}web_service_result")
        ET.SubElement(root, f"{{{ALMA_XML_NS}}}errorsExist").text = "true"
        error = ET.SubElement(ET.SubElement(root, f"{{{ALMA_XML_NS}}}errorList"), f"{{{ALMA_XML_NS}}}error")
        ET.SubElement(error, f"{{{ALMA_XML_NS}}}errorCode").text = code
        ET.SubElement(error, f"{{{ALMA_XML_NS}}}errorMessage").text = message
        ET.SubElement(error, f"{{{ALMA_XML_NS}}}trackingId").text = tracking
        return Response(ET.tostring(root, encoding="utf-8", xml_declaration=True), status, media_type=XML_TYPE)
    body = {
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": code, "errorMessage": message, "trackingId": tracking}]},
        "result": None,
    }
    return AlmaJSONResponse(body, status_code=status)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path == "/openapi.json"


def _validation_message(errors: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in {"body", "query", "path"})
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "Invalid input. " + "; ".join(parts[:10])


# The code of the errors Starlette and FastAPI answer themselves (an unknown path, a method the path does
# not take, a body that cannot be parsed); any other status gets Alma's general error.
HTTP_STATUS_CODES = {
    400: "40166411",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "402119",
    405: "402221",
    409: "CONFLICT",
    429: "PER_SECOND_THRESHOLD",
    503: "SERVICE_UNAVAILABLE",
}


def install_error_handlers(app: FastAPI, html_handler: Any = None) -> None:
    """Every error of the API in the one error body; pages get their own handler (html_handler)."""

    async def answer(request: Request, status: int, code: str, message: str) -> Response:
        if html_handler is not None and not is_api_path(request.url.path):
            return await html_handler(request, status, message)  # type: ignore[no-any-return]
        return error_response(request, status, code, message)

    def fixed(status: int, code: str, message: str, level: int = logging.INFO) -> Any:
        """A handler that answers one status, code and message for a kind of failure."""

        async def handler(request: Request, exc: Exception) -> Response:
            log.log(level, "%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
            return await answer(request, status, code, message)

        return handler

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if exc.status == 403 and hasattr(request.state, "identity"):
            log.warning(
                "denied: actor=%s action=%s %s permission=%s reason=%s",
                getattr(request.state.identity, "primary_id", "?"),
                request.method,
                request.url.path,
                getattr(request.state, "permission", "?"),
                exc.message,
            )
        return await answer(request, exc.status, exc.code, exc.message)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await answer(request, 400, "40166411", _validation_message(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = 400 if exc.status_code == 422 else exc.status_code
        code = HTTP_STATUS_CODES.get(status, "402119")
        message = str(exc.detail) if exc.detail else "Error"
        if status == 404 and message == "Not Found":
            message = "No such resource."
        return await answer(request, status, code, message)

    unavailable = fixed(
        503,
        "SERVICE_UNAVAILABLE",
        "The service is temporarily unavailable; nothing was changed. Try again shortly.",
        logging.ERROR,
    )
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(
        StaleDataError,
        fixed(409, "CONFLICT", "Someone else changed this record in the meantime; reload it and try again."),
    )
    app.add_exception_handler(
        IntegrityError,
        fixed(409, "CONFLICT", "The change conflicts with an existing record (a code or identifier already in use)."),
    )
    app.add_exception_handler(
        DataError, fixed(400, "40166411", "A value is too long or of the wrong kind for its field.")
    )
    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(InterfaceError, unavailable)
    app.add_exception_handler(DBAPIError, unavailable)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return await answer(request, 500, "402119", "An unexpected error occurred; nothing was changed.")

    app.add_exception_handler(Exception, unexpected)


# --- the OpenAPI document -----------------------------------------------------------------------

ERROR_BODY_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "Every failure of the API (convention 3 of the API contract), whatever its status.",
    "type": "object",
    "required": ["errorsExist", "errorList", "result"],
    "properties": {
        "errorsExist": {"type": "boolean", "enum": [True]},
        "errorList": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["errorCode", "errorMessage", "trackingId"],
                        "properties": {
                            "errorCode": {"type": "string"},
                            "errorMessage": {"type": "string"},
                            "trackingId": {"type": "string"},
                        },
                    },
                }
            },
        },
        "result": {"type": "null"},
    },
}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API answers on failure: every `/almaws` and `/api` operation
    gets the error body as its `default` response (any status it does not list), and FastAPI's 422,
    which is never answered (invalid input is a 400 in the error body), is taken out."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR_BODY_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(API_PREFIXES):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["default"] = {
                    "description": "Error (400 invalid input, 401 no or bad key, 403 not permitted, 404 unknown "
                    "or outside the caller's tenancy, 409 conflict, 429 throttled, 503 unavailable; the error codes "
                    "are listed in the API's description)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
        for unused in ("HTTPValidationError", "ValidationError"):  # the second is used only by the first
            if f'"#/components/schemas/{unused}"' not in json.dumps(schema):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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

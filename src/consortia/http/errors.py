"""The API's error body for every failure (convention 3 of API.md), the handlers that answer it (pages
get their own handler), the 503 answer when the database is gone, and the OpenAPI document's account of
the error body.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from consortia.errors import DomainError
from consortia.http.answers import API_PREFIXES, XML_TYPE, AlmaJSONResponse, is_api_path, wants_xml

log = logging.getLogger("consortia.api")

ALMA_XML_NS = "http://com/exlibris/urm/general/xmlbeans"


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

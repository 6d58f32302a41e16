"""How `/almaws/v1` and `/api/v1` answer (API.md's conventions): list envelopes and paging, `format`
negotiation, the exact JSON Content-Type, and JSON mapped to XML.

The values inside an answer (dates, coded values) are written by `consortia.formats`; the error body is
`consortia.http.errors`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import Query, Request
from fastapi.responses import Response

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
API_PREFIXES = ("/almaws/", "/api/")
MAX_LIMIT = 100
MAX_OFFSET = 2**62  # beyond any table; larger numbers overflow the databases' integers (a 500 otherwise)


def base_url(request: Request) -> str:
    """The site's address as this request reached it, without a trailing slash (links in answers)."""
    return str(request.base_url).rstrip("/")


def is_api_path(path: str) -> bool:
    """Whether a request is the API's (answered in the API's shapes) rather than a page's."""
    return path.startswith(API_PREFIXES) or path == "/openapi.json"


# --- lists ------------------------------------------------------------------------------------


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


# --- downloads --------------------------------------------------------------------------------


def download(name: str, media_type: str, content: bytes) -> Response:
    """A file as a download (an API's or a page's): never shown inline, never sniffed."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"},
    )


def content_disposition(name: str) -> str:
    """`attachment` with the file name as RFC 6266 gives it: `filename*` carries the name in UTF-8
    (percent-encoded), `filename` an ASCII stand-in for clients that know no `filename*`. A header is
    Latin-1 on the wire, so the name itself never goes there as it is."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\]', "_", ascii_name)
    ascii_name = re.sub(r"_{2,}", "_", ascii_name).strip() or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"

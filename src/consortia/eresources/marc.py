"""MARC of bibliographic records (ER-1): MARCXML in, pymarc in the middle, MARCXML out.

A record arrives as Alma's `<bib><record>…</record></bib>` or a bare MARCXML `<record>` (with or
without the MARC21 slim namespace). Documents with a DOCTYPE are refused before parsing (no entity
expansion of untrusted input), as is anything over `MAX_BYTES`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from xml.sax import SAXException

import pymarc

from consortia.errors import BadRequest

MAX_BYTES = 1_000_000
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedBib:
    """What a record says of itself, and the record as MARCXML to keep."""

    title: str
    author: str
    issn: str
    isbn: str
    marcxml: str


def _first(record: pymarc.Record, tag: str, *codes: str) -> str:
    for found in record.get_fields(tag):
        parts = [part.strip() for part in found.get_subfields(*codes) if part and part.strip()]
        if parts:
            return " ".join(parts).rstrip(" /:;,.").strip()
    return ""


def parse_marcxml(data: bytes | str) -> ParsedBib:
    """The one record of a MARCXML document; 400 naming the field `record` when it is not one."""
    raw = data.encode() if isinstance(data, str) else data
    if not raw.strip():
        raise BadRequest("record: the body must hold a MARCXML record.", "60159")
    if len(raw) > MAX_BYTES:
        raise BadRequest(f"record: the MARCXML record is larger than {MAX_BYTES} bytes.", "40166411")
    if _DOCTYPE.search(raw):
        raise BadRequest("record: a MARCXML record may not carry a DOCTYPE or entities.", "40166411")
    try:
        records = pymarc.parse_xml_to_array(io.BytesIO(raw), strict=False)  # type: ignore[no-untyped-call]
    except (SAXException, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise BadRequest(f"record: the body is not well-formed MARCXML ({exc}).", "40166411") from None
    records = [r for r in records if r is not None]
    if len(records) != 1:
        raise BadRequest(f"record: expected one MARCXML <record>, found {len(records)}.", "40166411")
    record = records[0]
    title = _first(record, "245", "a", "b")
    if not title:
        raise BadRequest("record: the MARCXML record has no title (field 245 $a).", "40166411")
    try:
        text = pymarc.record_to_xml(record, namespace=True).decode()  # type: ignore[no-untyped-call]
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"record: the MARCXML record cannot be stored ({exc}).", "40166411") from None
    return ParsedBib(
        title=title[:500],
        author=_first(record, "100", "a")[:300],
        issn=_first(record, "022", "a")[:40],
        isbn=_first(record, "020", "a")[:40],
        marcxml=text,
    )


def _field(tag: str, indicators: tuple[str, str], value: str) -> pymarc.Field:
    return pymarc.Field(tag=tag, indicators=pymarc.Indicators(*indicators), subfields=[pymarc.Subfield("a", value)])


def minimal_marcxml(title: str, *, issn: str = "", isbn: str = "", author: str = "") -> str:
    """A MARCXML record for a title (portfolios made from the Community Zone, demo and generated data)."""
    record = pymarc.Record(leader="00000nas a2200000 a 4500" if issn else "00000nam a2200000 a 4500")
    fields = [
        ("100", ("1", " "), author),
        ("245", ("0", "0"), title),
        ("022", (" ", " "), issn),
        ("020", (" ", " "), isbn),
    ]
    for tag, indicators, value in fields:
        if value:
            record.add_field(_field(tag, indicators, value))  # type: ignore[no-untyped-call]
    return str(pymarc.record_to_xml(record, namespace=True).decode())  # type: ignore[no-untyped-call]

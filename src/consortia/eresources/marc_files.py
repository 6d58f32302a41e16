"""Reading MARC files record by record from any byte offset (ER-22, R-5): binary MARC21 and MARCXML.

Records are framed here, not by pymarc's reader, so that a broken record never loses the ones after
it and every record has its byte offset (the import job's checkpoint): a MARC21 record ends with the
record terminator (0x1D), a MARCXML record is one `<record>...</record>` element. Each framed record is
then parsed by pymarc on its own. Problems are reported by record number and reason:
a leader that is not a leader, a length that does not match, a bad directory, text that is not in the
encoding the leader names (position 9: `a` UTF-8, blank MARC-8), a truncated last record, XML that is
not well-formed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax import SAXException

import pymarc

MARC21, MARCXML = "MARC21", "MARCXML"
END_OF_RECORD = 0x1D
MARC_NS = "http://www.loc.gov/MARC21/slim"
_XML_START = re.compile(rb"<([A-Za-z_][\w.-]*:)?record[\s>/]")
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class MarcProblem(Exception):
    """A record that cannot be read, with the reason people are told."""


def detect_format(head: bytes) -> str | None:
    """MARC21 or MARCXML from the first bytes of a file; None when it is neither."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return MARCXML if b"record" in head or b"collection" in head else None
    if len(text) >= 24 and text[:5].isdigit() and text[12:17].isdigit() and b"\x1e" in text[:100_000]:
        return MARC21
    return None


def has_doctype(head: bytes) -> bool:
    return bool(_DOCTYPE.search(head))


@dataclass(frozen=True)
class Framed:
    """One record's bytes (None: what was left could not be framed), with where the next record starts."""

    raw: bytes | None
    next_offset: int
    problem: str = ""


def frame_marc21(blocks: Iterable[bytes], offset: int) -> Iterator[Framed]:
    buffer = bytearray()
    position = offset  # the file offset of buffer[0]
    for block in blocks:
        buffer += block
        start = 0
        while True:
            end = buffer.find(END_OF_RECORD, start)
            if end < 0:
                break
            raw = bytes(buffer[start : end + 1])
            start = end + 1
            if raw.strip(b" \r\n\x00"):
                yield Framed(raw.lstrip(b"\r\n"), position + start)
        del buffer[:start]
        position += start
    if buffer.strip(b" \r\n\x00\x1a"):
        yield Framed(None, position + len(buffer), "the file ends in the middle of a record (truncated)")


def frame_marcxml(blocks: Iterable[bytes], offset: int) -> Iterator[Framed]:
    buffer = bytearray()
    position = offset
    for block in blocks:
        buffer += block
        start = 0
        while True:
            found = _XML_START.search(buffer, start)
            if found is None:
                # Keep a tail that may hold the start of a record tag cut by the block boundary.
                start = max(start, len(buffer) - 64)
                break
            prefix = found.group(1) or b""
            closing = b"</" + prefix + b"record>"
            end = buffer.find(closing, found.start())
            if end < 0:
                start = found.start()
                break
            stop = end + len(closing)
            yield Framed(bytes(buffer[found.start() : stop]), position + stop)
            start = stop
        del buffer[:start]
        position += start
    if _XML_START.search(buffer):
        yield Framed(None, position + len(buffer), "the file ends in the middle of a record (truncated)")


def xml_encoding(head: bytes) -> str | None:
    found = _XML_DECLARATION.match(head)
    return found.group(1).decode("ascii") if found else None


def parse_marc21(raw: bytes) -> pymarc.Record:
    leader = raw[:24]
    if len(raw) < 25 or not leader[:5].isdigit() or not leader[12:17].isdigit():
        raise MarcProblem("the leader is not a MARC21 leader (record length and base address must be digits)")
    if int(leader[:5]) != len(raw):
        raise MarcProblem(f"the record length in the leader ({int(leader[:5])}) is not the record's ({len(raw)} bytes)")
    utf8 = leader[9:10] == b"a"
    try:
        return pymarc.Record(
            data=raw, to_unicode=True, force_utf8=utf8, hide_utf8_warnings=True, utf8_handling="strict"
        )
    except UnicodeDecodeError as exc:
        raise MarcProblem(
            f"the record is not in the encoding its leader names ({'UTF-8' if utf8 else 'MARC-8'}): {exc.reason} "
            f"at byte {exc.start}"
        ) from None
    except pymarc.exceptions.PymarcException as exc:
        raise MarcProblem(f"the record is malformed ({type(exc).__name__}: {exc})") from None
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise MarcProblem(f"the record's directory or fields are malformed ({exc})") from None


def parse_marcxml_record(raw: bytes, encoding: str | None) -> pymarc.Record:
    if b"<!" in raw:
        raise MarcProblem("a record may not carry a DOCTYPE, entities or CDATA declarations")
    prefix = _XML_START.match(raw)
    name = (prefix.group(1) or b"")[:-1] if prefix else b""
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() if encoding else b""
    namespaces = f' xmlns="{MARC_NS}"'.encode()
    if name:
        namespaces += b" xmlns:" + name + f'="{MARC_NS}"'.encode()
    wrapped = declaration + b"<collection" + namespaces + b">" + raw + b"</collection>"
    try:
        records = pymarc.parse_xml_to_array(io.BytesIO(wrapped), strict=False)  # type: ignore[no-untyped-call]
    except (SAXException, ValueError, KeyError, IndexError, AttributeError, LookupError) as exc:
        raise MarcProblem(f"the record is not well-formed MARCXML ({exc})") from None
    found = [r for r in records if r is not None]
    if len(found) != 1:
        raise MarcProblem("the record is not a MARCXML record")
    record: pymarc.Record = found[0]
    return record

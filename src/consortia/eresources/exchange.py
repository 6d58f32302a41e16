"""The Extended export of portfolios and loading portfolios from it (ER-20).

The export is a CSV of every portfolio of the institution the caller may read (R-3: never another
institution's), with "Library" (the portfolio's own) and "Electronic Collection Library" (its collection's).
It is a generator over one statement read in partitions (`yield_per`: a server-side cursor on PostgreSQL),
each written out as a block of lines before the next is fetched, so memory stays flat for millions of rows.

The load takes a file with the export's headers (any order, any subset that includes "Portfolio ID" or
"MMS ID"). "Electronic Collection Library" is read-only and ignored, as are the other descriptive columns
(title, identifiers, collection names). A row with a Portfolio ID updates that portfolio; a row without one
and with an MMS ID creates a local portfolio (standalone, or in the collection/service named). Every row goes
through the same verbs and scope rule as the editor (`access_portfolio(..., PORTFOLIO_EDIT)`,
`create_portfolio`), each in its own savepoint: a bad row (a value refused, too long for its column, a row of
the wrong length) is reported as {row, column, reason} (row counts the file's records as a spreadsheet shows
them, the header being row 1) and the good rows load. A file that is not a UTF-8 CSV, is empty or has
unknown, duplicate or missing headers is refused whole (400); one above the configured upload limit (at most
20 MB) or of more than `MAX_ROWS` rows too (413).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session, aliased

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, demand
from consortia.config import get_settings
from consortia.eresources import service
from consortia.eresources.models import AVAILABILITY, ElectronicCollection, Portfolio
from consortia.errors import BadRequest, DomainError
from consortia.platform.models import Institution, Library

PORTFOLIO_ID, MMS_ID = "Portfolio ID", "MMS ID"
COLLECTION_ID, SERVICE_ID = "Electronic Collection ID", "Service ID"
LIBRARY, COLLECTION_LIBRARY = "Library", "Electronic Collection Library"
HEADERS = (
    PORTFOLIO_ID,
    MMS_ID,
    "Title",
    "ISSN",
    "ISBN",
    COLLECTION_ID,
    "Electronic Collection",
    SERVICE_ID,
    LIBRARY,
    COLLECTION_LIBRARY,
    "Availability",
    "Coverage",
    "PO Line",
    "License",
)
# Columns the load reads; the others describe the row and are ignored (ER-20: the collection's library too).
LOADED = {
    LIBRARY: "library",
    "Availability": "availability",
    "Coverage": "coverage",
    "PO Line": "po_line",
    "License": "license",
}
PARTITION = 2000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the load reads its file whole: never more than this, whatever is configured
MAX_ROWS = 100_000


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "PAYLOAD_TOO_LARGE"


def max_upload_bytes() -> int:
    """The largest file the load takes: the configured upload limit (CONSORTIA_MAX_UPLOAD_BYTES), at most
    `MAX_UPLOAD_BYTES`."""
    return min(get_settings().max_upload_bytes, MAX_UPLOAD_BYTES)


# --- export -----------------------------------------------------------------------------------


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def export_csv(session: Session, identity: Identity, institution: Institution) -> Iterator[str]:
    """The Extended export: checks the caller first (before anything is sent), then yields the header and
    one block of lines per partition of rows."""
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    return _export(session, institution.id)


def export_statement(institution_id: int) -> Select[*tuple[Any, ...]]:
    """The export's rows of one institution, in id order, in the columns of `HEADERS` as the file shows them
    (availability by its description): one statement, read `PARTITION` rows at a time (`yield_per`, which
    makes it a server-side cursor on PostgreSQL)."""
    own = aliased(Library)
    inherited = aliased(Library)
    return (
        select(
            Portfolio.id,
            Portfolio.bib_id,
            Portfolio.title,
            Portfolio.issn,
            Portfolio.isbn,
            Portfolio.collection_id,
            ElectronicCollection.public_name,
            Portfolio.service_id,
            own.code,
            inherited.code,
            case(AVAILABILITY, value=Portfolio.availability, else_=Portfolio.availability),
            Portfolio.coverage,
            Portfolio.po_line,
            Portfolio.license,
        )
        .outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
        .outerjoin(own, own.id == Portfolio.library_id)
        .outerjoin(inherited, inherited.id == ElectronicCollection.library_id)
        .where(Portfolio.institution_id == institution_id)
        .order_by(Portfolio.id)
        .execution_options(yield_per=PARTITION)
    )


def _export(session: Session, institution_id: int) -> Iterator[str]:
    yield _line(list(HEADERS))
    # Core rows (the session's connection, its transaction): the ORM's row handling would double the cost.
    result = session.connection().execute(export_statement(institution_id))
    for partition in result.partitions():
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(partition)  # None is written as ""
        yield out.getvalue()


# --- load -------------------------------------------------------------------------------------


@dataclass
class RowProblem:
    row: int
    column: str
    reason: str


@dataclass
class LoadReport:
    updated: int = 0
    created: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def _read(content: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and rows of an uploaded file, or 400/413 for the whole file."""
    limit = max_upload_bytes()
    if len(content) > limit:
        raise PayloadTooLarge(f"file: the file is larger than the {limit:,} bytes the load takes.")
    if not content.strip():
        raise BadRequest("file: the file is empty.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(f"file: not a UTF-8 CSV file (byte {error.start} cannot be read).") from None
    if "\x00" in text:
        raise BadRequest("file: not a CSV file (it holds NUL characters).")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise BadRequest(f"file: not a CSV file ({error}).") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise BadRequest("file: the file has no header row.")
    header = [cell.strip() for cell in rows[0]]
    unknown = [h for h in header if h not in HEADERS]
    if unknown:
        raise BadRequest(
            f"file: unknown column(s) {', '.join(repr(h) for h in unknown)}; the headers are those of the export: "
            + ", ".join(HEADERS)
            + "."
        )
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise BadRequest(f"file: column(s) given twice: {', '.join(duplicated)}.")
    if PORTFOLIO_ID not in header and MMS_ID not in header:
        raise BadRequest(f"file: the file needs a {PORTFOLIO_ID!r} column (or {MMS_ID!r} to add portfolios).")
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise PayloadTooLarge(f"file: at most {MAX_ROWS} rows at a time.")
    if not any(any(cell.strip() for cell in row) for row in body):
        raise BadRequest("file: the file has no rows.")
    return header, body


def _column_of(error: DomainError, default: str) -> str:
    """The column a verb's refusal names ("library: ..." is the Library column)."""
    name = error.message.split(":", 1)[0].strip() if ":" in error.message else ""
    by_field = {v: k for k, v in LOADED.items()} | {"electronic_collection": COLLECTION_ID}
    return by_field.get(name, by_field.get(name.split(".")[0], default))


def _too_long(values: dict[str, str]) -> RowProblem | None:
    """The first loaded value longer than its column holds (the API and pages refuse it in their schemas;
    PostgreSQL would refuse the whole statement), as a problem of row 0 that the caller numbers."""
    columns = Portfolio.__table__.c
    for column, attr in LOADED.items():
        limit = getattr(columns[attr].type, "length", None) if attr in columns else None
        if limit is not None and len(values.get(column, "")) > limit:
            return RowProblem(0, column, f"at most {limit} characters ({len(values[column])} given)")
    return None


def _availability(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None  # blank: unchanged (a portfolio always has an availability)
    by_desc = {desc.lower(): code for code, desc in AVAILABILITY.items()}
    return by_desc.get(value.strip().lower(), value.strip())


def load_portfolios(session: Session, identity: Identity, institution: Institution, content: bytes) -> LoadReport:
    """Load a file of the export's shape (see the module's docstring); the entry point commits."""
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    header, rows = _read(content)
    report = LoadReport()
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            report.problems.append(
                RowProblem(number, PORTFOLIO_ID, f"the row has {len(cells)} values for {len(header)} columns")
            )
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        too_long = _too_long(values)
        if too_long is not None:
            too_long.row = number
            report.problems.append(too_long)
            continue
        given: dict[str, Any] = {attr: values[col] for col, attr in LOADED.items() if col in values}
        change = service.PortfolioChange(**given)
        change.availability = _availability(change.availability)
        pid = values.get(PORTFOLIO_ID, "")
        savepoint = session.begin_nested()
        try:
            if pid:
                portfolio = service.access_portfolio(session, identity, pid, P.PORTFOLIO_EDIT)
                service.update_portfolio(session, identity, portfolio, change)
            else:
                if not values.get(MMS_ID):
                    raise BadRequest(f"{PORTFOLIO_ID} or {MMS_ID} is needed.")
                bib = service.access_bib(session, identity, values[MMS_ID])
                change.collection_id = values.get(COLLECTION_ID) or None
                change.service_id = values.get(SERVICE_ID) or None
                service.create_portfolio(session, identity, institution, bib, change)
        except DomainError as error:
            savepoint.rollback()
            report.problems.append(
                RowProblem(number, _column_of(error, PORTFOLIO_ID if pid else MMS_ID), error.message)
            )
            continue
        savepoint.commit()
        if pid:
            report.updated += 1
        else:
            report.created += 1
    return report

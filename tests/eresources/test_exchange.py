"""ER-20: the Extended export with "Library" and "Electronic Collection Library", streamed; loading portfolios
from that file ignores "Electronic Collection Library", checks every row with the scope rule, reports bad rows
by row, column and reason while the good ones load, and refuses a wrong file whole."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia import config
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.eresources import exchange
from consortia.eresources.models import ElectronicCollection, Portfolio
from tests.eresources.conftest import PEOPLE, World, bib, build_world, collection, portfolio
from tests.eresources.test_scope_matrix import EDITING, may
from tests.factories import Factory
from tests.support.conftest import sign_in

API = "/api/v1/eresources/portfolios"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_csv(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def load(client: TestClient, headers: dict[str, str], content: bytes, name: str = "p.csv") -> Any:
    return client.post(f"{API}/load", files={"file": (name, content, "text/csv")}, headers=headers)


def inventory(db: Session, world: World) -> dict[str, Portfolio]:
    _c, sci = collection(db, world.east, world.sci, name="Science")
    found = {
        "law": portfolio(db, world.east, library=world.law, title="Law own"),
        "sci": portfolio(db, world.east, service=sci, title="Sci inherited"),
        "none": portfolio(db, world.east, title="Institution"),
    }
    _w, west_service = collection(db, world.west, world.west_lib, name="West")
    portfolio(db, world.west, service=west_service, title="West only")
    db.commit()
    return found


def test_the_export_has_library_and_electronic_collection_library(
    client: TestClient, db: Session, world: World
) -> None:
    """Seed: "Two columns were added to the Extended Export report: 'Library' and "Electronic Collection
    Library""; only the caller's institution is exported (R-3)."""
    found = inventory(db, world)
    answer = client.get(f"{API}/export.csv", headers=world.key("eio_law"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = {r["Portfolio ID"]: r for r in rows_of(answer.text)}
    assert set(rows) == {str(p.id) for p in found.values()}
    assert (rows[str(found["law"].id)]["Library"], rows[str(found["law"].id)]["Electronic Collection Library"]) == (
        "EAST_LAW",
        "",
    )
    assert rows[str(found["sci"].id)]["Electronic Collection Library"] == "EAST_SCI"
    assert rows[str(found["sci"].id)]["Library"] == ""
    assert rows[str(found["none"].id)]["Availability"] == "Available"
    assert list(rows_of(answer.text)[0]) == list(exchange.HEADERS)
    assert client.get(f"{API}/export.csv", headers=world.key("patron")).status_code == 403


def test_the_export_streams_in_partitions(db: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """N: a generator over a query read in partitions (`yield_per`), a block of lines per partition."""
    inventory(db, world)
    for n in range(7):
        portfolio(db, world.east, title=f"More {n}")
    db.commit()
    monkeypatch.setattr(exchange, "PARTITION", 3)
    blocks = list(exchange.export_csv(db, identity_of(world.users["eio"]), world.east))
    assert len(blocks) == 1 + 4  # the header, then 10 rows in partitions of 3
    assert sum(block.count("\r\n") for block in blocks[1:]) == 10


class CountingCursor:
    """A DB-API cursor that counts the rows it handed over (any other attribute is the cursor's own)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.statement = ""
        self.fetched = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)

    def execute(self, statement: str, *args: Any) -> Any:
        self.statement = statement
        return self.cursor.execute(statement, *args)

    def fetchmany(self, *args: Any) -> Any:
        rows = self.cursor.fetchmany(*args)
        self.fetched += len(rows)
        return rows

    def fetchall(self) -> Any:
        rows = self.cursor.fetchall()
        self.fetched += len(rows)
        return rows

    def fetchone(self) -> Any:
        row = self.cursor.fetchone()
        self.fetched += row is not None
        return row

    @property
    def received(self) -> int:
        """Rows that reached this process: those fetched, or all of them when the driver read the whole
        result at execute (a client-side psycopg cursor's rowcount; a server-side cursor's counts the rows
        fetched so far, SQLite's is -1)."""
        return max(self.fetched, self.cursor.rowcount)


def test_the_export_sends_its_first_rows_before_it_reads_the_others(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N (memory flat for millions of rows): when the first block of lines is out, at most two partitions
    of the 30 rows have reached the process. SQLite steps the statement as rows are fetched; on PostgreSQL
    this holds only with a server-side cursor (a client-side one receives the whole result at execute)."""
    inventory(db, world)
    for n in range(27):
        portfolio(db, world.east, title=f"More {n}")
    db.commit()
    monkeypatch.setattr(exchange, "PARTITION", 3)
    cursors: list[CountingCursor] = []
    context_class = db.get_bind().dialect.execution_ctx_cls
    create_cursor = context_class.create_cursor

    def counting(context: Any) -> CountingCursor:
        cursor = CountingCursor(create_cursor(context))
        cursors.append(cursor)
        return cursor

    monkeypatch.setattr(context_class, "create_cursor", counting)
    blocks = exchange.export_csv(db, identity_of(world.users["eio"]), world.east)
    assert next(blocks).startswith("Portfolio ID,")
    assert next(blocks).count("\r\n") == 3
    (export,) = [c for c in cursors if "FROM portfolio" in c.statement]
    assert 3 <= export.received <= 6, export.received
    assert sum(block.count("\r\n") for block in blocks) == 30 - 3
    assert export.fetched == 30


def test_the_load_ignores_electronic_collection_library(client: TestClient, db: Session, world: World) -> None:
    """Seed: "Note that the "Electronic Collection Library" column is not used during import/portfolio load"."""
    found = inventory(db, world)
    headers = world.key("eio")
    rows = rows_of(client.get(f"{API}/export.csv", headers=headers).text)
    for row in rows:
        row["Electronic Collection Library"] = "EAST_MAIN"
        row["Coverage"] = "1999 - present"
    answer = load(client, headers, as_csv(rows))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"updated": 3, "created": 0, "errors": []}
    db.expire_all()
    sci = db.get(Portfolio, found["sci"].id)
    assert sci is not None
    assert sci.coverage == "1999 - present"
    assert db.scalar(select(ElectronicCollection.library_id).where(ElectronicCollection.id == sci.collection_id)) == (
        world.sci.id
    )
    assert sci.library_id is None
    history = db.scalars(
        select(HistoryEvent.field).where(HistoryEvent.entity == "portfolio", HistoryEvent.entity_id == str(sci.id))
    ).all()
    assert "coverage" in history


def test_bad_rows_are_reported_and_good_rows_load(client: TestClient, db: Session, world: World) -> None:
    """R-5 and ER-5: every row checked by the scope rule; bad rows by row, column and reason."""
    found = inventory(db, world)
    west = db.scalars(select(Portfolio.id).where(Portfolio.institution_id == world.west.id)).one()
    record = bib(db, world.east, "New title")
    db.commit()
    header = ["Portfolio ID", "MMS ID", "Library", "Availability", "Coverage", "Electronic Collection Library"]
    rows = [
        {"Portfolio ID": found["law"].id, "Coverage": "ok", "Library": "EAST_LAW"},  # row 2: in scope
        {"Portfolio ID": found["sci"].id, "Coverage": "no"},  # row 3: SCI, out of scope
        {"Portfolio ID": west, "Coverage": "no"},  # row 4: another institution's: not found
        {"Portfolio ID": "99999999"},  # row 5: unknown
        {"Portfolio ID": found["law"].id, "Availability": "maybe"},  # row 6: bad availability
        {"Portfolio ID": found["law"].id, "Library": "EAST_SCI"},  # row 7: a library out of scope
        {"MMS ID": record.id, "Library": "EAST_LAW", "Coverage": "new"},  # row 8: creates
    ]
    answer = load(client, world.key("eio_law"), as_csv(rows, header))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["updated"], body["created"]) == (1, 1)
    problems = {p["row"]: (p["column"], p["reason"]) for p in body["errors"]}
    assert set(problems) == {3, 4, 5, 6, 7}
    assert problems[3][0] == "Portfolio ID"
    assert "EAST_SCI" in problems[3][1]
    assert problems[4][1].replace(str(west), "N") == problems[5][1].replace("99999999", "N")
    assert problems[6][0] == "Availability"
    assert problems[7][0] == "Library"
    db.expire_all()
    assert db.get(Portfolio, found["law"].id).coverage == "ok"  # type: ignore[union-attr]
    assert db.get(Portfolio, found["sci"].id).coverage == ""  # type: ignore[union-attr]
    made = db.scalars(select(Portfolio).where(Portfolio.bib_id == record.id)).one()
    assert (made.library_id, made.coverage) == (world.law.id, "new")


def test_every_kind_of_bad_row_is_reported_by_row_column_and_reason(
    client: TestClient, db: Session, world: World
) -> None:
    """R-5: values the verbs refuse, values the table cannot hold and rows of the wrong shape are each
    reported with their row (the header is row 1), column and reason; the good rows around them load."""
    found = inventory(db, world)
    record = bib(db, world.east, "New title")
    db.commit()
    law, long = found["law"].id, "x" * 201
    lines = [
        "Portfolio ID,MMS ID,Electronic Collection ID,Service ID,Library,Availability,Coverage,PO Line,License",
        f"{law},,,,,,good,,",  # 2: loads
        "abc,,,,,,x,,",  # 3: not an id
        "99999999999999999999,,,,,,x,,",  # 4: beyond any id
        f"{law},,,,,,x",  # 5: too few values
        f"{law},,,,,,x,,,extra",  # 6: too many values
        ",xyz,,,,,x,,",  # 7: not an MMS ID
        f",{record.id},nope,,,,x,,",  # 8: not a collection
        f"{law},,,,NOPE,,x,,",  # 9: no such library
        f"{law},,,,,Sometimes,x,,",  # 10: no such availability
        f"{law},,,,,,{long},,",  # 11: coverage longer than 200
        f"{law},,,,,,,{'p' * 61},",  # 12: PO line longer than 60
        f"{law},,,,,,,,{'l' * 61}",  # 13: licence longer than 60
        ",,,,,,x,,",  # 14: neither id
        "",  # 15: blank: skipped
        f",{record.id},,,EAST_LAW,,made,,",  # 16: creates
    ]
    answer = load(client, world.key("eio"), "\r\n".join(lines).encode() + b"\r\n")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["updated"], body["created"]) == (1, 1), body
    problems = {p["row"]: p["column"] for p in body["errors"]}
    assert problems == {
        3: "Portfolio ID",
        4: "Portfolio ID",
        5: "Portfolio ID",
        6: "Portfolio ID",
        7: "MMS ID",
        8: "Electronic Collection ID",
        9: "Library",
        10: "Availability",
        11: "Coverage",
        12: "PO Line",
        13: "License",
        14: "MMS ID",
    }, body
    assert all(p["reason"] for p in body["errors"])
    db.expire_all()
    assert db.get(Portfolio, law).coverage == "good"  # type: ignore[union-attr]
    made = db.scalars(select(Portfolio).where(Portfolio.bib_id == record.id)).one()
    assert (made.coverage, made.library_id) == ("made", world.law.id)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"Portfolio ID,Colour\r\n1,red\r\n", "unknown column"),
        (b"Title,Coverage\r\nA,B\r\n", "Portfolio ID"),
        (b"Portfolio ID,Portfolio ID\r\n1,1\r\n", "twice"),
        (b"\xff\xfe\x00\x01binary", "UTF-8"),
        (b"Portfolio ID,Coverage\r\n", "no rows"),
        (b"  \r\n\r\n", "empty"),
        (b" , \r\n1,x\r\n", "no header row"),
        (b'{"portfolios": [{"id": 1}]}', "unknown column"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "UTF-8"),
        (b"Portfolio ID,Coverage\r\n1,a\x00b\r\n", "NUL"),
        (b"Portfolio ID,Coverage\r\n1,\xe9t\xe9\r\n", "UTF-8"),
    ],
)
def test_a_wrong_file_is_refused_whole(
    client: TestClient, db: Session, world: World, content: bytes, words: str
) -> None:
    inventory(db, world)
    headers = world.key("eio")
    before = db.scalar(select(HistoryEvent.id).order_by(HistoryEvent.id.desc()).limit(1))
    answer = load(client, headers, content)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["errorList"]["error"][0]["errorMessage"]
    assert db.scalar(select(HistoryEvent.id).order_by(HistoryEvent.id.desc()).limit(1)) == before


def test_a_file_above_the_configured_size_or_row_limit_is_413_and_loads_nothing(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-2: an upload above CONSORTIA_MAX_UPLOAD_BYTES (the load takes at most 20 MB whatever is configured)
    or above the row limit answers 413 in the error shape; nothing is loaded."""
    found = inventory(db, world)
    content = as_csv([{"Portfolio ID": found["law"].id, "Coverage": "too large"}] * 10)
    headers = world.key("eio")  # its key is made (and recorded) before the history is read
    before = db.scalar(select(HistoryEvent.id).order_by(HistoryEvent.id.desc()).limit(1))
    previous = config.get_settings()
    try:
        config.configure(dataclasses.replace(previous, max_upload_bytes=100))
        too_large = load(client, headers, content)
        config.configure(dataclasses.replace(previous, max_upload_bytes=10**12))
        assert exchange.max_upload_bytes() == exchange.MAX_UPLOAD_BYTES
    finally:
        config.configure(previous)
    monkeypatch.setattr(exchange, "MAX_ROWS", 9)
    too_many = load(client, headers, content)
    for answer, words in ((too_large, "larger than the 100 bytes"), (too_many, "at most 9 rows")):
        assert answer.status_code == 413, answer.text
        body = answer.json()
        assert body["errorsExist"] is True
        (error,) = body["errorList"]["error"]
        assert error["errorCode"] == "PAYLOAD_TOO_LARGE"
        assert words in error["errorMessage"]
    assert db.scalar(select(HistoryEvent.id).order_by(HistoryEvent.id.desc()).limit(1)) == before
    db.expire_all()
    assert db.get(Portfolio, found["law"].id).coverage == ""  # type: ignore[union-attr]


@pytest.mark.parametrize("switch", [True, False], ids=["limits-on", "limits-off"])
@pytest.mark.parametrize("name", [*PEOPLE, "operator"])
def test_load_scope_matrix(client: TestClient, db: Session, factory: Factory, name: str, switch: bool) -> None:
    """Role x scope x effective library x switch: a row loads when the caller may edit its portfolio."""
    world = build_world(factory, switch=switch)
    found = inventory(db, world)
    headers = world.key(name)
    query = "?institution=EAST" if name == "operator" else ""
    rows = [{"Portfolio ID": p.id, "Coverage": "x"} for p in found.values()]
    answer = client.post(f"{API}/load{query}", files={"file": ("p.csv", as_csv(rows), "text/csv")}, headers=headers)
    if name == "patron":
        assert answer.status_code == 403
        return
    assert answer.status_code == 200, answer.text
    refused = {p["row"] for p in answer.json()["errors"]}
    for row, lib in enumerate(("law", "sci", None), start=2):
        assert (row not in refused) == may(name, EDITING, lib, switch), (name, lib, answer.text)


def test_export_and_load_from_the_portfolio_search_page(client: TestClient, db: Session, world: World) -> None:
    found = inventory(db, world)
    token = sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/portfolios")
    assert 'id="export-portfolios"' in page.text
    assert 'id="load-form"' in page.text
    exported = client.get("/eresources/portfolios-export.csv")
    assert exported.status_code == 200
    assert "Electronic Collection Library" in exported.text.splitlines()[0]
    content = as_csv([{"Portfolio ID": found["law"].id, "Coverage": "page"}, {"Portfolio ID": found["sci"].id}])
    loaded = client.post(
        "/eresources/portfolios-load", data={"csrf_token": token}, files={"file": ("p.csv", content, "text/csv")}
    )
    assert loaded.status_code == 200
    assert "1 portfolio updated, 0 created, 1 row not loaded." in loaded.text
    assert 'id="load-problem-3"' in loaded.text

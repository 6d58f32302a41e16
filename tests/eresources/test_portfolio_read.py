"""`GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}` reads with one Core statement (N-6): the answer is
the one the loaded portfolio gives (JSON and XML, ETag), and every refusal is the two-step look-up's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.eresources.models import Portfolio
from consortia.eresources.schemas import portfolio_json, portfolio_record
from tests.eresources.conftest import World, bib, collection, portfolio

BASE = "http://testserver"


def code(response: object) -> str:
    return str(response.json()["errorList"]["error"][0]["errorCode"])  # type: ignore[attr-defined]


def _path(row: Portfolio) -> str:
    return f"/almaws/v1/bibs/{row.bib_id}/portfolios/{row.id}"


@pytest.mark.parametrize("kind", ["inherited", "own library", "standalone", "institution level"])
def test_the_answer_is_the_loaded_portfolios(client: TestClient, db: Session, world: World, kind: str) -> None:
    _, law_service = collection(db, world.east, world.law, name="Law journals")
    _, aggregator_service = collection(db, world.east, None, name="Aggregator")
    row = portfolio(
        db,
        world.east,
        library=None if kind == "institution level" else world.sci,
        service={"inherited": law_service, "own library": aggregator_service}.get(kind),
    )
    row.coverage, row.po_line, row.license = "2001 - present", "POL-1", "LIC-1"
    db.commit()
    db.refresh(row)
    headers = world.key("eio_law")

    answer = client.get(_path(row), headers=headers)

    assert answer.status_code == 200, answer.text
    assert answer.json() == portfolio_json(row, BASE)
    assert answer.headers["ETag"] == f'"{row.version}"'
    xml = client.get(_path(row), headers={**headers, "Accept": "application/xml"})
    assert xml.status_code == 200
    assert f"<id>{row.id}</id>" in xml.text


def test_the_record_built_from_a_row_equals_the_one_from_the_entity(db: Session, world: World) -> None:
    from consortia.eresources.reads import portfolio_row

    _, service = collection(db, world.east, world.law, name="Law journals")
    row = portfolio(db, world.east, library=world.sci, service=service)
    db.commit()
    db.refresh(row)
    assert portfolio_row(db, row.id) == portfolio_record(row)
    assert portfolio_row(db, row.id + 1000) is None


def test_refusals_answer_as_the_two_step_look_up(client: TestClient, db: Session, world: World) -> None:
    mine = portfolio(db, world.east, library=world.law)
    other_record = bib(db, world.east, "Another record")
    _, west_service = collection(db, world.west)
    west = portfolio(db, world.west, service=west_service)
    db.commit()
    headers = world.key("eio_law")

    def get(path: str, who: dict[str, str] = headers) -> tuple[int, str]:
        answer = client.get(path, headers=who)
        return answer.status_code, code(answer)

    # an unknown, malformed or other institution's record: the record's 404
    assert get(f"/almaws/v1/bibs/99999999/portfolios/{mine.id}") == (404, "402203")
    assert get(f"/almaws/v1/bibs/abc/portfolios/{mine.id}") == (404, "402203")
    assert get(_path(west)) == (404, "402203")
    assert get(f"/almaws/v1/bibs/{west.bib_id}/portfolios/{mine.id}") == (404, "402203")
    # a visible record, but the portfolio is unknown, malformed, another record's or another institution's
    assert get(f"/almaws/v1/bibs/{mine.bib_id}/portfolios/99999999") == (404, "60123")
    assert get(f"/almaws/v1/bibs/{mine.bib_id}/portfolios/x") == (404, "60123")
    assert get(f"/almaws/v1/bibs/{other_record.id}/portfolios/{mine.id}") == (404, "60123")
    assert get(f"/almaws/v1/bibs/{mine.bib_id}/portfolios/{west.id}") == (404, "60123")
    # no key, a bad key; a patron of the institution may not read its inventory
    assert client.get(_path(mine)).status_code == 401
    assert client.get(_path(mine), headers={"Authorization": "apikey nope"}).status_code == 401
    assert get(_path(mine), world.key("patron")) == (404, "402203")


def test_the_operator_reads_in_the_institution_it_works_in(client: TestClient, db: Session, world: World) -> None:
    mine = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key("operator")
    assert client.get(f"{_path(mine)}?institution=EAST", headers=headers).status_code == 200
    assert client.get(f"{_path(mine)}?institution=WEST", headers=headers).status_code == 404
    assert client.get(f"{_path(mine)}?institution=NOWHERE", headers=headers).status_code == 404

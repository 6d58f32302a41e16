"""`/almaws/v1/electronic` and `/almaws/v1/bibs`: Alma shapes, CRUD, paging, q, tenancy, bad input, versions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import ElectronicCollection, Portfolio
from consortia.http.answers import JSON_TYPE
from tests.eresources.conftest import World, bib, collection, portfolio

E = "/almaws/v1/electronic/e-collections"
MARC = (
    "<bib><record><leader>00000nas a2200000 a 4500</leader>"
    '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">Annals of Testing /</subfield></datafield>'
    '<datafield tag="022" ind1=" " ind2=" "><subfield code="a">1234-5678</subfield></datafield></record></bib>'
)


def code(response: object) -> str:
    return str(response.json()["errorList"]["error"][0]["errorCode"])  # type: ignore[attr-defined]


def test_collection_crud_in_alma_shapes(client: TestClient, db: Session, world: World) -> None:
    headers = world.key("ext")
    created = client.post(E, json={"public_name": "Open Journals", "type": {"value": "0"}}, headers=headers)
    assert created.status_code == 200, created.text
    assert created.headers["content-type"] == JSON_TYPE
    body = created.json()
    cid = body["id"]
    assert body["library"] == {"value": "", "desc": None}  # ER-23: institution level
    assert body["type"] == {"value": "0", "desc": "Selective package"}
    assert body["link"].endswith(f"{E}/{cid}")
    for key in ("public_name", "description", "portfolios", "counter_platform", "cdi_info", "interface"):
        assert key in body
    listed = client.get(f"{E}?q=name~open_journals", headers=headers).json()
    assert listed["total_record_count"] == 1
    assert listed["electronic_collection"][0]["id"] == cid
    assert client.get(f"{E}?q=name~nothing", headers=headers).json() == {"total_record_count": 0}
    assert code(client.get(f"{E}?q=bogus", headers=headers)) == "60106"

    svc = client.post(f"{E}/{cid}/e-services", json={"type": {"value": "getFullTxt"}}, headers=headers)
    assert svc.status_code == 200, svc.text
    sid = svc.json()["id"]
    services = client.get(f"{E}/{cid}/e-services", headers=headers).json()
    assert services["total_record_count"] == 1

    made = client.post("/almaws/v1/bibs", content=MARC, headers={**headers, "Content-Type": "application/xml"})
    assert made.status_code == 200, made.text
    mms = made.json()["mms_id"]
    assert made.json()["title"] == "Annals of Testing"
    added = client.post(
        f"{E}/{cid}/e-services/{sid}/portfolios/",
        json={"resource_metadata": {"mms_id": {"value": mms}}, "availability": {"value": "11"}},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    pid = added.json()["id"]
    assert added.json()["is_standalone"] is False
    assert added.json()["resource_metadata"]["issn"] == "1234-5678"
    assert client.get(f"/almaws/v1/bibs/{mms}/portfolios/{pid}", headers=headers).status_code == 200
    assert client.get(f"{E}/{cid}/e-services/{sid}/portfolios", headers=headers).json()["total_record_count"] == 1

    # deleting in order: the blocked deletes first (60289)
    assert code(client.delete(f"{E}/{cid}", headers=headers)) == "60289"
    assert code(client.delete(f"{E}/{cid}/e-services/{sid}", headers=headers)) == "60289"
    assert client.delete(f"{E}/{cid}/e-services/{sid}/portfolios/{pid}", headers=headers).status_code == 204
    assert client.delete(f"{E}/{cid}/e-services/{sid}", headers=headers).status_code == 204
    assert client.delete(f"{E}/{cid}", headers=headers).status_code == 204
    assert client.get(f"{E}/{cid}", headers=headers).status_code == 404
    fields = set(db.scalars(select(HistoryEvent.field).where(HistoryEvent.entity == "electronic_collection")))
    assert {"created", "deleted"} <= fields


def test_other_institutions_ids_answer_like_unknown_ones(client: TestClient, db: Session, world: World) -> None:
    west_collection, west_service = collection(db, world.west)
    west_portfolio = portfolio(db, world.west, service=west_service)
    db.commit()
    headers = world.key("ext")
    for path in (
        f"{E}/{west_collection.id}",
        f"{E}/{west_collection.id}/e-services/{west_service.id}",
        f"{E}/{west_collection.id}/e-services/{west_service.id}/portfolios/{west_portfolio.id}",
        f"/almaws/v1/bibs/{west_portfolio.bib_id}",
        f"/almaws/v1/bibs/{west_portfolio.bib_id}/portfolios/{west_portfolio.id}",
        f"{E}/99999999",
        f"{E}/abc",
    ):
        assert client.get(path, headers=headers).status_code == 404, path
        assert client.delete(path, headers=headers).status_code in {404, 405}, path
    put = client.put(f"{E}/{west_collection.id}", json={"public_name": "x"}, headers=headers)
    assert put.status_code == 404


def test_bad_input_names_the_field_and_saves_nothing(client: TestClient, db: Session, world: World) -> None:
    coll, svc = collection(db, world.east, world.law, name="Law journals")
    record = bib(db, world.east)
    db.commit()
    headers = world.key("eio_law")
    before = db.scalar(select(ElectronicCollection.id).order_by(ElectronicCollection.id.desc()))
    wrong_library = client.post(E, json={"public_name": "X", "library": {"value": "WEST_MAIN"}}, headers=headers)
    assert wrong_library.status_code == 400
    assert "library" in wrong_library.json()["errorList"]["error"][0]["errorMessage"]
    assert code(wrong_library) == "402469"
    out_of_scope = client.post(E, json={"public_name": "X", "library": "EAST_SCI"}, headers=headers)
    assert out_of_scope.status_code == 400
    assert code(client.post(E, json={"type": "0"}, headers=headers)) == "60126"
    assert code(client.post(E, json={"public_name": "X", "type": "9"}, headers=headers)) == "60127"
    assert db.scalar(select(ElectronicCollection.id).order_by(ElectronicCollection.id.desc())) == before
    assert client.post("/almaws/v1/bibs", content="<record><datafield", headers=headers).status_code == 400
    assert client.post("/almaws/v1/bibs", content="<record/>", headers=headers).status_code == 400
    doctype = '<!DOCTYPE x [<!ENTITY a "b">]><record/>'
    assert client.post("/almaws/v1/bibs", content=doctype, headers=headers).status_code == 400
    no_mms = client.post(f"{E}/{coll.id}/e-services/{svc.id}/portfolios", json={}, headers=headers)
    assert code(no_mms) == "60159"
    bad_availability = client.post(
        f"/almaws/v1/bibs/{record.id}/portfolios", json={"availability": "99", "library": "EAST_LAW"}, headers=headers
    )
    assert code(bad_availability) == "60161"
    assert db.scalar(select(Portfolio.id).where(Portfolio.bib_id == record.id)) is None
    assert (
        client.post(E, content="not json", headers={**headers, "Content-Type": "application/json"}).status_code == 400
    )


def test_two_changes_from_one_version_one_wins(client: TestClient, db: Session, world: World) -> None:
    coll, svc = collection(db, world.east)
    one = portfolio(db, world.east, service=svc)
    db.commit()
    headers = world.key("ext")
    path = f"/almaws/v1/bibs/{one.bib_id}/portfolios/{one.id}"
    etag = client.get(path, headers=headers).headers["ETag"]
    first = client.put(path, json={"availability": "10"}, headers={**headers, "If-Match": etag})
    assert first.status_code == 200, first.text
    second = client.put(path, json={"availability": "11"}, headers={**headers, "If-Match": etag})
    assert second.status_code == 409
    assert client.get(path, headers=headers).json()["availability"]["value"] == "10"
    cpath = f"{E}/{coll.id}"
    version = client.get(cpath, headers=headers).headers["ETag"]
    assert client.put(cpath, json={"description": "a"}, headers={**headers, "If-Match": version}).status_code == 200
    assert client.put(cpath, json={"description": "b"}, headers={**headers, "If-Match": version}).status_code == 409


def test_paging_and_xml(client: TestClient, db: Session, world: World) -> None:
    _coll, svc = collection(db, world.east)
    record = bib(db, world.east)
    for _ in range(12):
        portfolio(db, world.east, service=svc, record=record)
    db.commit()
    headers = world.key("desk")
    first = client.get(f"/almaws/v1/bibs/{record.id}/portfolios?limit=5", headers=headers).json()
    rest = client.get(f"/almaws/v1/bibs/{record.id}/portfolios?limit=100&offset=5", headers=headers).json()
    assert first["total_record_count"] == 12 == rest["total_record_count"]
    ids = [p["id"] for p in first["portfolio"]] + [p["id"] for p in rest["portfolio"]]
    assert len(set(ids)) == 12
    xml = client.get(f"/almaws/v1/bibs/{record.id}?format=xml", headers=headers)
    assert xml.headers["content-type"].startswith("application/xml")
    assert b"<mms_id>" in xml.content


@pytest.mark.parametrize("odd", ["²", "¹²", "٣", "1²"])
def test_ids_in_other_digit_forms_answer_like_unknown_ones(client: TestClient, world: World, odd: str) -> None:
    """Characters Python counts as digits (superscripts, other scripts) are not ids: 404 or the record
    they spell, never a server error."""
    for path in (f"/api/v1/eresources/bibs/{odd}/inventory", f"/almaws/v1/electronic/e-collections/{odd}"):
        answer = client.get(path, headers=world.key("eio"))
        assert answer.status_code in {200, 400, 404}, (path, answer.status_code, answer.text)

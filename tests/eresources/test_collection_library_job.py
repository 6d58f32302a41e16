"""ER-7: setting a collection's library through the API starts "Set Electronic Collection Library", which
clears the library of every portfolio of the collection in chunks, with history for the collection and each
changed portfolio (naming the job instance), without touching `updated_at` (no publishing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import Portfolio
from tests.eresources.conftest import World, collection, portfolio

E = "/almaws/v1/electronic/e-collections"
CONFIRMATION = (
    "Setting a library to the electronic collection will delete any existing library value from all its portfolios, "
    "and they will inherit the collection's library definition. This action will be done by a background process "
    "and cannot be reversed."
)


def test_the_job_is_in_the_catalogue(client: TestClient, world: World) -> None:
    jobs = client.get("/almaws/v1/conf/jobs", headers=world.key("eio")).json()["job"]
    job = next(j for j in jobs if j["id"] == "M2001")
    assert job["name"] == "Set Electronic Collection Library"


@pytest.mark.parametrize("chunk", ["2", "1000"])
def test_setting_a_library_clears_every_portfolio_once_with_history(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch, chunk: str
) -> None:
    monkeypatch.setenv("CONSORTIA_JOB_CHUNK_SIZE", chunk)
    coll, svc = collection(db, world.east)
    with_library = [
        portfolio(db, world.east, service=svc, library=world.sci if n % 2 else world.main) for n in range(5)
    ]
    without = [portfolio(db, world.east, service=svc) for _ in range(2)]
    elsewhere = portfolio(db, world.east, library=world.main)
    db.commit()
    stamps = {p.id: p.updated_at for p in [*with_library, *without]}
    headers = world.key("eio")

    answer = client.put(f"{E}/{coll.id}", json={"library": {"value": "EAST_LAW"}}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["library"] == {"value": "EAST_LAW", "desc": "Law Library"}
    info = body["additional_info"]
    instance_id = int(info["link"].rsplit("/", 1)[1])
    assert info["link"].endswith(f"/almaws/v1/conf/jobs/M2001/instances/{instance_id}")
    instance = client.get(info["link"][info["link"].index("/almaws/") :], headers=headers).json()
    assert instance["status"]["value"] == "COMPLETED_SUCCESS", instance
    assert instance["counter"][0]["value"] == "5"

    db.expire_all()
    portfolios = {p.id: p for p in db.scalars(select(Portfolio).where(Portfolio.collection_id == coll.id))}
    assert all(p.library_id is None for p in portfolios.values())
    assert {p.id: p.updated_at for p in portfolios.values()} == stamps  # no publishing triggered
    assert {p.id: p.version for p in portfolios.values()} == {
        **{p.id: 2 for p in with_library},
        **{p.id: 1 for p in without},
    }
    assert db.get(Portfolio, elsewhere.id).library_id == world.main.id  # type: ignore[union-attr]
    rows = db.execute(
        select(HistoryEvent.entity, HistoryEvent.entity_id, HistoryEvent.old, HistoryEvent.new).where(
            HistoryEvent.job_instance_id == instance_id
        )
    ).all()
    assert sorted(rows) == sorted(
        [("electronic_collection", str(coll.id), None, "EAST_LAW")]
        + [("portfolio", str(p.id), "EAST_SCI" if n % 2 else "EAST_MAIN", None) for n, p in enumerate(with_library)]
    )
    tab = client.get(f"/api/v1/history?entity=portfolio&id={with_library[0].id}", headers=headers).json()
    assert [e["job_instance"] for e in tab["event"] if e["field"] == "library"] == [instance_id]


def test_choices_and_scope_are_enforced(client: TestClient, db: Session, world: World) -> None:
    law, _ = collection(db, world.east, world.law, name="Law")
    sci, _ = collection(db, world.east, world.sci, name="Science")
    db.commit()
    headers = world.key("eio_law")
    out_of_scope_library = client.put(f"{E}/{law.id}", json={"library": "EAST_SCI"}, headers=headers)
    assert out_of_scope_library.status_code == 400
    assert "library" in out_of_scope_library.json()["errorList"]["error"][0]["errorMessage"]
    out_of_scope_collection = client.put(f"{E}/{sci.id}", json={"library": "EAST_LAW"}, headers=headers)
    assert out_of_scope_collection.status_code == 403
    assert "EAST_SCI" in out_of_scope_collection.json()["errorList"]["error"][0]["errorMessage"]
    assert client.put(f"{E}/{law.id}", json={"library": "WEST_MAIN"}, headers=headers).status_code == 400
    editor = client.get(f"/api/v1/eresources/collections/{law.id}/editor", headers=headers).json()
    assert [c["value"] for c in editor["library_choices"]] == ["EAST_LAW"]
    assert editor["confirmation"] == CONFIRMATION
    everything = client.get(f"/api/v1/eresources/collections/{law.id}/editor", headers=world.key("eio")).json()
    assert [c["value"] for c in everything["library_choices"]] == ["EAST_LAW", "EAST_MAIN", "EAST_SCI"]


def test_a_direct_run_out_of_scope_fails_and_changes_nothing(client: TestClient, db: Session, world: World) -> None:
    sci, svc = collection(db, world.east, world.sci, name="Science")
    one = portfolio(db, world.east, service=svc, library=world.main)
    db.commit()
    body = {
        "parameter": [
            {"name": {"value": "collection_id"}, "value": str(sci.id)},
            {"name": {"value": "library"}, "value": "EAST_LAW"},
        ]
    }
    answer = client.post("/almaws/v1/conf/jobs/M2001?op=run", json=body, headers=world.key("eio_law"))
    assert answer.status_code == 200, answer.text
    link = answer.json()["additional_info"]["link"]
    instance = client.get(link[link.index("/almaws/") :], headers=world.key("eio_law")).json()
    assert instance["status"]["value"] == "FAILED"
    db.expire_all()
    assert db.get(Portfolio, one.id).library_id == world.main.id  # type: ignore[union-attr]
    # ... while someone in scope runs it directly and the collection takes the library.
    ok = client.post("/almaws/v1/conf/jobs/M2001?op=run", json=body, headers=world.key("eio"))
    link = ok.json()["additional_info"]["link"]
    assert client.get(link[link.index("/almaws/") :], headers=world.key("eio")).json()["status"]["value"] == (
        "COMPLETED_SUCCESS"
    )
    db.expire_all()
    assert db.get(Portfolio, one.id).library_id is None  # type: ignore[union-attr]
    assert client.get(f"{E}/{sci.id}", headers=world.key("eio")).json()["library"]["value"] == "EAST_LAW"

"""Itemized sets of portfolios (`/almaws/v1/conf/sets`) and ER-21 "Change Electronic Portfolio Information":
who may run it, and each of its per-portfolio rules with its counter and history."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import Portfolio
from tests.eresources.conftest import World, collection, portfolio

SETS = "/almaws/v1/conf/sets"
JOB = "/almaws/v1/conf/jobs/M2101"


def _set_body(ids: list[int | str]) -> dict[str, object]:
    return {
        "name": "Portfolios to move",
        "type": {"value": "ITEMIZED"},
        "content": {"value": "IEP"},
        "members": {"member": [{"id": str(i)} for i in ids]},
    }


def _run_body(set_id: str, library: str) -> dict[str, object]:
    return {
        "parameter": [
            {"name": {"value": "set_id"}, "value": set_id},
            {"name": {"value": "library"}, "value": library},
        ]
    }


def test_a_set_is_created_read_and_lists_its_members(client: TestClient, db: Session, world: World) -> None:
    first, second = portfolio(db, world.east), portfolio(db, world.east)
    db.commit()
    headers = world.key("repo")
    answer = client.post(SETS, json=_set_body([second.id, first.id, first.id]), headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"]["value"] == "ITEMIZED"
    assert body["content"]["value"] == "IEP"
    assert body["number_of_members"]["value"] == 2
    assert client.get(f"{SETS}/{body['id']}", headers=headers).json()["name"] == "Portfolios to move"
    members = client.get(f"{SETS}/{body['id']}/members", headers=headers).json()
    assert [m["id"] for m in members["member"]] == [str(first.id), str(second.id)]
    assert members["total_record_count"] == 2
    listed = client.get(SETS, headers=headers).json()
    assert [s["id"] for s in listed["set"]] == [body["id"]]


def test_members_must_be_portfolios_of_the_institution(client: TestClient, db: Session, world: World) -> None:
    mine = portfolio(db, world.east)
    theirs = portfolio(db, world.west)
    db.commit()
    headers = world.key("repo")
    answer = client.post(SETS, json=_set_body([mine.id, theirs.id, 99999999, "x"]), headers=headers)
    assert answer.status_code == 400
    message = answer.json()["errorList"]["error"][0]["errorMessage"]
    assert str(theirs.id) in message
    assert "99999999" in message
    assert "x" in message
    assert client.get(SETS, headers=headers).json() == {"total_record_count": 0}


def test_another_institutions_set_is_not_found(client: TestClient, db: Session, world: World) -> None:
    p = portfolio(db, world.east)
    db.commit()
    created = client.post(SETS, json=_set_body([p.id]), headers=world.key("repo")).json()
    assert client.get(f"{SETS}/{created['id']}", headers=world.key("west_eio")).status_code == 404


@pytest.mark.parametrize(
    ("person", "allowed"),
    [
        ("repo", True),
        ("operator", True),
        ("eio", False),
        ("ext", False),
        ("cdi", False),
        ("eio_law", False),
        ("desk", False),
    ],
)
def test_who_may_run_change_electronic_portfolio_information(
    client: TestClient, db: Session, world: World, person: str, allowed: bool
) -> None:
    p = portfolio(db, world.east)
    db.commit()
    set_id = client.post(SETS, json=_set_body([p.id]), headers=world.key("repo")).json()["id"]
    url = JOB + "?op=run" + ("&institution=EAST" if person == "operator" else "")
    answer = client.post(url, json=_run_body(set_id, "EAST_LAW"), headers=world.key(person))
    assert answer.status_code == (200 if allowed else 403), answer.text


def test_an_eio_who_is_also_repository_manager_may_run_it(
    client: TestClient, db: Session, world: World, factory: object
) -> None:
    from consortia.access import roles as R

    both = world.factory.user(
        world.east, "east-both", roles=((R.ELECTRONIC_INVENTORY_OPERATOR, None), (R.REPOSITORY_MANAGER, None))
    )
    p = portfolio(db, world.east)
    db.commit()
    headers = world.factory.key(both)
    db.commit()
    set_id = client.post(SETS, json=_set_body([p.id]), headers=headers).json()["id"]
    assert client.post(JOB + "?op=run", json=_run_body(set_id, "EAST_LAW"), headers=headers).status_code == 200


def test_each_rule_of_the_job_with_its_counter_and_history(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSORTIA_JOB_CHUNK_SIZE", "2")
    _, law_service = collection(db, world.east, world.law, name="Law package")
    _, sci_service = collection(db, world.east, world.sci, name="Science package")
    _, open_service = collection(db, world.east, None, name="Open package")
    inherits_law = portfolio(db, world.east, service=law_service)
    in_sci = portfolio(db, world.east, service=sci_service)
    standalone = portfolio(db, world.east, library=world.main)
    in_open = portfolio(db, world.east, service=open_service)
    already = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key("repo")
    ids = [inherits_law.id, in_sci.id, standalone.id, in_open.id, already.id]
    set_id = client.post(SETS, json=_set_body(ids), headers=headers).json()["id"]
    answer = client.post(JOB + "?op=run", json=_run_body(set_id, "EAST_LAW"), headers=headers)
    assert answer.status_code == 200, answer.text
    link = answer.json()["additional_info"]["link"]
    instance = client.get(link[link.index("/almaws/") :], headers=headers).json()
    assert instance["status"]["value"] == "COMPLETED_SUCCESS", instance
    counters = {c["type"]["desc"]: c["value"] for c in instance["counter"]}
    assert counters == {
        "Portfolios updated": "2",
        "Library update skipped": "1",
        "Portfolios update skipped": "1",
        "Portfolios unchanged": "1",
    }
    assert "(the portfolio inherits" in instance["report"] or "Library update skipped: 1" in instance["report"]
    db.expire_all()
    libraries = dict(db.execute(select(Portfolio.id, Portfolio.library_id).where(Portfolio.id.in_(ids))).all())
    assert libraries == {
        inherits_law.id: None,
        in_sci.id: None,
        standalone.id: world.law.id,
        in_open.id: world.law.id,
        already.id: world.law.id,
    }
    history = db.execute(
        select(HistoryEvent.entity_id, HistoryEvent.old, HistoryEvent.new).where(
            HistoryEvent.job_instance_id == int(instance["id"])
        )
    ).all()
    assert sorted(tuple(h) for h in history) == sorted(
        [(str(standalone.id), "EAST_MAIN", "EAST_LAW"), (str(in_open.id), None, "EAST_LAW")]
    )


def test_run_parameters_are_checked(client: TestClient, db: Session, world: World) -> None:
    p = portfolio(db, world.east)
    db.commit()
    headers = world.key("repo")
    set_id = client.post(SETS, json=_set_body([p.id]), headers=headers).json()["id"]
    assert client.post(JOB + "?op=run", json=_run_body(set_id, "WEST_MAIN"), headers=headers).status_code == 400
    assert client.post(JOB + "?op=run", json=_run_body("999999", "EAST_LAW"), headers=headers).status_code == 400
    xml = (
        f"<job><parameters><parameter><name>set_id</name><value>{set_id}</value></parameter>"
        "<parameter><name>library</name><value>EAST_LAW</value></parameter></parameters></job>"
    )
    answer = client.post(
        JOB + "?op=run",
        content=xml,
        headers={**headers, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    assert answer.status_code == 200
    assert b"additional_info" in answer.content

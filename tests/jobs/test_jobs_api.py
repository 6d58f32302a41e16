"""`/almaws/v1/conf/jobs`: shapes (JSON and XML), running, validation, tenancy and permission (P-7).

Jobs run at once in these tests (`memory://` queue), inside the test's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.access.permissions import Permission as P
from consortia.audit.models import HistoryEvent
from consortia.http.answers import JSON_TYPE
from consortia.jobs import registry
from consortia.jobs.models import JobInstance
from consortia.platform.models import User
from tests.factories import Factory, days
from tests.jobs.conftest import World, expired_patrons

JOBS = "/almaws/v1/conf/jobs"


def _xml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own server's answer


def _error(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert body["errorsExist"] is True
    return str(body["errorList"]["error"][0]["errorCode"])


def _run(client: TestClient, headers: dict[str, str], body: object = None, job: str = "M1001", query: str = "") -> dict:
    response = client.post(f"{JOBS}/{job}?op=run{query}", json=body if body is not None else {}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _instance_path(answer: dict) -> str:
    link = answer["additional_info"]["link"]
    return link[link.index("/almaws/") :]


def test_the_job_catalogue(client: TestClient, factory: Factory, world: World) -> None:
    headers = factory.key(world.east_admin)
    listed = client.get(JOBS, headers=headers)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == JSON_TYPE
    body = listed.json()
    assert body["total_record_count"] >= 1
    job = next(j for j in body["job"] if j["id"] == "M1001")
    assert job["name"] == "Deactivate Expired Users"
    assert job["type"] == {"value": "MANUAL", "desc": "Manual"}
    assert job["category"] == {"value": "USERS", "desc": "Users"}
    assert job["link"].endswith("/almaws/v1/conf/jobs/M1001")
    assert job["parameter"] == [{"name": {"value": "user_group", "desc": "User group"}, "value": ""}]
    assert client.get(f"{JOBS}?category=USERS", headers=headers).json()["job"][0]["category"]["value"] == "USERS"
    assert client.get(f"{JOBS}?category=NOPE", headers=headers).json() == {"total_record_count": 0}
    assert client.get(f"{JOBS}?type=SCHEDULED", headers=headers).json() == {"total_record_count": 0}
    assert client.get(f"{JOBS}?limit=0", headers=headers).json().get("job") is None

    one = client.get(f"{JOBS}/m1001", headers=headers)
    assert one.status_code == 200
    assert one.json()["id"] == "M1001"
    xml = client.get(f"{JOBS}/M1001?format=xml", headers=headers)
    assert xml.headers["content-type"].startswith("application/xml")
    root = _xml(xml.content)
    assert root.tag == "job"
    assert root.findtext("id") == "M1001"
    assert root.find("category").get("desc") == "Users"  # type: ignore[union-attr]


def test_running_a_job_answers_the_job_with_a_link_to_its_instance(
    client: TestClient, db: Session, factory: Factory, world: World
) -> None:
    expiring = expired_patrons(factory, world.east, 3)
    keeper = factory.user(world.east, record_type="PUBLIC", password=False, expiry_date=days(10))
    stranger = expired_patrons(factory, world.west, 1)[0]
    headers = factory.key(world.east_admin)

    answer = _run(client, headers)
    assert answer["id"] == "M1001"
    info = answer["additional_info"]
    instance_id = info["link"].rsplit("/", 1)[1]
    assert info["link"].endswith(f"/almaws/v1/conf/jobs/M1001/instances/{instance_id}")
    assert info["value"].startswith(f"Job no. {instance_id} triggered on ")

    instance = client.get(_instance_path(answer), headers=headers)
    assert instance.status_code == 200
    body = instance.json()
    assert body["id"] == instance_id
    assert body["status"] == {"value": "COMPLETED_SUCCESS", "desc": "Completed Successfully"}
    assert body["progress"] == 100
    assert body["counter"] == [{"type": {"value": "users_deactivated", "desc": "Users deactivated"}, "value": "3"}]
    assert body["submitted_by"] == {"value": world.east_admin.primary_id, "desc": "Erin Admin"}
    assert body["job_info"]["id"] == "M1001"
    assert body["link"].endswith(_instance_path(answer))
    assert body["submit_time"].endswith("Z")
    assert body["end_time"].endswith("Z")
    assert body["status_date"].endswith("Z")
    assert body["alert"][0]["value"] == "alert_general_success"
    assert "Users deactivated: 3" in body["report"]

    db.expire_all()
    assert {u.id: db.get(User, u.id).status for u in expiring} == {u.id: "INACTIVE" for u in expiring}  # type: ignore[union-attr]
    assert db.get(User, keeper.id).status == "ACTIVE"  # type: ignore[union-attr]
    assert db.get(User, stranger.id).status == "ACTIVE"  # type: ignore[union-attr]
    history = db.execute(
        select(HistoryEvent.entity_id, HistoryEvent.old, HistoryEvent.new, HistoryEvent.actor)
        .where(HistoryEvent.job_instance_id == int(instance_id))
        .order_by(HistoryEvent.entity_id)
    ).all()
    assert sorted(h.entity_id for h in history) == sorted(u.primary_id for u in expiring)
    assert {(h.old, h.new, h.actor) for h in history} == {("ACTIVE", "INACTIVE", "Erin Admin")}

    # The user's History tab shows the change with the job that did it.
    tab = client.get(f"/api/v1/history?entity=user&id={expiring[0].primary_id}", headers=headers)
    assert tab.status_code == 200, tab.text
    assert [e["job_instance"] for e in tab.json()["event"] if e["field"] == "status"] == [int(instance_id)]


def test_running_with_xml_answers_xml_with_the_link_as_an_attribute(
    client: TestClient, db: Session, factory: Factory, world: World
) -> None:
    undergrads = expired_patrons(factory, world.east, 2, user_group="UNDERGRAD")
    others = expired_patrons(factory, world.east, 2, user_group="WALKIN")
    headers = {**factory.key(world.east_admin), "Content-Type": "application/xml", "Accept": "application/xml"}
    body = (
        b"<?xml version='1.0' encoding='UTF-8'?><job><parameters><parameter><name>user_group</name>"
        b"<value>undergrad</value></parameter></parameters></job>"
    )
    response = client.post(f"{JOBS}/M1001?op=run", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = _xml(response.content)
    assert root.tag == "job"
    info = root.find("additional_info")
    assert info is not None
    link = info.get("link")
    assert link is not None
    assert (info.text or "").startswith("Job no. ")
    instance_id = link.rsplit("/", 1)[1]
    assert link.endswith(f"/conf/jobs/M1001/instances/{instance_id}")
    assert [(p.findtext("name"), p.findtext("value")) for p in root.findall("parameter")] == [
        ("user_group", "UNDERGRAD")
    ]

    db.expire_all()
    assert {db.get(User, u.id).status for u in undergrads} == {"INACTIVE"}  # type: ignore[union-attr]
    assert {db.get(User, u.id).status for u in others} == {"ACTIVE"}  # type: ignore[union-attr]

    # The instance in XML too; and an empty <job/> runs a job without parameters.
    xml_instance = client.get(link[link.index("/almaws/") :], headers=headers)
    counter = _xml(xml_instance.content).find("counter")
    assert counter is not None
    assert counter.findtext("value") == "2"
    assert counter.find("type").get("desc") == "Users deactivated"  # type: ignore[union-attr]
    empty = client.post(f"{JOBS}/M1001?op=run", content=b"<job/>", headers=headers)
    assert empty.status_code == 200, empty.text
    assert client.post(f"{JOBS}/M1001?op=run", content=b"", headers=headers).status_code == 200


@pytest.fixture
def kind_with_a_required_parameter() -> Iterator[registry.JobKind]:
    def one_chunk(session: Session, instance: JobInstance, checkpoint: object) -> registry.ChunkResult:
        bad = instance.parameters["set_id"] == "bad"
        events = [registry.JobEventNote(registry.ERROR, "Member 7 is not a portfolio.", 7)] if bad else []
        return registry.ChunkResult(checkpoint=None, done=True, counters={"members": 1}, events=events)

    kind = registry.register_job_kind(
        registry.JobKind(
            job_id="M9201",
            name="Set test job",
            description="Needs a set.",
            category="TEST",
            category_desc="Test",
            run_chunk=one_chunk,
            permission=P.USER_EDIT,
            parameters=(registry.JobParameter("set_id", "Set", required=True),),
            counters=(registry.CounterDefinition("members", "Members processed", "Each member of the set."),),
        )
    )
    yield kind
    registry.unregister_job_kind("M9201")


@pytest.mark.usefixtures("kind_with_a_required_parameter")
def test_bad_runs_are_400_with_alma_codes(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    headers = factory.key(world.east_admin)
    db.commit()  # a failed request rolls back its session: keep the set-up out of it
    missing_op = client.post(f"{JOBS}/M1001", json={}, headers=headers)
    assert (missing_op.status_code, _error(missing_op)) == (400, "402220")
    other_op = client.post(f"{JOBS}/M1001?op=delete", json={}, headers=headers)
    assert (other_op.status_code, _error(other_op)) == (400, "402221")
    unknown = client.post(f"{JOBS}/M424242?op=run", json={}, headers=headers)
    assert (unknown.status_code, _error(unknown)) == (400, "402216")
    assert _error(client.get(f"{JOBS}/M424242", headers=headers)) == "402216"
    assert _error(client.get(f"{JOBS}/no-such-id", headers=headers)) == "402215"
    missing = client.post(f"{JOBS}/M9201?op=run", json={}, headers=headers)
    assert (missing.status_code, _error(missing)) == (400, "402228")
    empty = client.post(
        f"{JOBS}/M9201?op=run", json={"parameter": [{"name": {"value": "set_id"}, "value": "  "}]}, headers=headers
    )
    assert (empty.status_code, _error(empty)) == (400, "402229")
    for bad_body in (
        b"{not json",
        b"[1, 2]",
        b'{"parameter": "x"}',
        b'{"parameter": [{"value": "1"}]}',
        b'{"parameter": [{"name": {"value": "set_id"}, "value": {"x": 1}}]}',
        b"<job><",
        b'<!DOCTYPE job [<!ENTITY a "aaaa">]><job><parameter><name>set_id</name><value>&a;</value></parameter></job>',
    ):
        response = client.post(
            f"{JOBS}/M9201?op=run", content=bad_body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, bad_body
        assert response.headers["content-type"] == JSON_TYPE
    bad_group = client.post(
        f"{JOBS}/M1001?op=run",
        json={"parameter": [{"name": {"value": "user_group"}, "value": "NOPE"}]},
        headers=headers,
    )
    assert (bad_group.status_code, _error(bad_group)) == (400, "40166411")
    assert client.post(f"{JOBS}/M1001?op=run", content=b"x" * 1_000_001, headers=headers).status_code == 400

    # With its parameter the job runs; a record error makes it "Completed with Errors" with an event.
    answer = _run(
        client,
        headers,
        {"parameter": [{"name": {"value": "set_id"}, "value": "bad"}, {"name": {"value": "job_name"}, "value": "x"}]},
        job="M9201",
    )
    path = _instance_path(answer)
    instance = client.get(path, headers=headers).json()
    assert instance["status"] == {"value": "COMPLETED_FAILED", "desc": "Completed with Errors"}
    assert instance["parameter"] == [{"name": {"value": "set_id", "desc": None}, "value": "bad"}]
    events = client.get(f"{path}/events", headers=headers).json()
    assert events["total_record_count"] == 1
    assert events["event"][0] | {"time": None} == {
        "type": "ERROR",
        "type_desc": "Error",
        "desc": "Member 7 is not a portfolio.",
        "record": 7,
        "time": None,
    }
    assert client.get(f"{path}/events?limit=0", headers=headers).json() == {"total_record_count": 1}


def test_instances_of_another_institution_answer_404(
    client: TestClient, db: Session, factory: Factory, world: World
) -> None:
    expired_patrons(factory, world.east, 1)
    east = factory.key(world.east_admin)
    west = factory.key(world.west_admin)
    operator = factory.key(world.operator)
    db.commit()  # a failed request rolls back its session: keep the set-up out of it
    path = _instance_path(_run(client, east))
    instance_id = path.rsplit("/", 1)[1]
    _run(client, west)

    for url in (path, f"{path}/events", f"{JOBS}/ALL/instances/{instance_id}"):
        denied = client.get(url, headers=west)
        assert denied.status_code == 404, url
        assert denied.headers["content-type"] == JSON_TYPE
    unknown = client.get(f"{JOBS}/M1001/instances/99999999", headers=west)
    assert unknown.status_code == 404
    assert _error(unknown) == _error(client.get(path, headers=west))
    assert client.get(f"{JOBS}/M1001/instances/{instance_id}", headers=east).status_code == 200
    assert client.get(f"{JOBS}/ALL/instances/{instance_id}", headers=east).status_code == 200
    assert client.get(f"{JOBS}/M9999/instances/{instance_id}", headers=east).status_code == 404  # not that job's
    assert _error(client.get(f"{JOBS}/M9999/instances", headers=east)) == "402216"

    west_list = client.get(f"{JOBS}/M1001/instances?limit=100", headers=west).json()
    assert instance_id not in {i["id"] for i in west_list.get("job_instance", [])}
    east_list = client.get(f"{JOBS}/M1001/instances?limit=100", headers=east).json()
    assert instance_id in {i["id"] for i in east_list["job_instance"]}

    # The operator sees every institution's instances, and one institution's with ?institution=.
    assert client.get(path, headers=operator).status_code == 200
    everyone = client.get(f"{JOBS}/ALL/instances?limit=100", headers=operator).json()
    assert instance_id in {i["id"] for i in everyone["job_instance"]}
    only_west = client.get(f"{JOBS}/ALL/instances?limit=100&institution={world.west.code}", headers=operator).json()
    assert instance_id not in {i["id"] for i in only_west["job_instance"]}


def test_instance_lists_filter_and_page(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    headers = factory.key(world.east_admin)
    db.commit()
    ids = [_instance_path(_run(client, headers)).rsplit("/", 1)[1] for _ in range(3)]
    page = client.get(f"{JOBS}/M1001/instances?limit=2&offset=0", headers=headers).json()
    assert page["total_record_count"] == 3
    assert [i["id"] for i in page["job_instance"]] == [ids[2], ids[1]]
    rest = client.get(f"{JOBS}/M1001/instances?limit=2&offset=2", headers=headers).json()
    assert [i["id"] for i in rest["job_instance"]] == [ids[0]]
    done = client.get(f"{JOBS}/M1001/instances?status=COMPLETED_SUCCESS", headers=headers).json()
    assert done["total_record_count"] == 3
    assert client.get(f"{JOBS}/M1001/instances?status=QUEUED", headers=headers).json() == {"total_record_count": 0}
    assert client.get(f"{JOBS}/M1001/instances?status=BOGUS", headers=headers).status_code == 400
    assert client.get(f"{JOBS}/M1001/instances?limit=101", headers=headers).status_code == 400
    assert (
        client.get(f"{JOBS}/M1001/instances?submit_date_from=2000-01-01Z", headers=headers).json()["total_record_count"]
        == 3
    )
    assert client.get(f"{JOBS}/M1001/instances?submit_date_to=2000-01-01", headers=headers).json() == {
        "total_record_count": 0
    }
    assert client.get(f"{JOBS}/M1001/instances?submit_date_to=yesterday", headers=headers).status_code == 400
    assert (
        client.get(f"{JOBS}/M1001/instances?submit_date_to=9999-12-31", headers=headers).json()["total_record_count"]
        == 3
    )
    assert client.get(f"{JOBS}/M1001/instances/{2**40}", headers=headers).status_code == 400
    assert client.get(f"{JOBS}/M1001/instances/{2**31 - 1}", headers=headers).status_code == 404
    xml = client.get(f"{JOBS}/M1001/instances?format=xml", headers=headers)
    root = _xml(xml.content)
    assert (root.tag, root.get("total_record_count"), len(root.findall("job_instance"))) == ("job_instances", "3", 3)


def test_who_may_run_and_monitor(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    """Job kinds are visible to every member of staff: running one needs the kind's permission (403
    with the reason); patrons do not monitor jobs at all (403), and see no instance (404)."""
    expired_patrons(factory, world.east, 1)
    west_patron = expired_patrons(factory, world.west, 1)[0]
    desk, patron, admin, operator = (
        factory.key(u) for u in (world.east_desk, world.east_patron, world.east_admin, world.operator)
    )
    db.commit()
    assert client.get(JOBS, headers=desk).status_code == 200
    refused = client.post(f"{JOBS}/M1001?op=run", json={}, headers=desk)
    assert refused.status_code == 403
    assert "User Administrator" in refused.json()["errorList"]["error"][0]["errorMessage"]

    assert client.get(JOBS, headers=patron).status_code == 403
    assert client.post(f"{JOBS}/M1001?op=run", json={}, headers=patron).status_code == 403
    path = _instance_path(_run(client, admin))
    assert client.get(path, headers=desk).status_code == 200
    assert client.get(path, headers=patron).status_code == 404
    assert client.get(f"{JOBS}/M1001/instances", headers=patron).status_code == 403
    assert (
        db.scalar(select(func.count()).select_from(JobInstance).where(JobInstance.institution_id == world.east.id)) == 1
    )

    # The operator runs institution jobs in the institution named with ?institution=.
    nowhere = client.post(f"{JOBS}/M1001?op=run", json={}, headers=operator)
    assert (nowhere.status_code, _error(nowhere)) == (400, "60224")
    answer = _run(client, operator, query=f"&institution={world.west.code}")
    body = client.get(_instance_path(answer), headers=operator).json()
    assert body["counter"][0]["value"] == "1"
    db.expire_all()
    assert db.get(User, west_patron.id).status == "INACTIVE"  # type: ignore[union-attr]

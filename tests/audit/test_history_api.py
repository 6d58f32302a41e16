"""`GET /api/v1/history` (P-6): every kind of the platform, oldest first, paged, inside tenancy (R-3)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.audit import registry
from consortia.audit.models import SYSTEM
from consortia.audit.service import record
from consortia.errors import NotFound
from tests.audit.world import World, assert_same_denial, build_world, error_of
from tests.factories import Factory

SEARCH_ALL = "fulfillment_network_search_by_all"


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def history(client: TestClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/history?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def changes(body: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(e["field"], e["old"], e["new"]) for e in body.get("event", [])]


def test_event_shape_and_order(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    for name in ("First", "Second", "Third"):
        client.patch("/api/v1/consortia/SLC", json={"name": name}, headers=operator)
    body = history(client, operator, "entity=consortium&id=SLC")
    assert body["total_record_count"] == 3
    assert changes(body) == [
        ("name", "Southern Libraries Consortium", "First"),
        ("name", "First", "Second"),
        ("name", "Second", "Third"),
    ]
    event = body["event"][0]
    assert set(event) == {"entity", "id", "field", "old", "new", "actor", "at", "job_instance"}
    assert event["entity"] == "consortium"
    assert event["id"] == "SLC"
    assert event["actor"] == world.users["operator"].full_name
    assert event["at"].endswith("Z")
    assert event["job_instance"] is None

    page = history(client, operator, "entity=consortium&id=SLC&limit=1&offset=1")
    assert changes(page) == [("name", "First", "Second")]
    assert page["total_record_count"] == 3
    assert history(client, operator, "entity=consortium&id=NLC") == {"total_record_count": 0}


def test_consortium_history_is_read_by_members_only(client: TestClient, world: World) -> None:
    client.patch("/api/v1/consortia/NLC", json={"parent_account": "Northern Trust"}, headers=world.headers("operator"))
    client.patch("/api/v1/consortia/SLC", json={"parent_account": "Southern Trust"}, headers=world.headers("operator"))
    east = world.headers("east_staff")
    assert changes(history(client, east, "entity=consortium&id=nlc")) == [("parent_account", "", "Northern Trust")]
    assert_same_denial(client, east, "/api/v1/history?entity=consortium&id={}", "SLC")


def test_institution_library_and_network_history(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    client.patch("/api/v1/institutions/EAST", json={"name": "East State"}, headers=operator)
    client.patch("/api/v1/institutions/WEST", json={"name": "West State"}, headers=operator)
    client.post("/api/v1/institutions/EAST/libraries", json={"code": "EAST_LAW", "name": "Law"}, headers=operator)
    client.post("/api/v1/institutions/WEST/libraries", json={"code": "WEST_LAW", "name": "Law"}, headers=operator)
    client.put(
        "/api/v1/fulfillment-networks/FN_EW/members", json={"members": ["EAST", "WEST", "NORTH"]}, headers=operator
    )
    client.put("/api/v1/fulfillment-networks/FN_W/members", json={"members": ["WEST"]}, headers=operator)

    east = world.headers("east_staff")
    assert changes(history(client, east, "entity=institution&id=EAST")) == [
        ("name", "Eastern State University", "East State"),
        ("library", None, "EAST_LAW"),
    ]
    assert ("name", None, "Law") in changes(history(client, east, "entity=library&id=east_law"))
    assert changes(history(client, east, "entity=network&id=FN_EW")) == [
        ("members", "EAST, WEST", "EAST, NORTH, WEST"),
    ]
    assert_same_denial(client, east, "/api/v1/history?entity=institution&id={}", "WEST")
    assert_same_denial(client, east, "/api/v1/history?entity=library&id={}", "WEST_LAW")
    assert_same_denial(client, east, "/api/v1/history?entity=network&id={}", "FN_W")


def test_parameter_history_belongs_to_the_acting_institution(client: TestClient, world: World) -> None:
    client.put(
        f"/api/v1/institutions/EAST/parameters/{SEARCH_ALL}", json={"value": True}, headers=world.headers("east_gsa")
    )
    query = f"entity=parameter&id={SEARCH_ALL}"
    assert changes(history(client, world.headers("east_staff"), query)) == [("value", "false", "true")]
    # WEST has the same parameter, unchanged: its history is empty, EAST's rows never show.
    assert history(client, world.headers("west_gsa"), query) == {"total_record_count": 0}
    operator = world.headers("operator")
    assert changes(history(client, operator, query + "&institution=EAST")) == [("value", "false", "true")]
    response = client.get(f"/api/v1/history?{query}", headers=operator)
    assert response.status_code == 400
    assert "?institution=" in error_of(response)["errorMessage"]
    response = client.get("/api/v1/history?entity=parameter&id=no_such_parameter", headers=world.headers("east_gsa"))
    assert response.status_code == 404


def test_user_history_stays_in_the_institution(client: TestClient, world: World, db: Session) -> None:
    factory = world.factory
    east_jane = factory.user(world.east, "jane")
    west_jane = factory.user(world.west, "jane")
    for user, new in ((east_jane, "jane@east.example.edu"), (west_jane, "jane@west.example.edu")):
        record(
            db,
            entity="user",
            entity_id=user.primary_id,
            field="email",
            old=None,
            new=new,
            actor=SYSTEM,
            institution_id=user.institution_id,
        )
    db.commit()
    expected = [("email", None, "jane@east.example.edu")]
    for who in ("east_ua", "east_gsa", "east_staff"):
        assert changes(history(client, world.headers(who), "entity=user&id=JANE")) == expected, who
    west = history(client, world.headers("west_gsa"), "entity=user&id=jane")
    assert changes(west) == [("email", None, "jane@west.example.edu")]
    operator = world.headers("operator")
    assert changes(history(client, operator, "entity=user&id=jane&institution=EAST")) == expected
    # A patron reads no one else's history (404, like an unknown user) but may read their own.
    patron = world.headers("east_patron")
    assert client.get("/api/v1/history?entity=user&id=jane", headers=patron).status_code == 404
    own = history(client, patron, "entity=user&id=east-patron")
    assert [e["field"] for e in own["event"]] == ["api_key"]  # the key the test made for them
    assert_same_denial(client, world.headers("east_ua"), "/api/v1/history?entity=user&id={}", "west-gsa")


def test_unknown_kind_and_missing_id_are_400(client: TestClient, world: World) -> None:
    headers = world.headers("east_staff")
    response = client.get("/api/v1/history?entity=spaceship&id=1", headers=headers)
    assert response.status_code == 400
    message = error_of(response)["errorMessage"]
    for kind in ("consortium", "institution", "library", "network", "parameter", "user"):
        assert kind in message
    assert client.get("/api/v1/history?entity=user", headers=headers).status_code == 400
    assert client.get("/api/v1/history?id=EAST", headers=headers).status_code == 400
    assert client.get("/api/v1/history?entity=institution&id=EAST&limit=500", headers=headers).status_code == 400


def test_other_domains_register_their_kinds(
    client: TestClient, world: World, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    def widget(_session: Session, identity: object, widget_id: str) -> int:
        if widget_id != "7":
            raise NotFound(f"Widget {widget_id} was not found.")
        return world.east.id

    registry.register_history_kind("widget", widget)
    registry.register_history_kind("widget", widget)  # the same function again is harmless
    with pytest.raises(ValueError, match="already registered"):
        registry.register_history_kind("widget", lambda *_: None)
    for institution in (world.east, world.west):
        record(
            db,
            entity="widget",
            entity_id="7",
            field="colour",
            old=None,
            new=institution.code,
            actor=SYSTEM,
            institution_id=institution.id,
        )
    db.commit()
    headers = world.headers("east_staff")
    assert changes(history(client, headers, "entity=widget&id=7")) == [("colour", None, "EAST")]
    assert client.get("/api/v1/history?entity=widget&id=8", headers=headers).status_code == 404

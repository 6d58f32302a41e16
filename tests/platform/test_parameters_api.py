"""Institution parameters through `/api/v1` (P-2): values with defaults, who may change each, history."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.platform.parameters import parameter_value
from tests.audit.world import World, assert_same_denial, build_world, error_of
from tests.factories import Factory

TEMP = "temp_user_scope_limits_electronic_resources"
SEARCH_ALL = "fulfillment_network_search_by_all"


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def parameter_rows(db: Session, institution_id: int) -> list[tuple[str, str | None, str | None, str]]:
    rows = db.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == "parameter", HistoryEvent.institution_id == institution_id)
        .order_by(HistoryEvent.id)
    )
    return [(e.entity_id, e.old, e.new, e.actor) for e in rows]


def test_staff_read_their_institutions_parameters(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/institutions/EAST/parameters", headers=world.headers("east_staff"))
    assert response.status_code == 200, response.text
    body = response.json()
    by_name = {row["name"]: row for row in body["parameter"]}
    assert body["total_record_count"] == len(by_name) >= 2
    assert by_name[TEMP]["value"] is False
    assert by_name[TEMP]["default"] is False
    assert by_name[SEARCH_ALL]["value"] is False
    assert by_name[SEARCH_ALL]["editable"] is False  # a Circulation Desk Operator changes nothing
    gsa = client.get("/api/v1/institutions/EAST/parameters", headers=world.headers("east_gsa")).json()
    editable = {row["name"]: row["editable"] for row in gsa["parameter"]}
    assert editable[SEARCH_ALL] is True
    assert editable[TEMP] is False


def test_parameters_of_another_institution_answer_like_an_unknown_one(client: TestClient, world: World) -> None:
    gsa = world.headers("east_gsa")
    assert_same_denial(client, gsa, "/api/v1/institutions/{}/parameters", "WEST")
    response = client.put(f"/api/v1/institutions/WEST/parameters/{SEARCH_ALL}", json={"value": True}, headers=gsa)
    assert response.status_code == 404
    assert error_of(response)["errorMessage"] == "Institution WEST was not found."


def test_gsa_changes_an_ordinary_parameter_with_history(client: TestClient, world: World, db: Session) -> None:
    response = client.put(
        f"/api/v1/institutions/EAST/parameters/{SEARCH_ALL}", json={"value": True}, headers=world.headers("east_gsa")
    )
    assert response.status_code == 200, response.text
    assert response.json()["value"] is True
    assert response.json()["default"] is False
    assert parameter_value(db, world.east.id, SEARCH_ALL) is True
    assert parameter_value(db, world.west.id, SEARCH_ALL) is False
    actor = world.users["east_gsa"].full_name
    assert parameter_rows(db, world.east.id) == [(SEARCH_ALL, "false", "true", actor)]
    # Setting the same value again records nothing.
    client.put(
        f"/api/v1/institutions/EAST/parameters/{SEARCH_ALL}", json={"value": True}, headers=world.headers("east_gsa")
    )
    assert len(parameter_rows(db, world.east.id)) == 1


def test_only_the_operator_changes_the_scope_parameter(client: TestClient, world: World, db: Session) -> None:
    path = f"/api/v1/institutions/EAST/parameters/{TEMP}"
    response = client.put(path, json={"value": True}, headers=world.headers("east_gsa"))
    assert response.status_code == 403
    assert "contact support to enable" in error_of(response)["errorMessage"]
    assert parameter_value(db, world.east.id, TEMP) is False

    response = client.put(path, json={"value": True}, headers=world.headers("operator"))
    assert response.status_code == 200, response.text
    assert response.json()["value"] is True
    assert parameter_rows(db, world.east.id) == [(TEMP, "false", "true", world.users["operator"].full_name)]


def test_staff_without_the_gsa_role_may_not_change_parameters(client: TestClient, world: World) -> None:
    for who in ("east_staff", "east_ua"):
        response = client.put(
            f"/api/v1/institutions/EAST/parameters/{SEARCH_ALL}", json={"value": True}, headers=world.headers(who)
        )
        assert response.status_code == 403, who
        assert "General System Administrator" in error_of(response)["errorMessage"]


@pytest.mark.parametrize("body", [{"value": "yes"}, {"value": None}, {"value": 1}, {"value": [True]}, {}, [True]])
def test_wrongly_typed_values_are_400(client: TestClient, world: World, body: object) -> None:
    response = client.put(
        f"/api/v1/institutions/EAST/parameters/{SEARCH_ALL}", json=body, headers=world.headers("operator")
    )
    assert response.status_code == 400, response.text
    error_of(response)


def test_text_parameters_take_text(client: TestClient, world: World) -> None:
    path = "/api/v1/institutions/EAST/parameters/consortial_id_type"
    gsa = world.headers("east_gsa")
    assert client.put(path, json={"value": True}, headers=gsa).status_code == 400
    response = client.put(path, json={"value": " UNIV_ID "}, headers=gsa)
    assert response.status_code == 200
    assert response.json()["value"] == "UNIV_ID"


def test_unknown_parameter_is_404(client: TestClient, world: World) -> None:
    response = client.put(
        "/api/v1/institutions/EAST/parameters/no_such_parameter",
        json={"value": True},
        headers=world.headers("operator"),
    )
    assert response.status_code == 404
    assert error_of(response)["errorMessage"] == "Parameter no_such_parameter was not found."

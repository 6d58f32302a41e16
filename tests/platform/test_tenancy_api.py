"""`/api/v1` tenancy (P-1, P-8, R-3): consortia, institutions, libraries, fulfillment networks.

The operator manages everything; staff read their own institution, consortium and networks; anything
else answers exactly like an unknown code; writes to visible things answer 403 with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.audit.service import events_for
from consortia.http.answers import JSON_TYPE
from tests.audit.world import World, assert_same_denial, build_world, error_of
from tests.factories import Factory


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def codes(body: dict[str, Any], key: str) -> list[str]:
    return [item["code"] for item in body.get(key, [])]


# --- consortia ----------------------------------------------------------------------------------


def test_operator_creates_a_consortium_with_history(client: TestClient, world: World, db: Session) -> None:
    response = client.post(
        "/api/v1/consortia",
        json={"code": "mlc", "name": "Midland Libraries Consortium", "parent_account": "Midland Trust"},
        headers=world.headers("operator"),
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["code"] == "MLC"
    assert body["name"] == "Midland Libraries Consortium"
    assert body["parent_account"] == "Midland Trust"
    assert body["link"].endswith("/api/v1/consortia/MLC")
    assert "institutions" in body
    assert body["institutions"] == []

    listed = client.get("/api/v1/consortia?limit=100", headers=world.headers("operator")).json()
    assert codes(listed, "consortium") == ["MLC", "NLC", "SLC"]
    assert listed["total_record_count"] == 3

    rows = {(e.field, e.old, e.new, e.actor) for e in events_for(db, "consortium", "MLC")}
    actor = world.users["operator"].full_name
    assert rows == {
        ("code", None, "MLC", actor),
        ("name", None, "Midland Libraries Consortium", actor),
        ("parent_account", None, "Midland Trust", actor),
    }


@pytest.mark.parametrize("code", ["A", "EAST-LAW", "X" * 41, "ÉCOLE", "two words", ""])
def test_bad_codes_are_400(client: TestClient, world: World, code: str) -> None:
    response = client.post("/api/v1/consortia", json={"code": code, "name": "N"}, headers=world.headers("operator"))
    assert response.status_code == 400, response.text
    assert "not valid" in error_of(response)["errorMessage"]


def test_duplicate_codes_are_400_with_a_clear_message(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    response = client.post("/api/v1/consortia", json={"code": "nlc", "name": "Again"}, headers=operator)
    assert response.status_code == 400
    assert error_of(response)["errorMessage"] == "The consortium code NLC is already in use."
    response = client.post("/api/v1/institutions", json={"code": "EAST", "name": "Again"}, headers=operator)
    assert response.status_code == 400
    assert "EAST is already in use" in error_of(response)["errorMessage"]
    response = client.post("/api/v1/fulfillment-networks", json={"code": "FN_W", "name": "Again"}, headers=operator)
    assert response.status_code == 400
    assert "FN_W is already in use" in error_of(response)["errorMessage"]


@pytest.mark.parametrize(
    "body",
    [
        {"code": 5, "name": "Number code"},
        {"code": "OK_CODE"},
        {"code": "OK_CODE", "name": ["a list"]},
        ["not", "an", "object"],
        "just text",
    ],
)
def test_wrong_json_types_are_400_in_the_error_shape(client: TestClient, world: World, body: object) -> None:
    response = client.post("/api/v1/consortia", json=body, headers=world.headers("operator"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert error_of(response)["errorCode"] == "40166411"


def test_malformed_json_is_400(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/consortia",
        content=b'{"code": "X',
        headers={**world.headers("operator"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error_of(response)


def test_members_read_their_own_consortium_only(client: TestClient, world: World) -> None:
    east = world.headers("east_staff")
    listed = client.get("/api/v1/consortia", headers=east).json()
    assert codes(listed, "consortium") == ["NLC"]
    assert listed["total_record_count"] == 1
    one = client.get("/api/v1/consortia/nlc", headers=east)
    assert one.status_code == 200
    # A member sees its own institution among the members, not the partners' records.
    assert [i["value"] for i in one.json()["institutions"]] == ["EAST"]
    operator_view = client.get("/api/v1/consortia/NLC", headers=world.headers("operator")).json()
    assert [i["value"] for i in operator_view["institutions"]] == ["EAST", "NORTH"]
    assert_same_denial(client, east, "/api/v1/consortia/{}", "SLC")


def test_consortium_writes_by_staff_are_403_where_visible_and_404_elsewhere(client: TestClient, world: World) -> None:
    gsa = world.headers("east_gsa")
    response = client.patch("/api/v1/consortia/NLC", json={"name": "Mine now"}, headers=gsa)
    assert response.status_code == 403
    assert error_of(response)["errorMessage"] == "Only the operator manages consortia."
    hidden = client.patch("/api/v1/consortia/SLC", json={"name": "Mine now"}, headers=gsa)
    unknown = client.patch("/api/v1/consortia/NOPE", json={"name": "Mine now"}, headers=gsa)
    assert hidden.status_code == unknown.status_code == 404
    created = client.post("/api/v1/consortia", json={"code": "GSA_OWN", "name": "x"}, headers=gsa)
    assert created.status_code == 403
    assert error_of(created)["errorMessage"] == "Only the operator manages consortia."


def test_operator_changes_a_consortium_but_never_its_code(client: TestClient, world: World, db: Session) -> None:
    operator = world.headers("operator")
    response = client.patch(
        "/api/v1/consortia/NLC", json={"name": "Northern Libraries", "code": "NLC"}, headers=operator
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Northern Libraries"
    response = client.patch("/api/v1/consortia/NLC", json={"code": "NEW_CODE"}, headers=operator)
    assert response.status_code == 400
    assert "Codes are stable" in error_of(response)["errorMessage"]
    history = [(e.field, e.old, e.new) for e in events_for(db, "consortium", "NLC")]
    assert history == [("name", "Northern Libraries Consortium", "Northern Libraries")]


# --- institutions -------------------------------------------------------------------------------


def test_operator_creates_an_institution(client: TestClient, world: World, db: Session) -> None:
    response = client.post(
        "/api/v1/institutions",
        json={
            "code": "south",
            "name": "Southern Tech",
            "consortium": {"value": "SLC", "desc": "ignored"},
            "email_domains": ["South.Example.edu", "@mail.south.example.edu", "south.example.edu"],
        },
        headers=world.headers("operator"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "SOUTH"
    assert body["consortium"]["value"] == "SLC"
    assert body["consortium"]["desc"] == "Southern Libraries Consortium"
    assert body["email_domains"] == ["mail.south.example.edu", "south.example.edu"]
    assert body["libraries"]["value"] == 0
    history = {(e.field, e.new) for e in events_for(db, "institution", "SOUTH")}
    assert history == {
        ("code", "SOUTH"),
        ("name", "Southern Tech"),
        ("consortium", "SLC"),
        ("email_domains", "mail.south.example.edu, south.example.edu"),
    }
    assert [(e.field, e.new) for e in events_for(db, "consortium", "SLC")] == [("institution", "SOUTH")]


def test_a_new_institution_starts_with_code_tables_and_can_create_users_at_once(
    client: TestClient, world: World, db: Session
) -> None:
    operator = world.headers("operator")
    created = client.post("/api/v1/institutions", json={"code": "south", "name": "Southern Tech"}, headers=operator)
    assert created.status_code == 201, created.text
    groups = client.get("/almaws/v1/conf/code-tables/UserGroups?institution=SOUTH", headers=operator).json()
    rows = {row["code"]: row for row in groups["row"]}
    assert {"STAFF", "FACULTY", "UNDERGRAD"} <= set(rows)
    assert [code for code, row in rows.items() if row["default"]] == ["UNDERGRAD"]
    types = client.get("/almaws/v1/conf/code-tables/UserIdentifierTypes?institution=SOUTH", headers=operator).json()
    assert "BARCODE" in {row["code"] for row in types["row"]}
    # Each starter row is in the table's history, as any other change to a code table.
    assert {e.field for e in events_for(db, "code_table", "UserGroups")} >= set(rows)

    user = client.post(
        "/almaws/v1/users?institution=SOUTH",
        json={
            "primary_id": "first.patron",
            "first_name": "First",
            "last_name": "Patron",
            "user_group": {"value": "FACULTY"},
            "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "S-0001"}],
        },
        headers=operator,
    )
    assert user.status_code == 200, user.text
    assert user.json()["user_group"]["value"] == "FACULTY"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "X1", "name": "X", "email_domains": ["east.example.edu"]}, "already used by institution EAST"),
        ({"code": "X1", "name": "X", "email_domains": ["not a domain"]}, "is not an email domain"),
        ({"code": "X1", "name": "X", "consortium": "NOPE"}, "Consortium NOPE was not found"),
        ({"code": "X1", "name": "   "}, "needs a name"),
        ({"code": "X-1", "name": "X"}, "is not valid"),
    ],
)
def test_institution_validation(client: TestClient, world: World, body: dict[str, Any], message: str) -> None:
    response = client.post("/api/v1/institutions", json=body, headers=world.headers("operator"))
    assert response.status_code == 400, response.text
    assert message in error_of(response)["errorMessage"]


def test_institution_email_domains_must_be_a_list_of_text(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    for domains in ("east.example.edu", [1, 2], {"a": 1}):
        response = client.post(
            "/api/v1/institutions", json={"code": "X1", "name": "X", "email_domains": domains}, headers=operator
        )
        assert response.status_code == 400, domains


def test_operator_moves_an_institution_between_consortia(client: TestClient, world: World, db: Session) -> None:
    operator = world.headers("operator")
    response = client.patch("/api/v1/institutions/north", json={"consortium": "SLC"}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["consortium"]["value"] == "SLC"
    response = client.patch("/api/v1/institutions/NORTH", json={"consortium": None}, headers=operator)
    assert response.json()["consortium"] is None
    # Name only: the consortium stays as it is.
    response = client.patch("/api/v1/institutions/NORTH", json={"name": "Northern University"}, headers=operator)
    assert response.json()["consortium"] is None
    assert response.json()["name"] == "Northern University"
    assert [(e.field, e.old, e.new) for e in events_for(db, "institution", "NORTH")] == [
        ("consortium", "NLC", "SLC"),
        ("consortium", "SLC", None),
        ("name", "Northern College", "Northern University"),
    ]
    assert [(e.old, e.new) for e in events_for(db, "consortium", "NLC")] == [("NORTH", None)]
    assert [(e.old, e.new) for e in events_for(db, "consortium", "SLC")] == [(None, "NORTH"), ("NORTH", None)]


def test_operator_replaces_email_domains(client: TestClient, world: World, db: Session) -> None:
    operator = world.headers("operator")
    response = client.patch(
        "/api/v1/institutions/EAST",
        json={"email_domains": ["east.example.edu", "law.east.example.edu"]},
        headers=operator,
    )
    assert response.status_code == 200, response.text
    assert response.json()["email_domains"] == ["east.example.edu", "law.east.example.edu"]
    response = client.patch(
        "/api/v1/institutions/WEST", json={"email_domains": ["law.east.example.edu"]}, headers=operator
    )
    assert response.status_code == 400
    assert "already used by institution EAST" in error_of(response)["errorMessage"]
    response = client.patch("/api/v1/institutions/EAST", json={"email_domains": []}, headers=operator)
    assert response.json()["email_domains"] == []
    assert [(e.field, e.old, e.new) for e in events_for(db, "institution", "EAST")] == [
        ("email_domains", "east.example.edu", "east.example.edu, law.east.example.edu"),
        ("email_domains", "east.example.edu, law.east.example.edu", ""),
    ]


def test_staff_read_their_own_institution_only(client: TestClient, world: World) -> None:
    for who in ("east_staff", "east_patron", "east_gsa"):
        headers = world.headers(who)
        listed = client.get("/api/v1/institutions", headers=headers).json()
        assert codes(listed, "institution") == ["EAST"], who
        assert client.get("/api/v1/institutions/EAST", headers=headers).status_code == 200
        assert_same_denial(client, headers, "/api/v1/institutions/{}", "WEST")
        assert_same_denial(client, headers, "/api/v1/institutions/{}", "NORTH")
    operator = client.get("/api/v1/institutions?consortium=NLC", headers=world.headers("operator")).json()
    assert codes(operator, "institution") == ["EAST", "NORTH"]


def test_institution_writes_by_staff(client: TestClient, world: World) -> None:
    gsa = world.headers("east_gsa")
    response = client.patch("/api/v1/institutions/EAST", json={"name": "Renamed"}, headers=gsa)
    assert response.status_code == 403
    assert error_of(response)["errorMessage"] == "Only the operator manages institutions."
    assert client.patch("/api/v1/institutions/WEST", json={"name": "Renamed"}, headers=gsa).status_code == 404
    response = client.post("/api/v1/institutions", json={"code": "MINE", "name": "Mine"}, headers=gsa)
    assert response.status_code == 403


def test_institution_list_pages(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    first = client.get("/api/v1/institutions?limit=2", headers=operator).json()
    rest = client.get("/api/v1/institutions?limit=2&offset=2", headers=operator).json()
    assert codes(first, "institution") == ["EAST", "NORTH"]
    assert codes(rest, "institution") == ["WEST"]
    assert first["total_record_count"] == rest["total_record_count"] == 3
    empty = client.get("/api/v1/institutions?limit=0", headers=operator).json()
    assert empty == {"total_record_count": 3}
    assert client.get("/api/v1/institutions?limit=101", headers=operator).status_code == 400
    assert client.get("/api/v1/institutions?offset=-1", headers=operator).status_code == 400
    assert client.get(f"/api/v1/institutions?offset={2**64}", headers=operator).status_code == 400
    assert client.get("/api/v1/institutions?offset=1000000", headers=operator).json() == {"total_record_count": 3}


# --- libraries ----------------------------------------------------------------------------------


def test_libraries_of_an_institution(client: TestClient, world: World) -> None:
    east = world.headers("east_staff")
    body = client.get("/api/v1/institutions/EAST/libraries", headers=east).json()
    assert codes(body, "library") == ["EAST_L1", "EAST_L2"]
    assert body["library"][0]["institution"]["value"] == "EAST"
    assert body["library"][0]["resource_sharing"] is True
    one = client.get("/api/v1/institutions/EAST/libraries/east_l1", headers=east)
    assert one.status_code == 200
    assert one.json()["code"] == "EAST_L1"
    assert_same_denial(client, east, "/api/v1/institutions/{}/libraries", "WEST")
    assert_same_denial(client, east, "/api/v1/institutions/EAST/libraries/{}", "WEST_L1")


def test_operator_adds_a_library(client: TestClient, world: World, db: Session) -> None:
    response = client.post(
        "/api/v1/institutions/EAST/libraries",
        json={"code": "east_law", "name": "Law Library", "campus": "Downtown", "resource_sharing": False},
        headers=world.headers("operator"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "EAST_LAW"
    assert body["campus"] == {"value": "Downtown", "desc": "Downtown"}
    assert body["resource_sharing"] is False
    assert body["institution"]["value"] == "EAST"
    listed = client.get("/api/v1/institutions/EAST/libraries", headers=world.headers("east_staff")).json()
    assert "EAST_LAW" in codes(listed, "library")
    assert {(e.field, e.new) for e in events_for(db, "library", "EAST_LAW")} == {
        ("code", "EAST_LAW"),
        ("name", "Law Library"),
        ("campus", "Downtown"),
        ("resource_sharing", "false"),
    }
    assert [(e.field, e.new) for e in events_for(db, "institution", "EAST")] == [("library", "EAST_LAW")]


def test_library_codes_are_unique_on_the_platform(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/institutions/EAST/libraries",
        json={"code": "WEST_L1", "name": "Taken"},
        headers=world.headers("operator"),
    )
    assert response.status_code == 400
    assert error_of(response)["errorMessage"] == "The library code WEST_L1 is already in use."


def test_library_writes_by_staff_and_bad_types(client: TestClient, world: World) -> None:
    gsa = world.headers("east_gsa")
    body = {"code": "EAST_MUSIC", "name": "Music"}
    response = client.post("/api/v1/institutions/EAST/libraries", json=body, headers=gsa)
    assert response.status_code == 403
    assert error_of(response)["errorMessage"] == "Only the operator manages libraries."
    assert client.post("/api/v1/institutions/WEST/libraries", json=body, headers=gsa).status_code == 404
    response = client.post(
        "/api/v1/institutions/EAST/libraries",
        json={**body, "resource_sharing": "yes"},
        headers=world.headers("operator"),
    )
    assert response.status_code == 400


# --- fulfillment networks -----------------------------------------------------------------------


def test_members_read_their_networks_only(client: TestClient, world: World) -> None:
    east = world.headers("east_staff")
    body = client.get("/api/v1/fulfillment-networks", headers=east).json()
    assert codes(body, "fulfillment_network") == ["FN_EW"]
    assert [m["value"] for m in body["fulfillment_network"][0]["members"]] == ["EAST", "WEST"]
    west = client.get("/api/v1/fulfillment-networks", headers=world.headers("west_staff")).json()
    assert codes(west, "fulfillment_network") == ["FN_EW", "FN_W"]
    assert client.get("/api/v1/fulfillment-networks/fn_ew", headers=east).status_code == 200
    assert_same_denial(client, east, "/api/v1/fulfillment-networks/{}", "FN_W")


def test_operator_creates_a_network_and_replaces_its_members(client: TestClient, world: World, db: Session) -> None:
    operator = world.headers("operator")
    response = client.post(
        "/api/v1/fulfillment-networks",
        json={"code": "nlc_fn", "name": "NLC resource sharing", "members": ["west", {"value": "EAST"}]},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    assert response.json()["code"] == "NLC_FN"
    assert [m["value"] for m in response.json()["members"]] == ["EAST", "WEST"]
    response = client.put(
        "/api/v1/fulfillment-networks/NLC_FN/members", json={"members": ["EAST", "NORTH"]}, headers=operator
    )
    assert response.status_code == 200, response.text
    assert [m["value"] for m in response.json()["members"]] == ["EAST", "NORTH"]
    assert [(e.field, e.old, e.new) for e in events_for(db, "network", "NLC_FN")] == [
        ("code", None, "NLC_FN"),
        ("name", None, "NLC resource sharing"),
        ("members", None, "EAST, WEST"),
        ("members", "EAST, WEST", "EAST, NORTH"),
    ]
    # NORTH now sees the network, WEST no longer does.
    north = world.factory.user(world.north, "north-staff")
    assert client.get("/api/v1/fulfillment-networks/NLC_FN", headers=world.factory.key(north)).status_code == 200
    assert client.get("/api/v1/fulfillment-networks/NLC_FN", headers=world.headers("west_staff")).status_code == 404


def test_network_members_must_exist_and_be_codes(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    response = client.put(
        "/api/v1/fulfillment-networks/FN_W/members", json={"members": ["EAST", "NOPE"]}, headers=operator
    )
    assert response.status_code == 400
    assert error_of(response)["errorMessage"] == "Institution not found: NOPE."
    for body in ({"members": "EAST"}, {"members": [1]}, {}):
        assert client.put("/api/v1/fulfillment-networks/FN_W/members", json=body, headers=operator).status_code == 400


def test_network_writes_by_staff(client: TestClient, world: World) -> None:
    gsa = world.headers("east_gsa")
    body = {"members": ["EAST"]}
    response = client.put("/api/v1/fulfillment-networks/FN_EW/members", json=body, headers=gsa)
    assert response.status_code == 403
    assert error_of(response)["errorMessage"] == "Only the operator manages fulfillment networks."
    assert client.put("/api/v1/fulfillment-networks/FN_W/members", json=body, headers=gsa).status_code == 404
    response = client.post("/api/v1/fulfillment-networks", json={"code": "MINE", "name": "Mine"}, headers=gsa)
    assert response.status_code == 403


def test_xml_answers_on_request(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/consortia/NLC?format=xml", headers=world.headers("operator"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert b"<code>NLC</code>" in response.content

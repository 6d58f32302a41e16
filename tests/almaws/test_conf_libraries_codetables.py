"""`/almaws/v1/conf/libraries` and `/almaws/v1/conf/code-tables/{name}` (Alma notes §4.1, §4.2; P-3, P-6)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.audit.models import HistoryEvent
from tests.almaws.test_users_world import UsersWorld, build_users_world, error_of
from tests.factories import Factory

JSON = "application/json;charset=UTF-8"


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


# --- libraries --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operator", "east_gsa", "east_ua", "east_cdo", "east_staff"])
def test_libraries_of_the_callers_institution(client: TestClient, world: UsersWorld, who: str) -> None:
    response = world.call(client, who, "GET", "/almaws/v1/conf/libraries", {"limit": 1})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["total_record_count"] == 2  # not paged: limit is ignored
    assert [lib["code"] for lib in body["library"]] == ["EAST_L1", "EAST_L2"]
    first = body["library"][0]
    assert first["path"] == "EAST.EAST_L1"
    assert first["name"] == "EAST Library 1"
    assert first["resource_sharing"] is True
    assert set(first["campus"]) == {"value", "desc"}
    assert first["link"].endswith("/almaws/v1/conf/libraries/EAST_L1")


def test_libraries_of_west_and_the_operator(client: TestClient, world: UsersWorld) -> None:
    west = world.call(client, "west_ua", "GET", "/almaws/v1/conf/libraries").json()
    assert [lib["code"] for lib in west["library"]] == ["WEST_L1", "WEST_L2"]
    as_operator = world.call(client, "operator", "GET", "/almaws/v1/conf/libraries", {"institution": "WEST"}).json()
    assert as_operator == {**west, "library": as_operator["library"]}
    nowhere = client.get("/almaws/v1/conf/libraries", headers=world["operator"].headers)
    assert nowhere.status_code == 400
    error_of(nowhere)


def test_one_library(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_staff", "GET", "/almaws/v1/conf/libraries/east_l2")
    assert response.status_code == 200, response.text
    assert response.json()["code"] == "EAST_L2"
    xml = world.call(client, "east_staff", "GET", "/almaws/v1/conf/libraries/EAST_L2", {"format": "xml"})
    assert ET.fromstring(xml.content).findtext("code") == "EAST_L2"  # noqa: S314 - our own answer


def test_another_institutions_library_is_unknown(client: TestClient, world: UsersWorld) -> None:
    hidden = world.call(client, "east_ua", "GET", "/almaws/v1/conf/libraries/WEST_L1")
    unknown = world.call(client, "east_ua", "GET", "/almaws/v1/conf/libraries/NOPE_L1")
    assert hidden.status_code == unknown.status_code == 404
    assert error_of(hidden)["errorCode"] == error_of(unknown)["errorCode"]
    assert world.call(client, "operator", "GET", "/almaws/v1/conf/libraries/WEST_L1").status_code == 404


# --- code tables ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("UserGroups", ["STAFF", "UNDERGRAD", "WALKIN"]),
        ("UserIdentifierTypes", ["BARCODE", "UNIV_ID"]),
        ("UserRoles", list(R.ROLE_TYPES)),
    ],
)
def test_get_code_tables(client: TestClient, world: UsersWorld, name: str, codes: list[str]) -> None:
    response = world.call(client, "east_staff", "GET", f"/almaws/v1/conf/code-tables/{name}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == name
    assert [row["code"] for row in body["row"]] == codes
    assert set(body["row"][0]) == {"code", "description", "default", "enabled"}
    assert body["scope"]["institution_id"]["value"] == "EAST"


def test_unknown_table_is_90101(client: TestClient, world: UsersWorld) -> None:
    for method, kw in (("GET", {}), ("PUT", {"json": {"row": []}})):
        response = world.call(client, "east_ua", method, "/almaws/v1/conf/code-tables/NoSuchTable", **kw)  # type: ignore[arg-type]
        assert response.status_code == 400
        error = error_of(response)
        assert error["errorCode"] == "90101"
        assert error["errorMessage"].startswith("Table does not exist.")


def _rows(client: TestClient, world: UsersWorld, who: str, name: str) -> list[dict]:  # type: ignore[type-arg]
    return world.call(client, who, "GET", f"/almaws/v1/conf/code-tables/{name}").json().get("row", [])  # type: ignore[no-any-return]


def _table_history(world: UsersWorld, name: str) -> list[tuple[str, str | None, str | None, int | None]]:
    rows = world.factory.session.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == "code_table", HistoryEvent.entity_id == name)
        .order_by(HistoryEvent.id)
    )
    return [(r.field, r.old, r.new, r.institution_id) for r in rows]


@pytest.mark.parametrize("who", ["operator", "east_gsa", "east_ua"])
def test_put_user_groups_writes_history(client: TestClient, world: UsersWorld, who: str) -> None:
    rows = [
        {"code": "STAFF", "description": "Staff members", "default": False, "enabled": True},
        {"code": "UNDERGRAD", "description": "Undergraduate", "default": True, "enabled": True},
        {"code": "WALKIN", "description": "Walk-in", "default": False, "enabled": False},
        {"code": "ALUMNI", "description": "Alumni", "default": False, "enabled": True},
    ]
    response = world.call(client, who, "PUT", "/almaws/v1/conf/code-tables/UserGroups", json={"row": rows})
    assert response.status_code == 200, response.text
    assert response.json()["row"] == rows
    assert _rows(client, world, who, "UserGroups") == rows
    east = world.east.id
    assert _table_history(world, "UserGroups") == [
        ("STAFF", "Staff (enabled)", "Staff members (enabled)", east),
        ("UNDERGRAD", "Undergraduate (enabled)", "Undergraduate (enabled, default)", east),
        ("WALKIN", "Walk-in (enabled)", "Walk-in (disabled)", east),
        ("ALUMNI", None, "Alumni (enabled)", east),
    ]
    # WEST's table is untouched.
    assert [r["code"] for r in _rows(client, world, "west_ua", "UserGroups")] == ["STAFF", "UNDERGRAD", "WALKIN"]
    # The new group can be given, the disabled one cannot.
    ok = world.call(
        client,
        "east_ua",
        "POST",
        "/almaws/v1/users",
        json={"primary_id": "al", "last_name": "A", "user_group": "ALUMNI"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["user_group"]["desc"] == "Alumni"


@pytest.mark.parametrize(("who", "status"), [("east_cdo", 403), ("east_staff", 403)])
def test_put_needs_an_administrator(client: TestClient, world: UsersWorld, who: str, status: int) -> None:
    before = _rows(client, world, who, "UserGroups")
    response = world.call(
        client, who, "PUT", "/almaws/v1/conf/code-tables/UserGroups", json={"row": [{"code": "X", "description": "X"}]}
    )
    assert response.status_code == status
    assert "administrators" in error_of(response)["errorMessage"]
    assert _rows(client, world, who, "UserGroups") == before
    assert _table_history(world, "UserGroups") == []


def test_removing_a_group_in_use_is_refused(client: TestClient, world: UsersWorld) -> None:
    rows = [{"code": "STAFF", "description": "Staff"}, {"code": "WALKIN", "description": "Walk-in"}]
    response = world.call(client, "east_ua", "PUT", "/almaws/v1/conf/code-tables/UserGroups", json={"row": rows})
    assert response.status_code == 400
    assert "UNDERGRAD is still used by 1" in error_of(response)["errorMessage"]
    # An unused one may go.
    rows.append({"code": "UNDERGRAD", "description": "Undergraduate"})
    rows = [r for r in rows if r["code"] != "WALKIN"]
    assert (
        world.call(client, "east_ua", "PUT", "/almaws/v1/conf/code-tables/UserGroups", json={"row": rows}).status_code
        == 200
    )
    assert ("WALKIN", "Walk-in (enabled)", None, world.east.id) in _table_history(world, "UserGroups")


def test_removing_an_identifier_type_in_use_is_refused(client: TestClient, world: UsersWorld) -> None:
    rows = [{"code": "UNIV_ID", "description": "University ID"}]
    response = world.call(
        client, "east_ua", "PUT", "/almaws/v1/conf/code-tables/UserIdentifierTypes", json={"row": rows}
    )
    assert response.status_code == 400
    assert "BARCODE" in error_of(response)["errorMessage"]


def test_user_roles_table_changes_descriptions_only(client: TestClient, world: UsersWorld) -> None:
    rows = [{"code": R.CIRCULATION_DESK_OPERATOR, "description": "Front desk", "enabled": True}]
    response = world.call(client, "east_gsa", "PUT", "/almaws/v1/conf/code-tables/UserRoles", json={"row": rows})
    assert response.status_code == 200, response.text
    table = {row["code"]: row for row in response.json()["row"]}
    assert list(table) == list(R.ROLE_TYPES)  # left-out role types stay
    assert table[R.CIRCULATION_DESK_OPERATOR]["description"] == "Front desk"
    assert (
        "CIRCULATION_DESK_OPERATOR",
        "Circulation Desk Operator (enabled)",
        "Front desk (enabled)",
        world.east.id,
    ) in (_table_history(world, "UserRoles"))
    user = world.call(client, "east_gsa", "GET", "/almaws/v1/users/east-cdo").json()
    assert user["user_role"][0]["role_type"] == {"value": R.CIRCULATION_DESK_OPERATOR, "desc": "Front desk"}
    new_code = world.call(
        client,
        "east_gsa",
        "PUT",
        "/almaws/v1/conf/code-tables/UserRoles",
        json={"row": [{"code": "LIBRARIAN", "description": "Librarian"}]},
    )
    assert new_code.status_code == 400
    assert "cannot be given new codes" in error_of(new_code)["errorMessage"]


@pytest.mark.parametrize(
    "body",
    [
        {"row": "STAFF"},
        {"row": [{"code": ""}]},
        {"row": [{"code": "A", "enabled": "maybe"}]},
        {"row": [{"code": "A", "description": "x" * 201}]},
        {"row": [{"code": "A"}, {"code": "A"}]},
        {"row": [{"code": "A", "default": True}, {"code": "B", "default": True}]},
        [],
    ],
)
def test_bad_code_table_bodies_are_400(client: TestClient, world: UsersWorld, body: object) -> None:
    response = world.call(client, "east_ua", "PUT", "/almaws/v1/conf/code-tables/UserIdentifierTypes", json=body)
    assert response.status_code == 400, response.text
    error_of(response)


def test_code_table_in_xml(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/conf/code-tables/UserGroups", {"format": "xml"})
    root = ET.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input
    assert root.tag == "code_table"
    assert [row.findtext("code") for row in root.findall("row")] == ["STAFF", "UNDERGRAD", "WALKIN"]

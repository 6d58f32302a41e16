"""Consortia licences, contacts and the access review (SC-2, SC-11, SC-12)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from consortia.access import roles as R
from tests.support.conftest import SupportWorld, error_message, key, sign_in, support_user


def test_grant_a_licence_and_warn_on_the_second_in_one_institution(client: TestClient, world: SupportWorld) -> None:
    operator = world.key(world.operator)
    support_user(world.factory, world.south, "south-stan", "STANDARD")
    world.factory.session.commit()
    # SOUTH has one Consortia user already (south-cora): the next grant warns, and is still made
    response = client.post(
        "/api/v1/support/licences", json={"institution": "SOUTH", "primary_id": "south-stan"}, headers=operator
    )
    assert response.status_code == 201, response.text
    licence = response.json()
    assert licence["institution"] == {"value": "SOUTH", "desc": "Southern University"}
    assert licence["primary_id"] == "south-stan"
    assert licence["granted_by"] == world.operator.full_name
    assert licence["granted"].endswith("Z")
    assert len(licence["warnings"]) == 1
    assert "no more than one" in licence["warnings"][0]
    assert "south-cora" in licence["warnings"][0]
    user = client.get("/api/v1/support/contacts/SOUTH/south-stan", headers=operator).json()
    assert user["support_level"]["value"] == "CONSORTIA"
    # in an institution without a Consortia user: no warning
    lone_consortium = world.factory.consortium("SOLO", "Solo Consortium")
    world.lone.consortium_id = lone_consortium.id
    world.factory.session.commit()
    first = client.post(
        "/api/v1/support/licences", json={"institution": "LONE", "primary_id": "lone-liz"}, headers=operator
    )
    assert first.status_code == 201
    assert first.json()["warnings"] == []
    listed = client.get("/api/v1/support/licences?institution=SOUTH", headers=operator).json()
    assert [lic["primary_id"] for lic in listed["licence"]] == ["south-cora", "south-stan"]


def test_bad_licence_requests(client: TestClient, world: SupportWorld) -> None:
    operator = world.key(world.operator)
    cases = [
        ({"institution": "EAST", "primary_id": "east-jane"}, 409),  # already licensed
        ({"institution": "EAST", "primary_id": "nobody"}, 404),
        ({"institution": "NOPE", "primary_id": "east-sam"}, 404),
        ({"institution": "LONE", "primary_id": "lone-liz"}, 400),  # no consortium
        ({"institution": "EAST"}, 400),
        ({}, 400),
    ]
    for body, status in cases:
        response = client.post("/api/v1/support/licences", json=body, headers=operator)
        assert response.status_code == status, (body, response.text)
    assert client.get("/api/v1/support/licences?institution=NOPE", headers=operator).status_code == 404
    assert client.get("/api/v1/support/licences?limit=101", headers=operator).status_code == 400


def test_only_the_operator_manages_licences(client: TestClient, world: SupportWorld) -> None:
    gsa = world.factory.user(
        world.east, "east-admin", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="STANDARD"
    )
    headers = key(world.factory, gsa)
    for method, path, body in (
        ("get", "/api/v1/support/licences", None),
        ("post", "/api/v1/support/licences", {"institution": "EAST", "primary_id": "east-sam"}),
        ("delete", "/api/v1/support/licences/EAST/east-jane", None),
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, path
        assert "Only the operator" in error_message(response.json())


def test_removing_the_licence_takes_effect_at_once(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.west_standard, share_with="CONSORTIUM")
    partner = world.key(world.east_consortia)
    assert client.get(f"/api/v1/support/cases/{shared.number}", headers=partner).status_code == 200
    operator = world.key(world.operator)
    assert client.delete("/api/v1/support/licences/EAST/east-jane", headers=operator).status_code == 204
    assert client.get(f"/api/v1/support/cases/{shared.number}", headers=partner).status_code == 404
    contact = client.get("/api/v1/support/contacts/EAST/east-jane", headers=operator).json()
    assert contact["support_level"]["value"] == "STANDARD"
    assert client.delete("/api/v1/support/licences/EAST/east-jane", headers=operator).status_code == 404
    events = client.get("/api/v1/history?entity=licence&id=EAST/east-jane", headers=operator).json()["event"]
    assert [(e["old"], e["new"]) for e in events] == [("granted", "removed")]
    user_events = client.get("/api/v1/history?entity=user&id=east-jane&institution=EAST", headers=operator)
    assert ("CONSORTIA", "STANDARD") in [(e["old"], e["new"]) for e in user_events.json()["event"]]


def test_inactivating_a_contact_signs_them_out_at_once(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_consortia)
    sign_in(client, world.east_consortia)
    assert client.get("/support/cases", follow_redirects=False).status_code == 200
    operator = world.key(world.operator)
    response = client.patch("/api/v1/support/contacts/EAST/east-jane", json={"status": "INACTIVE"}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["value"] == "INACTIVE"
    assert client.get("/api/v1/support/cases", headers=headers).status_code == 401
    page = client.get("/support/cases", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    reactivated = client.patch("/api/v1/support/contacts/EAST/east-jane", json={"status": "ACTIVE"}, headers=operator)
    assert reactivated.status_code == 200
    assert client.get("/api/v1/support/cases", headers=headers).status_code == 200


def test_the_general_system_administrator_raises_a_user_to_standard(client: TestClient, world: SupportWorld) -> None:
    gsa = world.factory.user(world.east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="STANDARD")
    headers = key(world.factory, gsa)
    path = "/api/v1/support/contacts/EAST/east-bob"
    response = client.patch(path, json={"support_level": "STANDARD"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["support_level"]["value"] == "STANDARD"
    # never CONSORTIA, never a Consortia user's level, never a status
    for body, target in (
        ({"support_level": "CONSORTIA"}, path),
        ({"support_level": "BASIC"}, "/api/v1/support/contacts/EAST/east-jane"),
        ({"status": "INACTIVE"}, path),
    ):
        response = client.patch(target, json=body, headers=headers)
        assert response.status_code == 403, body
    # not for other institutions (404: not even visible)
    assert (
        client.patch(
            "/api/v1/support/contacts/WEST/west-bea", json={"support_level": "STANDARD"}, headers=headers
        ).status_code
        == 404
    )
    events = client.get("/api/v1/history?entity=user&id=east-bob", headers=headers).json()["event"]
    assert ("BASIC", "STANDARD") in [(e["old"], e["new"]) for e in events]


def test_other_staff_cannot_change_levels(client: TestClient, world: SupportWorld) -> None:
    own = world.key(world.east_basic)
    response = client.patch("/api/v1/support/contacts/EAST/east-bob", json={"support_level": "STANDARD"}, headers=own)
    assert response.status_code == 403
    assert "General System Administrator" in error_message(response.json())
    response = client.patch("/api/v1/support/contacts/EAST/east-sam", json={"support_level": "BASIC"}, headers=own)
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"support_level": "GOLD"}, {"status": "GONE"}, {"support_level": 3}])
def test_bad_contact_changes_are_400(client: TestClient, world: SupportWorld, body: dict[str, object]) -> None:
    response = client.patch("/api/v1/support/contacts/EAST/east-bob", json=body, headers=world.key(world.operator))
    assert response.status_code == 400


def test_the_operator_grants_through_the_contact_level_too(client: TestClient, world: SupportWorld) -> None:
    operator = world.key(world.operator)
    response = client.patch(
        "/api/v1/support/contacts/EAST/east-sam", json={"support_level": "CONSORTIA"}, headers=operator
    )
    assert response.status_code == 200
    assert response.json()["warnings"]  # EAST already has east-jane
    response = client.patch("/api/v1/support/contacts/EAST/east-sam", json={"support_level": "BASIC"}, headers=operator)
    assert response.json()["support_level"]["value"] == "BASIC"
    listed = client.get("/api/v1/support/licences?institution=EAST", headers=operator).json()
    assert [lic["primary_id"] for lic in listed["licence"]] == ["east-jane"]


def test_access_review(client: TestClient, world: SupportWorld) -> None:
    operator = world.key(world.operator)
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    client.get(f"/api/v1/support/cases/{shared.number}", headers=world.key(world.west_consortia))
    sign_in(client, world.east_consortia)
    report = client.get("/api/v1/support/access-review?consortium=NLC", headers=operator).json()
    rows = {row["primary_id"]: row for row in report["consortia_user"]}
    assert set(rows) == {"east-jane", "west-carl"}
    assert report["total_record_count"] == 2
    assert rows["west-carl"]["last_partner_view"] is not None
    assert rows["east-jane"]["last_partner_view"] is None
    assert rows["east-jane"]["last_sign_in"] is not None
    assert rows["west-carl"]["last_sign_in"] is None
    assert rows["east-jane"]["granted"].endswith("Z")
    assert rows["east-jane"]["institution"]["value"] == "EAST"
    assert report["last_review"] is None
    today = dt.date.today()
    expected = dt.date(today.year + (today.month + 5) // 12, (today.month + 5) % 12 + 1, 1)
    assert report["next_due"][:7] == expected.isoformat()[:7]
    marked = client.post("/api/v1/support/access-review/NLC", json={}, headers=operator)
    assert marked.status_code == 201
    assert marked.json()["last_review"]["reviewer"] == world.operator.full_name
    assert marked.json()["next_due"][:7] == expected.isoformat()[:7]


def test_access_review_is_the_operators(client: TestClient, world: SupportWorld) -> None:
    member = world.key(world.east_consortia)
    response = client.get("/api/v1/support/access-review?consortium=NLC", headers=member)
    assert response.status_code == 403
    assert client.post("/api/v1/support/access-review/NLC", json={}, headers=member).status_code == 403
    assert client.post("/api/v1/support/access-review/OTHER", json={}, headers=member).status_code == 404
    operator = world.key(world.operator)
    assert client.get("/api/v1/support/access-review", headers=operator).status_code == 400
    assert client.get("/api/v1/support/access-review?consortium=NOPE", headers=operator).status_code == 404

"""Enabling case sharing (SC-1, SC-10): the pre-filled request case, resolving it in one step, disabling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Factory
from tests.support.conftest import SupportWorld, build_world, error_message, key


def _world_without_sharing(factory: Factory) -> SupportWorld:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    return world


# Contacts of the requester's own institution (contacts across the consortium: test_sharing_request_contacts).
REQUEST = {
    "consortium": "NLC",
    "contacts": [{"institution": "EAST", "primary_id": "east-sam"}, {"institution": "EAST", "primary_id": "east-bob"}],
}


def test_a_standard_user_asks_with_a_prefilled_access_case(client: TestClient, factory: Factory) -> None:
    world = _world_without_sharing(factory)
    response = client.post("/api/v1/support/sharing-requests", json=REQUEST, headers=key(factory, world.east_standard))
    assert response.status_code == 201, response.text
    case = response.json()
    # the seed's "<name> consortium", without doubling a name that already ends in Consortium
    assert case["subject"] == "Set up case sharing for Northern Libraries Consortium"
    assert case["issue_type"] == "Access"
    assert case["share_with"]["value"] == "INSTITUTION"
    assert case["description"].startswith("Please enable case sharing for the NLC Parent consortium.")
    assert "Users who should have access to the shared cases are:" in case["description"]
    assert "Sam East (east-sam, Eastern State University) <east-sam@example.edu>" in case["description"]
    assert "Bob East (east-bob, Eastern State University) <east-bob@example.edu>" in case["description"]


def test_who_may_ask_and_for_what(client: TestClient, factory: Factory) -> None:
    world = _world_without_sharing(factory)
    standard = key(factory, world.east_standard)
    response = client.post("/api/v1/support/sharing-requests", json=REQUEST, headers=key(factory, world.east_basic))
    assert response.status_code == 403
    other = {**REQUEST, "consortium": "OTHER"}
    assert client.post("/api/v1/support/sharing-requests", json=other, headers=standard).status_code == 404
    unknown = {**REQUEST, "consortium": "NOPE"}
    assert client.post("/api/v1/support/sharing-requests", json=unknown, headers=standard).status_code == 404
    outsider = {"consortium": "NLC", "contacts": [{"institution": "SOUTH", "primary_id": "south-cora"}]}
    response = client.post("/api/v1/support/sharing-requests", json=outsider, headers=standard)
    assert response.status_code == 400
    assert "SOUTH/south-cora" in error_message(response.json())
    for body in ({"consortium": "NLC", "contacts": []}, {"consortium": "NLC"}, {"contacts": REQUEST["contacts"]}):
        assert client.post("/api/v1/support/sharing-requests", json=body, headers=standard).status_code == 400


def test_the_operator_resolves_the_request_in_one_step(client: TestClient, factory: Factory) -> None:
    world = _world_without_sharing(factory)
    asker = key(factory, world.east_standard)
    number = client.post("/api/v1/support/sharing-requests", json=REQUEST, headers=asker).json()["number"]
    operator = key(factory, world.operator)
    response = client.put(
        "/api/v1/support/consortia/NLC/case-sharing", json={"enabled": True, "request_case": number}, headers=operator
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["case_sharing_enabled"] is True
    assert {(lic["institution"]["value"], lic["primary_id"]) for lic in body["licences"]} == {
        ("EAST", "east-sam"),
        ("EAST", "east-bob"),
    }
    # EAST already had a Consortia user: the recommendation of one per institution warns at each grant
    assert len(body["warnings"]) == 2
    assert body["request_case"]["status"] == "Solved"
    case = client.get(f"/api/v1/support/cases/{number}", headers=asker).json()
    assert case["status"] == "Solved"
    comments = client.get(f"/api/v1/support/cases/{number}/comments", headers=asker).json()["comment"]
    assert "Case sharing is enabled for Northern Libraries Consortium" in comments[-1]["text"]
    licences = client.get("/api/v1/support/licences?consortium=NLC&limit=100", headers=operator).json()
    assert {lic["primary_id"] for lic in licences["licence"]} == {"east-sam", "east-bob", "east-jane", "west-carl"}
    # SC-10: the history of the consortium and of each licence names the request case
    history = client.get("/api/v1/history?entity=consortium&id=NLC", headers=operator).json()
    assert [(e["field"], e["old"], e["new"]) for e in history["event"]] == [
        ("case_sharing_enabled", "false", f"true (via case {number})")
    ]
    licence = client.get("/api/v1/history?entity=licence&id=EAST/east-sam", headers=operator).json()
    assert [(e["old"], e["new"]) for e in licence["event"]] == [(None, f"granted (via case {number})")]
    # resolving twice is a conflict
    again = client.put(
        "/api/v1/support/consortia/NLC/case-sharing", json={"enabled": True, "request_case": number}, headers=operator
    )
    assert again.status_code == 409


def test_request_case_must_match(client: TestClient, factory: Factory) -> None:
    world = _world_without_sharing(factory)
    operator = key(factory, world.operator)
    plain = world.case(world.east_standard).number
    for body in (
        {"enabled": True, "request_case": plain},
        {"enabled": True, "request_case": "99999999"},
        {"enabled": "maybe"},
        {},
    ):
        response = client.put("/api/v1/support/consortia/NLC/case-sharing", json=body, headers=operator)
        assert response.status_code == 400, body
    number = client.post(
        "/api/v1/support/sharing-requests", json=REQUEST, headers=key(factory, world.east_standard)
    ).json()["number"]
    wrong = client.put(
        "/api/v1/support/consortia/OTHER/case-sharing", json={"enabled": True, "request_case": number}, headers=operator
    )
    assert wrong.status_code == 400
    disabling = client.put(
        "/api/v1/support/consortia/NLC/case-sharing", json={"enabled": False, "request_case": number}, headers=operator
    )
    assert disabling.status_code == 400


def test_only_the_operator_switches_sharing(client: TestClient, world: SupportWorld) -> None:
    member = world.key(world.east_consortia)
    response = client.put("/api/v1/support/consortia/NLC/case-sharing", json={"enabled": False}, headers=member)
    assert response.status_code == 403
    assert "Only the operator" in error_message(response.json())
    assert (
        client.put("/api/v1/support/consortia/OTHER/case-sharing", json={"enabled": False}, headers=member).status_code
        == 404
    )
    assert (
        client.put(
            "/api/v1/support/consortia/NOPE/case-sharing", json={"enabled": False}, headers=world.key(world.operator)
        ).status_code
        == 404
    )


def test_disabling_hides_shared_cases_from_partners_at_once(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    partner, owner, operator = (
        world.key(world.west_consortia),
        world.key(world.east_standard),
        world.key(world.operator),
    )
    assert client.get(f"/api/v1/support/cases/{shared.number}", headers=partner).status_code == 200
    switch = client.put("/api/v1/support/consortia/NLC/case-sharing", json={"enabled": False}, headers=operator)
    assert switch.status_code == 200
    assert switch.json()["case_sharing_enabled"] is False
    assert client.get(f"/api/v1/support/cases/{shared.number}", headers=partner).status_code == 404
    assert client.get("/api/v1/support/list-views/partner-cases/cases", headers=partner).json() == {
        "total_record_count": 0
    }
    # the owner still sees it, and can no longer share (but can unshare)
    case = client.get(f"/api/v1/support/cases/{shared.number}", headers=owner).json()
    assert case["can"]["share"] is False
    client.put("/api/v1/support/consortia/NLC/case-sharing", json={"enabled": True}, headers=operator)
    assert client.get(f"/api/v1/support/cases/{shared.number}", headers=partner).status_code == 200

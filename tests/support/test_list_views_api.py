"""List views (SC-8, SC-9): the built-in views each level gets, cloning, editing, deleting, and that a
custom view never shows more than its source view."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.conftest import SupportWorld, error_message

PARTNER = "/api/v1/support/list-views/partner-cases"


def _ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    return [v["id"] for v in client.get("/api/v1/support/list-views", headers=headers).json().get("list_view", [])]


def test_built_in_views_by_level(client: TestClient, world: SupportWorld) -> None:
    assert _ids(client, world.key(world.east_basic)) == ["my-cases"]
    assert _ids(client, world.key(world.east_standard)) == ["my-cases", "my-institution"]
    assert _ids(client, world.key(world.east_consortia)) == ["my-cases", "my-institution", "partner-cases"]
    assert _ids(client, world.key(world.operator)) == ["my-cases", "all-cases"]
    views = client.get("/api/v1/support/list-views", headers=world.key(world.east_consortia)).json()["list_view"]
    partner = views[2]
    assert partner["name"] == "Consortium/Partner Cases (Support Center)"
    assert partner["built_in"] is True
    assert partner["source_view"] is None
    assert "institution" in partner["columns"]
    assert partner["sort"] == {"field": "updated", "direction": "desc"}


def test_partner_list_holds_every_shared_case_of_the_consortium(client: TestClient, world: SupportWorld) -> None:
    own_shared = world.case(world.east_standard, share_with="CONSORTIUM", subject="Own shared")
    west_shared = world.case(world.west_standard, share_with="CONSORTIUM", subject="West shared")
    world.case(world.west_standard, subject="West private")
    world.case(world.south_consortia, share_with="CONSORTIUM", subject="Other consortium")
    body = client.get(f"{PARTNER}/cases?limit=100", headers=world.key(world.east_consortia)).json()
    assert body["total_record_count"] == 2
    assert {c["number"] for c in body["case"]} == {own_shared.number, west_shared.number}
    assert {c["institution"]["value"] for c in body["case"]} == {"EAST", "WEST"}


def test_the_partner_list_is_not_for_standard_users(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    assert client.get(f"{PARTNER}/cases", headers=headers).status_code == 404
    assert client.post(f"{PARTNER}/clone", json={"name": "Mine"}, headers=headers).status_code == 404


def test_built_in_views_cannot_be_changed(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_consortia)
    response = client.patch(PARTNER, json={"name": "Renamed"}, headers=headers)
    assert response.status_code == 403
    assert "clone it" in error_message(response.json())
    assert client.delete(PARTNER, headers=headers).status_code == 403
    assert client.get(PARTNER, headers=headers).json()["name"] == "Consortium/Partner Cases (Support Center)"


def test_clone_partner_list_limited_to_open_cases(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_consortia)
    open_case = world.case(world.west_standard, share_with="CONSORTIUM", status="In Progress")
    world.case(world.west_standard, share_with="CONSORTIUM", status="Solved")
    response = client.post(f"{PARTNER}/clone", json={"name": "Open partner cases"}, headers=headers)
    assert response.status_code == 201
    clone = response.json()
    assert clone["built_in"] is False
    assert clone["source_view"] == "partner-cases"
    assert clone["columns"] == ["number", "institution", "subject", "status", "priority", "updated"]
    path = f"/api/v1/support/list-views/{clone['id']}"
    assert client.get(f"{path}/cases", headers=headers).json()["total_record_count"] == 2
    change = {
        "filters": {"status": ["New", "In Progress", "Pending Customer"]},
        "columns": ["number", "subject", "institution"],
        "sort": {"field": "number", "direction": "asc"},
    }
    response = client.patch(path, json=change, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["filters"]["status"] == ["New", "In Progress", "Pending Customer"]
    assert response.json()["columns"] == ["number", "subject", "institution"]
    listed = client.get(f"{path}/cases", headers=headers).json()
    assert [c["number"] for c in listed["case"]] == [open_case.number]
    assert _ids(client, headers)[-1] == clone["id"]


def test_a_custom_view_never_widens_its_source(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_consortia)
    world.case(world.south_consortia, share_with="CONSORTIUM")
    world.case(world.west_standard)
    clone = client.post(f"{PARTNER}/clone", json={"name": "Everything"}, headers=headers).json()
    path = f"/api/v1/support/list-views/{clone['id']}"
    client.patch(path, json={"filters": {"institution": ["SOUTH", "WEST"]}}, headers=headers)
    assert client.get(f"{path}/cases", headers=headers).json() == {"total_record_count": 0}
    # a cloned "My Cases" stays limited to the caller's own cases
    mine = client.post("/api/v1/support/list-views/my-cases/clone", json={"name": "Mine"}, headers=headers).json()
    world.case(world.east_standard)
    assert client.get(f"/api/v1/support/list-views/{mine['id']}/cases", headers=headers).json() == {
        "total_record_count": 0
    }


def test_a_partner_view_shows_nothing_once_the_licence_is_gone(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_consortia)
    world.case(world.west_standard, share_with="CONSORTIUM")
    clone = client.post(f"{PARTNER}/clone", json={"name": "Partners"}, headers=headers).json()
    path = f"/api/v1/support/list-views/{clone['id']}/cases"
    assert client.get(path, headers=headers).json()["total_record_count"] == 1
    world.east_consortia.support_level = "STANDARD"
    world.factory.session.commit()
    assert client.get(path, headers=headers).json() == {"total_record_count": 0}


def test_custom_views_belong_to_their_owner(client: TestClient, world: SupportWorld) -> None:
    owner = world.key(world.east_standard)
    clone = client.post("/api/v1/support/list-views/my-institution/clone", json={"name": "Ours"}, headers=owner).json()
    path = f"/api/v1/support/list-views/{clone['id']}"
    colleague = world.key(world.east_consortia)
    assert client.get(path, headers=colleague).status_code == 404
    assert client.get(f"{path}/cases", headers=colleague).status_code == 404
    assert client.patch(path, json={"name": "Theirs"}, headers=colleague).status_code == 404
    assert client.delete(path, headers=colleague).status_code == 404
    assert client.post(f"{path}/clone", json={"name": "Copy"}, headers=colleague).status_code == 404
    assert client.delete(path, headers=owner).status_code == 204
    assert client.get(path, headers=owner).status_code == 404
    assert client.get("/api/v1/support/list-views/12345678901234", headers=owner).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"filters": {"status": ["Open"]}},
        {"filters": {"colour": "red"}},
        {"filters": {"opened_from": "yesterday"}},
        {"filters": {"opened_from": "2025-02-01", "opened_to": "2025-01-01"}},
        {"columns": ["number", "colour"]},
        {"columns": []},
        {"sort": {"field": "colour"}},
        {"sort": {"field": "number", "direction": "up"}},
        {"name": ""},
        {"name": "My Cases"},
        {"name": "Taken"},
    ],
)
def test_bad_view_changes_are_400(client: TestClient, world: SupportWorld, change: dict[str, object]) -> None:
    headers = world.key(world.east_standard)
    client.post("/api/v1/support/list-views/my-cases/clone", json={"name": "Taken"}, headers=headers)
    clone = client.post("/api/v1/support/list-views/my-cases/clone", json={"name": "Mine"}, headers=headers).json()
    response = client.patch(f"/api/v1/support/list-views/{clone['id']}", json=change, headers=headers)
    assert response.status_code == 400, response.text


def test_view_filters_by_dates_and_text(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    world.case(world.east_standard, subject="Printing fails")
    world.case(world.east_standard, subject="Renewals")
    clone = client.post("/api/v1/support/list-views/my-cases/clone", json={"name": "Dated"}, headers=headers).json()
    path = f"/api/v1/support/list-views/{clone['id']}"
    client.patch(path, json={"filters": {"opened_to": "2000-01-01Z"}}, headers=headers)
    assert client.get(f"{path}/cases", headers=headers).json()["total_record_count"] == 0
    response = client.patch(path, json={"filters": {"opened_from": "2000-01-01", "text": "print"}}, headers=headers)
    assert response.json()["filters"]["opened_from"] == "2000-01-01Z"
    listed = client.get(f"{path}/cases", headers=headers).json()
    assert [c["subject"] for c in listed["case"]] == ["Printing fails"]


def test_view_cases_page_and_sort(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    for subject in ("Charlie", "Alpha", "Bravo"):
        world.case(world.east_standard, subject=subject)
    path = "/api/v1/support/list-views/my-cases/cases"
    first = client.get(f"{path}?limit=2&sort=subject&direction=asc", headers=headers).json()
    assert first["total_record_count"] == 3
    assert [c["subject"] for c in first["case"]] == ["Alpha", "Bravo"]
    second = client.get(f"{path}?limit=2&offset=2&sort=subject&direction=asc", headers=headers).json()
    assert [c["subject"] for c in second["case"]] == ["Charlie"]
    assert client.get(f"{path}?limit=500", headers=headers).status_code == 400


def test_clone_needs_a_name_and_a_support_level(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    assert client.post("/api/v1/support/list-views/my-cases/clone", json={}, headers=headers).status_code == 400
    assert client.post("/api/v1/support/list-views/nope/clone", json={"name": "x"}, headers=headers).status_code == 404

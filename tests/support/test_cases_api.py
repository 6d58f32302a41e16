"""The cases API (SC-4, SC-5, SC-7, R-4): open, read, change, share, comment, attach, history; bad input."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from consortia.http.answers import JSON_TYPE
from tests.support.conftest import SupportWorld, error_message, key, support_user

NEW_CASE = {
    "subject": "Loans do not renew",
    "description": "Renewing a loan answers an error.",
    "issue_type": "Technical",
    "product": "Alma",
    "priority": "High",
}


def _open(client: TestClient, headers: dict[str, str], **fields: str) -> dict[str, object]:
    response = client.post("/api/v1/support/cases", json={**NEW_CASE, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_open_a_case_answers_the_case_with_sequential_numbers(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    first = _open(client, headers)
    second = _open(client, headers, share_with="CONSORTIUM")
    assert re.fullmatch(r"\d{8}", str(first["number"]))
    assert int(str(second["number"])) == int(str(first["number"])) + 1
    assert first["status"] == "New"
    assert first["institution"] == {"value": "EAST", "desc": "Eastern State University"}
    assert first["opened_by"] == {"value": "east-sam", "desc": "Sam East"}
    assert first["share_with"] == {"value": "INSTITUTION", "desc": "My Institution"}
    assert second["share_with"] == {"value": "CONSORTIUM", "desc": "Northern Libraries Consortium"}
    assert first["can"] == {"edit": True, "comment": True, "share": True}
    assert first["created"].endswith("Z")  # type: ignore[union-attr]


def test_a_basic_user_opens_and_manages_their_own_case_only(client: TestClient, world: SupportWorld) -> None:
    basic = world.key(world.east_basic)
    mine = _open(client, basic)
    theirs = world.case(world.east_standard)
    assert client.get(f"/api/v1/support/cases/{mine['number']}", headers=basic).json()["can"]["edit"] is True
    assert client.get(f"/api/v1/support/cases/{theirs.number}", headers=basic).status_code == 404
    # a STANDARD user of the institution sees and manages the BASIC user's case
    standard = world.key(world.east_standard)
    response = client.patch(f"/api/v1/support/cases/{mine['number']}", json={"priority": "Low"}, headers=standard)
    assert response.status_code == 200


def test_share_with_consortium_needs_sharing_enabled(client: TestClient, world: SupportWorld) -> None:
    response = client.post(
        "/api/v1/support/cases", json={**NEW_CASE, "share_with": "CONSORTIUM"}, headers=world.key(world.lone_standard)
    )
    assert response.status_code == 403
    assert "no consortium" in error_message(response.json())
    world.nlc.case_sharing_enabled = False
    world.factory.session.commit()
    response = client.post(
        "/api/v1/support/cases", json={**NEW_CASE, "share_with": "CONSORTIUM"}, headers=world.key(world.east_standard)
    )
    assert response.status_code == 403
    assert "not enabled for Northern Libraries Consortium" in error_message(response.json())


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"subject": ""},
        {"subject": "x" * 256},
        {"subject": "ok", "issue_type": "Printer"},
        {"subject": "ok", "priority": "Urgent"},
        {"subject": "ok", "share_with": "WORLD"},
        {"subject": 12},
        [],
    ],
)
def test_bad_case_bodies_are_400_in_the_error_shape(client: TestClient, world: SupportWorld, body: object) -> None:
    response = client.post("/api/v1/support/cases", json=body, headers=world.key(world.east_standard))
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["errorsExist"] is True


def test_a_body_that_is_not_json_is_400(client: TestClient, world: SupportWorld) -> None:
    headers = {**world.key(world.east_standard), "content-type": "application/json"}
    response = client.post("/api/v1/support/cases", content=b"{not json", headers=headers)
    assert response.status_code == 400


def test_who_may_not_open_cases(client: TestClient, world: SupportWorld) -> None:
    nobody = support_user(world.factory, world.east, "east-none", "NONE")
    unconfirmed = support_user(world.factory, world.east, "east-new", "BASIC")
    unconfirmed.email_confirmed = False
    response = client.post("/api/v1/support/cases", json=NEW_CASE, headers=key(world.factory, nobody))
    assert response.status_code == 403
    response = client.post("/api/v1/support/cases", json=NEW_CASE, headers=key(world.factory, unconfirmed))
    assert response.status_code == 403
    assert "Confirm your email" in error_message(response.json())
    assert client.post("/api/v1/support/cases", json=NEW_CASE).status_code == 401


def test_the_operator_opens_a_case_for_a_named_institution(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.operator)
    assert client.post("/api/v1/support/cases", json=NEW_CASE, headers=headers).status_code == 400
    response = client.post("/api/v1/support/cases?institution=WEST", json=NEW_CASE, headers=headers)
    assert response.status_code == 201
    assert response.json()["institution"]["value"] == "WEST"


def test_unknown_and_malformed_numbers_are_404(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    case = world.case(world.east_standard)
    short = str(int(case.number))
    assert client.get(f"/api/v1/support/cases/{short}", headers=headers).json()["number"] == case.number
    for number in ("99999999", "abc", "123456789", "00-1"):
        response = client.get(f"/api/v1/support/cases/{number}", headers=headers)
        assert response.status_code == 404
        assert response.json()["errorList"]["error"][0]["errorCode"] == "402119"


def test_status_workflow(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = world.case(world.east_standard).number
    path = f"/api/v1/support/cases/{number}"
    response = client.patch(path, json={"status": "Closed"}, headers=headers)
    assert response.status_code == 400
    assert "may move to" in error_message(response.json())
    for status in ("In Progress", "Pending Customer", "Solved", "In Progress", "Solved", "Closed"):
        response = client.patch(path, json={"status": status}, headers=headers)
        assert response.status_code == 200, (status, response.text)
        assert response.json()["status"] == status
    assert response.json()["can"] == {"edit": False, "comment": False, "share": True}
    response = client.patch(path, json={"status": "In Progress"}, headers=headers)
    assert response.status_code == 409
    response = client.post(f"{path}/comments", json={"text": "Still broken"}, headers=headers)
    assert response.status_code == 409
    assert client.patch(path, json={"status": "Done"}, headers=headers).status_code == 400


def test_stale_version_is_a_conflict(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = world.case(world.east_standard).number
    path = f"/api/v1/support/cases/{number}"
    version = client.get(path, headers=headers).json()["version"]
    response = client.patch(path, json={"priority": "Critical", "version": version}, headers=headers)
    assert response.status_code == 200
    assert response.json()["version"] == version + 1
    response = client.patch(path, json={"priority": "Low", "version": version}, headers=headers)
    assert response.status_code == 409
    response = client.patch(path, json={"priority": "Low"}, headers={**headers, "If-Match": f'"{version}"'})
    assert response.status_code == 409
    response = client.patch(path, json={"priority": "Low"}, headers={**headers, "If-Match": f'"{version + 1}"'})
    assert response.status_code == 200
    assert client.patch(path, json={"priority": "Low"}, headers={**headers, "If-Match": "abc"}).status_code == 400
    assert client.get(path, headers=headers).json()["priority"] == "Low"


def test_changes_are_in_the_case_history(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = _open(client, headers)["number"]
    client.patch(
        f"/api/v1/support/cases/{number}", json={"subject": "Renewals fail", "status": "In Progress"}, headers=headers
    )
    client.put(f"/api/v1/support/cases/{number}/sharing", json={"share_with": "CONSORTIUM"}, headers=headers)
    client.put(f"/api/v1/support/cases/{number}/sharing", json={"share_with": "CONSORTIUM"}, headers=headers)
    client.put(f"/api/v1/support/cases/{number}/sharing", json={"share_with": "INSTITUTION"}, headers=headers)
    events = client.get(f"/api/v1/support/cases/{number}/history", headers=headers).json()["event"]
    changes = [(e["field"], e["old"], e["new"]) for e in events]
    assert changes == [
        ("status", None, "New"),
        ("share_with", None, "INSTITUTION"),
        ("subject", "Loans do not renew", "Renewals fail"),
        ("status", "New", "In Progress"),
        ("share_with", "INSTITUTION", "CONSORTIUM"),
        ("share_with", "CONSORTIUM", "INSTITUTION"),
    ]
    assert {e["actor"] for e in events} == {"Sam East"}
    assert all(e["entity"] == "case" and e["id"] == number for e in events)
    # the same rows through the history API; hidden from people who cannot see the case
    response = client.get(f"/api/v1/history?entity=case&id={number}", headers=headers)
    assert [e["field"] for e in response.json()["event"]] == [c[0] for c in changes]
    outsider = world.key(world.south_consortia)
    assert client.get(f"/api/v1/history?entity=case&id={number}", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/support/cases/{number}/history", headers=outsider).status_code == 404


def test_unsharing_removes_partner_visibility_at_once(client: TestClient, world: SupportWorld) -> None:
    owner, partner = world.key(world.east_standard), world.key(world.west_consortia)
    number = _open(client, owner, share_with="CONSORTIUM")["number"]
    assert client.get(f"/api/v1/support/cases/{number}", headers=partner).status_code == 200
    response = client.put(f"/api/v1/support/cases/{number}/sharing", json={"share_with": "INSTITUTION"}, headers=owner)
    assert response.json()["share_with"] == {"value": "INSTITUTION", "desc": "My Institution"}
    assert client.get(f"/api/v1/support/cases/{number}", headers=partner).status_code == 404
    assert client.get("/api/v1/support/list-views/partner-cases/cases", headers=partner).json() == {
        "total_record_count": 0
    }


@pytest.mark.parametrize("body", [{}, {"share_with": "consortium"}, {"share_with": None}, {"share_with": "ALL"}])
def test_bad_sharing_bodies_are_400(client: TestClient, world: SupportWorld, body: object) -> None:
    number = world.case(world.east_standard).number
    response = client.put(f"/api/v1/support/cases/{number}/sharing", json=body, headers=world.key(world.east_standard))
    assert response.status_code == 400


def test_comments(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_basic)
    number = _open(client, headers)["number"]
    response = client.post(f"/api/v1/support/cases/{number}/comments", json={"text": "More detail"}, headers=headers)
    assert response.status_code == 201
    comment = response.json()
    assert set(comment) == {"id", "text", "author", "created"}
    assert comment["author"] == "Bob East"
    listed = client.get(f"/api/v1/support/cases/{number}/comments", headers=headers).json()
    assert listed["total_record_count"] == 1
    assert listed["comment"][0]["text"] == "More detail"
    for body in ({}, {"text": ""}, {"text": "   "}, {"text": "x" * 20_001}):
        response = client.post(f"/api/v1/support/cases/{number}/comments", json=body, headers=headers)
        assert response.status_code == 400, body
    empty = world.case(world.east_basic).number
    assert client.get(f"/api/v1/support/cases/{empty}/comments", headers=headers).json() == {"total_record_count": 0}


def test_attachments_are_hidden_like_the_case(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = _open(client, headers)["number"]
    files = {"file": ("error.log", b"Traceback: renew failed", "text/plain")}
    response = client.post(f"/api/v1/support/cases/{number}/attachments", files=files, headers=headers)
    assert response.status_code == 201, response.text
    attachment = response.json()
    assert attachment["name"] == "error.log"
    assert attachment["size"] == len(b"Traceback: renew failed")
    listed = client.get(f"/api/v1/support/cases/{number}/attachments", headers=headers).json()
    assert listed["total_record_count"] == 1
    download = client.get(attachment["link"], headers=headers)
    assert download.content == b"Traceback: renew failed"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    outsider = world.key(world.west_consortia)
    assert client.get(attachment["link"], headers=outsider).status_code == 404
    assert client.get(f"/api/v1/support/cases/{number}/attachments/999999", headers=headers).status_code == 404
    empty = {"file": ("empty.txt", b"", "text/plain")}
    assert client.post(f"/api/v1/support/cases/{number}/attachments", files=empty, headers=headers).status_code == 400
    assert client.post(f"/api/v1/support/cases/{number}/attachments", headers=headers).status_code == 400


def test_case_list_filters_sorts_and_pages(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    world.case(world.east_standard, subject="Alpha", priority="Low")
    world.case(world.east_basic, subject="Bravo", priority="Critical", status="Solved")
    world.case(world.east_consortia, subject="Charlie", priority="High")
    world.case(world.west_standard, subject="West only")
    response = client.get("/api/v1/support/cases?sort=priority&direction=asc&limit=2", headers=headers).json()
    assert response["total_record_count"] == 3
    assert [c["subject"] for c in response["case"]] == ["Alpha", "Charlie"]
    page_two = client.get("/api/v1/support/cases?sort=priority&direction=asc&limit=2&offset=2", headers=headers)
    assert [c["subject"] for c in page_two.json()["case"]] == ["Bravo"]
    solved = client.get("/api/v1/support/cases?status=Solved", headers=headers).json()
    assert [c["subject"] for c in solved["case"]] == ["Bravo"]
    several = client.get("/api/v1/support/cases?priority=Low,High&sort=subject&direction=desc", headers=headers)
    assert [c["subject"] for c in several.json()["case"]] == ["Charlie", "Alpha"]
    text = client.get("/api/v1/support/cases?text=brav", headers=headers).json()
    assert text["total_record_count"] == 1
    assert client.get("/api/v1/support/cases?limit=0", headers=headers).json() == {"total_record_count": 3}
    for query in (
        "limit=101",
        "limit=-1",
        "offset=-1",
        "status=Open",
        "sort=colour",
        "direction=up",
        "opened_from=yesterday",
        "priority=Urgent",
    ):
        assert client.get(f"/api/v1/support/cases?{query}", headers=headers).status_code == 400, query


def test_xml_on_request(client: TestClient, world: SupportWorld) -> None:
    number = world.case(world.east_standard).number
    response = client.get(f"/api/v1/support/cases/{number}?format=xml", headers=world.key(world.east_standard))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert f"<number>{number}</number>" in response.text


def test_access_check_names_the_visibility_rule(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    partner = world.key(world.west_consortia)
    response = client.get(f"/api/v1/access/check?action=case:read&object=case:{shared.number}", headers=partner)
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is True
    assert response.json()["rule"] == "case_visible"
    response = client.get(f"/api/v1/access/check?action=case:comment&object=case:{shared.number}", headers=partner)
    assert response.json()["allowed"] is False
    private = world.case(world.east_standard)
    response = client.get(f"/api/v1/access/check?action=case:read&object=case:{private.number}", headers=partner)
    assert response.status_code == 404

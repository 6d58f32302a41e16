"""`GET /api/v1/access/check` (P-9): the decision, the rule that made it, and who may ask."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from consortia.errors import NotFound
from consortia.platform import explain
from tests.audit.world import World, build_world, error_of
from tests.factories import Factory

TEMP = "temp_user_scope_limits_electronic_resources"
SEARCH_ALL = "fulfillment_network_search_by_all"
ADMIN_RULE = "role:GENERAL_SYSTEM_ADMINISTRATOR|USER_ADMINISTRATOR"


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def check(client: TestClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/access/check?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert {"allowed", "reason", "rule"} <= set(body)
    return body


@pytest.mark.parametrize(
    ("who", "query", "allowed", "rule"),
    [
        ("east_ua", "action=user:edit&object=user:east-staff", True, "administers:USER_ADMINISTRATOR"),
        ("east_gsa", "action=role:grant&object=user:east-staff", True, "administers:GENERAL_SYSTEM_ADMINISTRATOR"),
        ("east_ua", "action=user:edit&object=user:east-gsa", False, "deny_by_default"),
        ("east_gsa", "action=user:delete&object=user:east-gsa", True, "administers:GENERAL_SYSTEM_ADMINISTRATOR"),
        ("east_staff", "action=user:edit&object=user:east-ua", False, "deny_by_default"),
        (
            "east_staff",
            "action=user:read&object=user:east-ua",
            True,
            "role:" + "|".join(("GENERAL_SYSTEM_ADMINISTRATOR", "USER_ADMINISTRATOR", "CIRCULATION_DESK_OPERATOR")),
        ),
        ("east_patron", "action=user:read&object=user:east-patron", True, "self"),
        ("east_gsa", f"action=parameter:edit&object=parameter:{SEARCH_ALL}", True, "gsa_parameter"),
        ("east_gsa", f"action=parameter:edit&object=parameter:{TEMP}", False, "deny_by_default"),
        ("east_staff", "action=consortium:read&object=consortium:NLC", True, "member_of_consortium"),
        ("east_staff", "action=consortium:manage&object=consortium:nlc", False, "deny_by_default"),
        ("east_staff", "action=network:read&object=network:FN_EW", True, "network_member"),
        ("east_staff", "action=library:manage&object=library:EAST_L1", False, "deny_by_default"),
        ("east_staff", "action=institution:read&object=institution:EAST", True, "own_institution"),
        ("east_ua", "action=user:create", True, ADMIN_RULE),
        ("east_staff", "action=user:create", False, "deny_by_default"),
        ("operator", "action=library:manage&object=library:WEST_L1", True, "operator"),
    ],
)
def test_decisions_name_their_rule(
    client: TestClient, world: World, who: str, query: str, allowed: bool, rule: str
) -> None:
    body = check(client, world.headers(who), query)
    assert body["allowed"] is allowed, body
    assert body["rule"] == rule
    assert body["reason"]
    assert body["user"] == world.users[who].primary_id


def test_reasons_say_why(client: TestClient, world: World) -> None:
    denied = check(client, world.headers("east_gsa"), f"action=parameter:edit&object=parameter:{TEMP}")
    assert "contact support to enable" in denied["reason"]
    allowed = check(client, world.headers("east_ua"), "action=user:edit&object=user:east-staff")
    assert "User Administrator" in allowed["reason"]
    assert "USER_ADMINISTRATOR (institution)" in allowed["reason"]  # the roles that decided it


def test_an_administrator_asks_about_another_user(client: TestClient, world: World) -> None:
    ua = world.headers("east_ua")
    body = check(client, ua, "action=user:edit&object=user:east-patron&user=east-staff")
    assert body["allowed"] is False
    assert body["user"] == "east-staff"
    body = check(client, ua, "action=user:read&object=user:east-patron&user=east-staff")
    assert body["allowed"] is True
    assert "CIRCULATION_DESK_OPERATOR" in body["rule"]
    body = check(client, ua, f"action=parameter:edit&object=parameter:{SEARCH_ALL}&user=east-gsa")
    assert (body["allowed"], body["rule"]) == (True, "gsa_parameter")


def test_asking_about_another_user_needs_an_administrator(client: TestClient, world: World) -> None:
    # Visible to a Circulation Desk Operator (who may read users) but not theirs to ask: 403.
    response = client.get("/api/v1/access/check?action=user:read&user=east-ua", headers=world.headers("east_staff"))
    assert response.status_code == 403
    assert error_of(response)["errorMessage"] == "Only administrators may ask about another user's access."
    # A patron may not even see other users: 404, like an unknown one.
    patron = world.headers("east_patron")
    hidden = client.get("/api/v1/access/check?action=user:read&user=east-ua", headers=patron)
    unknown = client.get("/api/v1/access/check?action=user:read&user=nobody", headers=patron)
    assert hidden.status_code == unknown.status_code == 404
    # Asking about oneself by name is the same as not naming anyone.
    assert check(client, patron, "action=user:read&user=east-patron")["user"] == "east-patron"


def test_users_and_objects_outside_the_tenancy_are_404(client: TestClient, world: World) -> None:
    ua = world.headers("east_ua")
    for query in (
        "action=user:read&user=west-gsa",
        "action=user:read&object=user:west-gsa",
        "action=library:read&object=library:WEST_L1",
        "action=institution:read&object=institution:WEST",
        "action=consortium:read&object=consortium:SLC",
        "action=network:read&object=network:FN_W",
        "action=parameter:read&object=parameter:no_such_parameter",
    ):
        response = client.get(f"/api/v1/access/check?{query}", headers=ua)
        assert response.status_code == 404, query
        error_of(response)


def test_the_operator_asks_in_an_institution(client: TestClient, world: World) -> None:
    operator = world.headers("operator")
    body = check(client, operator, f"institution=EAST&action=parameter:edit&object=parameter:{TEMP}&user=east-gsa")
    assert body["allowed"] is False
    assert "contact support to enable" in body["reason"]
    body = check(client, operator, f"institution=EAST&action=parameter:edit&object=parameter:{TEMP}")
    assert (body["allowed"], body["rule"]) == (True, "operator")
    response = client.get("/api/v1/access/check?action=user:read&user=east-gsa", headers=operator)
    assert response.status_code == 400  # which institution's east-gsa?


def test_bad_questions_are_400(client: TestClient, world: World) -> None:
    ua = world.headers("east_ua")
    response = client.get("/api/v1/access/check?action=fly", headers=ua)
    assert response.status_code == 400
    message = error_of(response)["errorMessage"]
    assert "user:edit" in message
    assert "parameter:edit" in message
    response = client.get("/api/v1/access/check?action=user:read&object=spaceship:1", headers=ua)
    assert response.status_code == 400
    assert "library" in error_of(response)["errorMessage"]
    assert client.get("/api/v1/access/check?action=user:read&object=EAST", headers=ua).status_code == 400
    assert client.get("/api/v1/access/check?action=user:read&object=user:", headers=ua).status_code == 400
    assert client.get("/api/v1/access/check", headers=ua).status_code == 400


def test_other_domains_register_object_types(client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "_TYPES", dict(explain._TYPES))

    class Widget:
        institution_id = world.east.id

    def load(_session: object, _identity: object, widget_id: str) -> Widget:
        if widget_id != "7":
            raise NotFound(f"Widget {widget_id} was not found.")
        return Widget()

    explain.register_access_object("widget", load)
    with pytest.raises(ValueError, match="already registered"):
        explain.register_access_object("widget", lambda *_: None)
    body = check(client, world.headers("east_staff"), "action=institution:read&object=widget:7")
    assert (body["allowed"], body["rule"]) == (True, "own_institution")
    body = check(client, world.headers("west_staff"), "action=institution:read&object=widget:7")
    assert body["allowed"] is False
    assert (
        client.get(
            "/api/v1/access/check?action=user:read&object=widget:8", headers=world.headers("east_staff")
        ).status_code
        == 404
    )

"""Removing a Consortia user is the operator's (SC-12), whatever the door: the Alma-shaped users API as
well as the Support Center's contacts. Lowering a Support Center level is the rule of the contacts
(`support-level:set`); a user who opened cases is not deleted; the access check explains the rules (P-9)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.audit.models import HistoryEvent
from consortia.platform.models import User
from consortia.support.models import ConsortiaLicence
from tests.factories import Factory
from tests.support.conftest import SupportWorld, build_world, error_message, key, sign_in

OPERATOR_IN_EAST = {"institution": "EAST"}


@pytest.fixture
def admins(world: SupportWorld) -> dict[str, dict[str, str]]:
    """API-key headers of EAST's User Administrator and General System Administrator, and the operator's."""
    factory = world.factory
    ua = factory.user(world.east, "east-ua", roles=(R.USER_ADMINISTRATOR,))
    gsa = factory.user(world.east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="STANDARD")
    return {"ua": key(factory, ua), "gsa": key(factory, gsa), "operator": key(factory, world.operator)}


def _call(client: TestClient, headers: dict[str, str], method: str, path: str, **kw: Any) -> httpx2.Response:
    params = OPERATOR_IN_EAST if "operator" in kw.pop("who", "") else None
    return client.request(method, path, headers=headers, params=params, **kw)


def _put(
    client: TestClient, admins: dict[str, dict[str, str]], who: str, primary_id: str, **change: Any
) -> httpx2.Response:
    """PUT the user back as GET shows it, with `change` applied."""
    path = f"/almaws/v1/users/{primary_id}"
    current = _call(client, admins[who], "GET", path, who=who)
    assert current.status_code == 200, current.text
    return _call(client, admins[who], "PUT", path, who=who, json={**current.json(), **change})


def _user(world: SupportWorld, primary_id: str) -> User | None:
    session = world.factory.session
    session.expire_all()
    return session.scalars(select(User).where(User.primary_id == primary_id)).first()


def _active_licence(world: SupportWorld, user_id: int) -> ConsortiaLicence | None:
    return world.factory.session.scalars(
        select(ConsortiaLicence).where(ConsortiaLicence.user_id == user_id, ConsortiaLicence.removed_at.is_(None))
    ).first()


def _licence_history(world: SupportWorld, key_: str) -> list[tuple[str | None, str | None]]:
    rows = world.factory.session.scalars(
        select(HistoryEvent).where(HistoryEvent.entity == "licence", HistoryEvent.entity_id == key_)
    ).all()
    return [(row.old, row.new) for row in rows]


REMOVALS = {
    "inactivate": ("PUT", {"status": {"value": "INACTIVE"}}),
    "make public": ("PUT", {"record_type": {"value": "PUBLIC"}}),
    "delete": ("DELETE", {}),
}


@pytest.mark.parametrize("who", ["ua", "gsa"])
@pytest.mark.parametrize("removal", sorted(REMOVALS))
def test_administrators_cannot_remove_a_consortia_user(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]], who: str, removal: str
) -> None:
    method, change = REMOVALS[removal]
    if method == "PUT":
        response = _put(client, admins, who, "east-jane", **change)
    else:
        response = _call(client, admins[who], "DELETE", "/almaws/v1/users/east-jane")
    assert response.status_code == 403, response.text
    assert "Only the operator" in error_message(response.json())
    assert "SC-12" in error_message(response.json())
    user = _user(world, "east-jane")
    assert user is not None
    assert (user.status, user.record_type, user.support_level) == ("ACTIVE", "STAFF", "CONSORTIA")
    assert _active_licence(world, user.id) is not None


def test_an_administrator_still_edits_a_consortia_user(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    unchanged = _put(client, admins, "ua", "east-jane")
    assert unchanged.status_code == 200, unchanged.text
    renamed = _put(client, admins, "ua", "east-jane", first_name="Janet")
    assert renamed.status_code == 200, renamed.text


def test_the_operator_inactivates_a_consortia_user(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    response = _put(client, admins, "operator", "east-jane", status={"value": "INACTIVE"})
    assert response.status_code == 200, response.text
    user = _user(world, "east-jane")
    assert user is not None
    assert user.status == "INACTIVE"
    # SC-12: inactivating is one way, removing the licence the other; the licence stays
    assert _active_licence(world, user.id) is not None
    assert client.get("/api/v1/support/cases", headers=world.key(world.east_consortia)).status_code == 401
    # and reactivating is the operator's too
    back = _put(client, admins, "ua", "east-jane", status={"value": "ACTIVE"})
    assert back.status_code == 403


def test_the_operator_makes_a_consortia_user_a_patron(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    response = _put(client, admins, "operator", "east-jane", record_type={"value": "PUBLIC"})
    assert response.status_code == 200, response.text
    assert response.json()["support_level"]["value"] != "CONSORTIA"
    user = _user(world, "east-jane")
    assert user is not None
    assert user.record_type == "PUBLIC"
    assert _active_licence(world, user.id) is None
    assert ("granted", "removed") in _licence_history(world, "EAST/east-jane")


def test_the_operator_deletes_a_consortia_user_and_the_licence_history_stays(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    user_id = world.east_consortia.id
    response = _call(client, admins["operator"], "DELETE", "/almaws/v1/users/east-jane", who="operator")
    assert response.status_code == 204, response.text
    assert _user(world, "east-jane") is None
    assert ("granted", "removed") in _licence_history(world, "EAST/east-jane")
    assert (
        world.factory.session.scalars(select(ConsortiaLicence).where(ConsortiaLicence.user_id == user_id)).all() == []
    )


def test_lowering_a_level_is_the_contacts_rule(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    refused = _put(client, admins, "ua", "east-sam", support_level={"value": "BASIC"})
    assert refused.status_code == 403, refused.text
    assert "General System Administrator" in error_message(refused.json())
    user = _user(world, "east-sam")
    assert user is not None
    assert user.support_level == "STANDARD"
    allowed = _put(client, admins, "gsa", "east-sam", support_level={"value": "BASIC"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["support_level"]["value"] == "BASIC"


def test_a_user_who_opened_cases_is_not_deleted(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    world.case(world.east_basic)
    world.case(world.east_basic, subject="Second")
    response = _call(client, admins["ua"], "DELETE", "/almaws/v1/users/east-bob")
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["errorsExist"] is True
    assert error_message(body) == (
        "User east-bob opened 2 support case(s) and cannot be deleted; set the user INACTIVE instead."
    )
    assert _user(world, "east-bob") is not None
    # the operator is refused the same way, and a Consortia user's licence is untouched by the attempt
    world.case(world.east_consortia)
    refused = _call(client, admins["operator"], "DELETE", "/almaws/v1/users/east-jane", who="operator")
    assert refused.status_code == 409
    assert _active_licence(world, world.east_consortia.id) is not None
    assert _licence_history(world, "EAST/east-jane") == []


def _check(client: TestClient, headers: dict[str, str], **query: str) -> dict[str, Any]:
    response = client.get("/api/v1/access/check", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_access_check_explains_the_support_rules(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    gsa, operator = admins["gsa"], admins["operator"]
    denied = _check(client, gsa, action="contact:status", object="user:east-jane")
    assert (denied["allowed"], denied["rule"]) == (False, "deny_by_default")
    assert "SC-12" in denied["reason"]
    allowed = _check(client, operator, action="contact:status", object="user:east-jane", institution="EAST")
    assert (allowed["allowed"], allowed["rule"]) == (True, "operator")
    level = _check(client, admins["ua"], action="support-level:set", object="user:east-sam")
    assert level["allowed"] is False
    assert "lower" in level["reason"]
    standard = _check(client, world.key(world.east_standard), action="case-sharing:request")
    assert (standard["allowed"], standard["rule"]) == (True, "institution_case_manager")
    basic = _check(client, world.key(world.east_basic), action="case-sharing:request")
    assert basic["allowed"] is False
    assert "Only STANDARD" in basic["reason"]
    about = _check(client, gsa, action="case-sharing:request", user="east-bob")
    assert (about["user"], about["allowed"]) == ("east-bob", False)


def test_a_sharing_request_tells_nothing_about_other_institutions_users(client: TestClient, factory: Factory) -> None:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    standard = key(factory, world.east_standard)

    def ask(*contacts: tuple[str, str]) -> httpx2.Response:
        body = {"consortium": "NLC", "contacts": [{"institution": i, "primary_id": p} for i, p in contacts]}
        return client.post("/api/v1/support/sharing-requests", json=body, headers=standard)

    unknown = ask(("EAST", "east-sam"), ("WEST", "nobody"))
    outside = ask(("EAST", "east-sam"), ("SOUTH", "south-cora"))
    assert unknown.status_code == outside.status_code == 400
    message = error_message(unknown.json())
    assert message == error_message(outside.json()).replace("SOUTH/south-cora", "WEST/nobody")
    assert message.startswith("These contacts cannot be named: WEST/nobody.")
    assert "Cora" not in outside.text
    # a partner's id given as if it were one of ours is unknown too
    assert ask(("EAST", "west-sue")).status_code == 400
    # a partner's staff user may be named; the case names them by user name only
    partner = ask(("EAST", "east-sam"), ("WEST", "west-sue"))
    assert partner.status_code == 201, partner.text
    assert "Sue West" not in partner.text
    assert "west-sue@example.edu" not in partner.text


def test_contacts_page_stays_in_the_callers_institution(
    client: TestClient, world: SupportWorld, admins: dict[str, dict[str, str]]
) -> None:
    gsa = world.factory.session.scalars(select(User).where(User.primary_id == "east-gsa")).one()
    sign_in(client, gsa)
    assert client.get("/support/contacts?institution=EAST").status_code == 200
    assert client.get("/support/contacts?institution=WEST").status_code == 404
    assert client.get("/support/contacts?institution=NOPE").status_code == 404

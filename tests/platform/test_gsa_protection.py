"""P-4: a General System Administrator's account is changed, given roles or deleted only by a General System
Administrator of the institution or the operator, through the API and the pages alike.

A User Administrator who could inactivate a GSA, make them a patron, change their email or delete them could
lock the administrators out or take the account over by mail. The refusal is 403 with the reason, changes
nothing and is logged with actor, action and object (R-7). "A GSA's account" is a user holding a
GENERAL_SYSTEM_ADMINISTRATOR assignment in any status, before or after the change asked for.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consortia.access import roles as R
from consortia.audit.models import HistoryEvent
from consortia.platform.models import User
from tests.almaws.test_users_world import UsersWorld, Who, build_users_world, error_of
from tests.factories import Factory
from tests.platform.test_user_pages import csrf_of, sign_in

REASON = "only by a General System Administrator of the institution or the operator"


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    """The users world plus `east-gsa2`, a second GSA of EAST, and `east-dormant`, whose GSA assignment is
    inactive."""
    built = build_users_world(factory)
    second = factory.user(built.east, "east-gsa2", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), last_name="Gsa2")
    dormant = factory.user(built.east, "east-dormant", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), last_name="Dormant")
    for role in dormant.roles:
        role.status = "INACTIVE"
    built.people["east_gsa2"] = Who(second, factory.key(second))
    factory.session.commit()
    return built


def _state(world: UsersWorld, primary_id: str) -> tuple[Any, ...] | None:
    session = world.factory.session
    session.expire_all()
    user = session.scalars(select(User).where(User.primary_id == primary_id)).first()
    if user is None:
        return None
    roles = sorted((r.role_type, r.status) for r in user.roles)
    return (user.status, user.record_type, user.email, user.first_name, user.version, tuple(roles))


def _history_count(world: UsersWorld, primary_id: str) -> int:
    statement = select(func.count()).select_from(HistoryEvent).where(HistoryEvent.entity_id == primary_id)
    return int(world.factory.session.scalar(statement) or 0)


CHANGES: dict[str, dict[str, Any]] = {
    "inactivate": {"status": {"value": "INACTIVE"}},
    "make a patron": {"record_type": {"value": "PUBLIC"}, "user_group": {"value": "UNDERGRAD"}},
    "change the email": {
        "contact_info": {"email": [{"email_address": "attacker@evil.example", "preferred": True}]},
    },
    "change the first name": {"first_name": "Renamed"},
}


def _put(client: TestClient, world: UsersWorld, who: str, target: str, change: dict[str, Any]) -> Any:
    current = world.call(client, "operator", "GET", f"/almaws/v1/users/{target}")
    assert current.status_code == 200, current.text
    return world.call(client, who, "PUT", f"/almaws/v1/users/{target}", json={**current.json(), **change})


def _denials(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "consortia.access" and "denied" in r.getMessage()]


@pytest.mark.parametrize("target", ["east-gsa", "east-dormant"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_user_administrator_cannot_change_a_gsa(
    client: TestClient, world: UsersWorld, caplog: pytest.LogCaptureFixture, change: str, target: str
) -> None:
    before, history = _state(world, target), _history_count(world, target)
    with caplog.at_level(logging.WARNING, logger="consortia.access"):
        response = _put(client, world, "east_ua", target, CHANGES[change])
    assert response.status_code == 403, response.text
    assert REASON in error_of(response)["errorMessage"]
    assert _state(world, target) == before
    assert _history_count(world, target) == history
    target_id = world.factory.session.scalars(select(User.id).where(User.primary_id == target)).one()
    assert any(
        "actor=east-ua" in m and "action=user:edit" in m and f"object=User#{target_id}" in m for m in _denials(caplog)
    )
    # The same change is the User Administrator's to make for anyone else, and a GSA's for a GSA.
    assert _put(client, world, "east_ua", "east-staff", CHANGES[change]).status_code == 200
    allowed = _put(client, world, "east_gsa2", target, CHANGES[change])
    assert allowed.status_code == 200, allowed.text
    assert _state(world, target) != before


@pytest.mark.parametrize("target", ["east-gsa", "east-dormant"])
def test_a_user_administrator_cannot_delete_a_gsa(
    client: TestClient, world: UsersWorld, caplog: pytest.LogCaptureFixture, target: str
) -> None:
    before = _state(world, target)
    with caplog.at_level(logging.WARNING, logger="consortia.access"):
        response = world.call(client, "east_ua", "DELETE", f"/almaws/v1/users/{target}")
    assert response.status_code == 403, response.text
    assert REASON in error_of(response)["errorMessage"]
    assert _state(world, target) == before
    assert any("actor=east-ua" in m and "action=user:delete" in m for m in _denials(caplog))
    assert world.call(client, "east_gsa2", "DELETE", f"/almaws/v1/users/{target}").status_code == 204
    assert _state(world, target) is None
    assert world.call(client, "operator", "DELETE", "/almaws/v1/users/east-gsa2").status_code == 204


def test_a_gsa_account_before_or_after_the_change(client: TestClient, world: UsersWorld) -> None:
    """A GSA's account is one with the role in any status before the change, or with it after: an inactive
    assignment is switched on again by one change, and a request that grants the role and changes the email
    is refused as a whole, nothing of it kept."""
    dormant = _state(world, "east-dormant")
    assert _put(client, world, "east_ua", "east-dormant", CHANGES["change the email"]).status_code == 403
    assert _state(world, "east-dormant") == dormant
    before = _state(world, "east-staff")
    change = {
        **CHANGES["change the email"],
        "user_role": [{"role_type": {"value": R.GENERAL_SYSTEM_ADMINISTRATOR}, "scope": {"value": "EAST"}}],
    }
    response = _put(client, world, "east_ua", "east-staff", change)
    assert response.status_code == 403, response.text
    assert "General System Administrator" in error_of(response)["errorMessage"]
    assert _state(world, "east-staff") == before


# --- pages ------------------------------------------------------------------------------------


def test_the_page_of_a_gsa_is_read_only_for_a_user_administrator(
    client: TestClient, world: UsersWorld, caplog: pytest.LogCaptureFixture
) -> None:
    sign_in(client, "east-ua")
    page = client.get("/admin/users/east-gsa")
    assert page.status_code == 200
    assert "You can view this user but not change it." in page.text
    assert REASON in page.text
    assert 'name="version"' not in page.text
    before = _state(world, "east-gsa")
    assert before is not None
    form = {
        "csrf_token": csrf_of(page.text),
        "version": str(before[4]),
        "first_name": "Test",
        "last_name": "Gsa",
        "record_type": "PUBLIC",
        "status": "INACTIVE",
        "email": "attacker@evil.example",
    }
    with caplog.at_level(logging.WARNING, logger="consortia.access"):
        refused = client.post("/admin/users/east-gsa", data=form)
    assert refused.status_code == 403
    assert REASON in refused.text
    assert _state(world, "east-gsa") == before
    assert any("actor=east-ua" in m and "action=user:edit" in m for m in _denials(caplog))
    # Another GSA of the institution gets the form and may save it.
    sign_in(client, "east-gsa2")
    page = client.get("/admin/users/east-gsa")
    assert 'name="version"' in page.text
    done = client.post("/admin/users/east-gsa", data={**form, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    after = _state(world, "east-gsa")
    assert after is not None
    assert after[:3] == ("INACTIVE", "PUBLIC", "attacker@evil.example")


def test_the_roles_of_a_gsa_are_read_only_on_the_page(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    page = client.get("/admin/users/east-gsa/roles")
    assert page.status_code == 200
    before = _state(world, "east-gsa")
    refused = client.post(
        "/admin/users/east-gsa/roles",
        data={
            "csrf_token": csrf_of(page.text),
            "role_type": [R.GENERAL_SYSTEM_ADMINISTRATOR, R.CIRCULATION_DESK_OPERATOR],
            "scope": ["", ""],
            "status": ["ACTIVE", "ACTIVE"],
            "expiry_date": ["", ""],
        },
    )
    assert refused.status_code == 403
    assert _state(world, "east-gsa") == before


def test_the_access_check_explains_the_refusal(client: TestClient, world: UsersWorld) -> None:
    response = world.call(
        client, "east_ua", "GET", "/api/v1/access/check", {"action": "user:delete", "object": "user:east-gsa"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["allowed"], body["rule"]) == (False, "deny_by_default")
    assert REASON in body["reason"]

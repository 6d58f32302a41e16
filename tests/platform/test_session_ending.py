"""Sessions after a password change, an inactivation or a deletion (P-5, R-7).

A new password ends the account's other browser sessions at their next request (the user's own current
session stays when they changed it themselves); inactivating an account ends all its sessions for good (a
later reactivation brings none back) and its API keys are refused while it is inactive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.platform.models import User, WebSession
from tests.almaws.test_users_world import UsersWorld, build_users_world
from tests.factories import PASSWORD, Factory
from tests.platform.test_user_pages import _detail_form, csrf_of, sign_in

NEW_PASSWORD = "a fresh new password"


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


@pytest.fixture
def other(app: FastAPI) -> Iterator[TestClient]:
    """A second browser."""
    with TestClient(app, raise_server_exceptions=False) as browser:
        yield browser


def _signed_in(browser: TestClient) -> bool:
    response = browser.get("/account", follow_redirects=False)
    assert response.status_code in {200, 303}, response.text
    return response.status_code == 200


def _sessions_of(world: UsersWorld, primary_id: str) -> int:
    session = world.factory.session
    session.expire_all()
    user_id = session.scalars(select(User.id).where(User.primary_id == primary_id)).one()
    return len(session.scalars(select(WebSession.id).where(WebSession.user_id == user_id)).all())


def _put(client: TestClient, world: UsersWorld, who: str, target: str, change: dict[str, Any]) -> Any:
    current = world.call(client, who, "GET", f"/almaws/v1/users/{target}")
    assert current.status_code == 200, current.text
    return world.call(client, who, "PUT", f"/almaws/v1/users/{target}", json={**current.json(), **change})


def _change_own_password(browser: TestClient, current: str, new: str) -> Any:
    page = browser.get("/account")
    assert page.status_code == 200
    return browser.post(
        "/account/password",
        data={"csrf_token": csrf_of(page.text), "current_password": current, "new_password": new},
        follow_redirects=False,
    )


# --- a new password ---------------------------------------------------------------------------


def test_my_account_changes_the_password_and_signs_out_the_other_browsers(
    client: TestClient, other: TestClient, world: UsersWorld
) -> None:
    sign_in(client, "east-staff")
    sign_in(other, "east-staff")
    assert 'action="/account/password"' in client.get("/account").text
    done = _change_own_password(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303, done.text
    assert _signed_in(client)  # the browser that changed it stays signed in
    assert not _signed_in(other)  # the other one is out at its next request
    assert _sessions_of(world, "east-staff") == 1
    assert ("password", "changed") in [
        (e.field, e.new)
        for e in world.factory.session.scalars(select(HistoryEvent).where(HistoryEvent.entity_id == "east-staff"))
    ]
    # The old password no longer signs in; the new one does.
    other.cookies.clear()
    page = other.get("/login")
    old = other.post(
        "/login",
        data={"username": "east-staff", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert old.status_code == 401
    sign_in(other, "east-staff", NEW_PASSWORD)


def test_my_account_needs_the_current_password_and_throttles_guesses(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-staff")
    for _ in range(5):
        wrong = _change_own_password(client, "a wrong guess", NEW_PASSWORD)
        assert wrong.status_code == 400
        assert "The current password is wrong." in wrong.text
    throttled = _change_own_password(client, PASSWORD, NEW_PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed sign-ins" in throttled.text
    short = _change_own_password(client, PASSWORD, "short")
    assert short.status_code == 400
    assert _signed_in(client)
    world.factory.session.expire_all()
    user = world.factory.session.scalars(select(User).where(User.primary_id == "east-staff")).one()
    assert user.password_hash == world["east_staff"].user.password_hash


def test_an_administrator_setting_a_password_through_the_api_ends_every_session(
    client: TestClient, other: TestClient, world: UsersWorld
) -> None:
    sign_in(client, "east-staff")
    sign_in(other, "east-staff")
    response = _put(client, world, "east_ua", "east-staff", {"password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert not _signed_in(client)
    assert not _signed_in(other)
    assert _sessions_of(world, "east-staff") == 0


def test_an_administrator_setting_a_password_on_the_page_ends_the_users_sessions(
    client: TestClient, other: TestClient, world: UsersWorld
) -> None:
    sign_in(other, "east-staff")
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-staff")
    data.update({"record_type": "STAFF", "status": "ACTIVE", "password": NEW_PASSWORD})
    assert client.post("/admin/users/east-staff", data=data, follow_redirects=False).status_code == 303
    assert not _signed_in(other)
    assert _signed_in(client)  # the administrator's own session is not touched


def test_setting_ones_own_password_on_the_user_page_keeps_this_browser(
    client: TestClient, other: TestClient, world: UsersWorld
) -> None:
    sign_in(client, "east-gsa")
    sign_in(other, "east-gsa")
    data = _detail_form(client, "east-gsa")
    data.update({"record_type": "STAFF", "status": "ACTIVE", "password": NEW_PASSWORD})
    assert client.post("/admin/users/east-gsa", data=data, follow_redirects=False).status_code == 303
    assert _signed_in(client)
    assert not _signed_in(other)


# --- inactivation -----------------------------------------------------------------------------


def test_inactivating_through_the_api_ends_the_sessions_for_good(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-staff")
    key = world["east_staff"].headers
    assert client.get("/almaws/v1/users/east-staff", headers=key).status_code == 200
    inactive = _put(client, world, "east_ua", "east-staff", {"status": {"value": "INACTIVE"}})
    assert inactive.status_code == 200, inactive.text
    assert not _signed_in(client)
    assert client.get("/almaws/v1/users/east-staff", headers=key).status_code == 401  # the key is refused at once
    assert _sessions_of(world, "east-staff") == 0
    active = _put(client, world, "east_ua", "east-staff", {"status": {"value": "ACTIVE"}})
    assert active.status_code == 200, active.text
    assert not _signed_in(client)  # reactivating brings no old session back
    # The key was blocked, not revoked: usable again with the account.
    assert client.get("/almaws/v1/users/east-staff", headers=key).status_code == 200
    sign_in(client, "east-staff")


def test_inactivating_on_the_page_ends_the_sessions_for_good(
    client: TestClient, other: TestClient, world: UsersWorld
) -> None:
    sign_in(other, "east-pat")
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-pat")
    data.update({"record_type": "PUBLIC", "status": "INACTIVE", "user_group": "UNDERGRAD"})
    assert client.post("/admin/users/east-pat", data=data, follow_redirects=False).status_code == 303
    data = _detail_form(client, "east-pat")
    data.update({"record_type": "PUBLIC", "status": "ACTIVE", "user_group": "UNDERGRAD"})
    assert client.post("/admin/users/east-pat", data=data, follow_redirects=False).status_code == 303
    assert not _signed_in(other)
    assert _sessions_of(world, "east-pat") == 0

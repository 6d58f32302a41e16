"""The users pages: search, create, details, roles editor, API keys, history and My account (P-3..P-6, P-8)."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.audit.models import HistoryEvent
from consortia.platform.models import ApiKey, User
from tests.almaws.test_users_world import UsersWorld, build_users_world
from tests.factories import PASSWORD, Factory


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


def sign_in(client: TestClient, primary_id: str, password: str = PASSWORD) -> None:
    """Sign in through the login form (the login CSRF cookie is set by GET /login)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": primary_id, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_of(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match
    return match.group(1)


def _user(world: UsersWorld, primary_id: str) -> User:
    session = world.factory.session
    session.expire_all()
    return session.scalars(select(User).where(User.primary_id == primary_id)).one()


def _key_id(world: UsersWorld, label: str) -> int:
    return world.factory.session.scalars(select(ApiKey.id).where(ApiKey.label == label)).one()


# --- search -----------------------------------------------------------------------------------


def test_search_and_paging(client: TestClient, world: UsersWorld) -> None:
    for n in range(30):
        world.factory.user(world.east, f"bulk-{n:02}", last_name="Bulk", first_name=f"B{n:02}")
    world.factory.session.commit()
    sign_in(client, "east-ua")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "36 users" in page.text
    assert 'href="/admin/users/new"' in page.text
    assert "Page 1 of 2" in page.text
    second = client.get("/admin/users?page=2")
    assert "bulk-29" in second.text
    found = client.get("/admin/users?q=smith")
    assert "2 users" in found.text
    assert "east-pat2" in found.text
    assert "bulk-" not in found.text
    assert "west-pat" not in client.get("/admin/users?q=tern").text


def test_plain_staff_cannot_search_users(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-staff")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "My account" in response.text
    assert 'href="/admin/users"' not in client.get("/").text


def test_circulation_desk_sees_users_but_cannot_create(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-cdo")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert 'href="/admin/users/new"' not in page.text
    assert client.get("/admin/users/new").status_code == 403


def test_operator_chooses_the_institution_first(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "op-users")
    first = client.get("/admin/users")
    assert first.status_code == 200
    assert "Choose the institution to work in" in first.text
    assert client.get("/admin/users/east-pat").status_code == 400
    home = client.get("/")
    switched = client.post(
        "/operator/acting-institution", data={"institution": "WEST", "csrf_token": csrf_of(home.text)}
    )
    assert switched.status_code == 200
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "west-pat" in page.text
    assert "east-pat" not in page.text


# --- create -----------------------------------------------------------------------------------


def test_create_a_user(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    form = client.get("/admin/users/new")
    assert form.status_code == 200
    assert '<label for="primary_id">' in form.text
    data = {
        "csrf_token": csrf_of(form.text),
        "primary_id": "page-new",
        "first_name": "Paige",
        "last_name": "New",
        "record_type": "STAFF",
        "status": "ACTIVE",
        "user_group": "STAFF",
        "email": "paige@east.example.edu",
        "expiry_date": "2030-01-31",
        "password": "a fine password",
    }
    response = client.post("/admin/users/new", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/admin/users/page-new")
    detail = client.get(response.headers["location"])
    assert "User page-new created." in detail.text
    assert 'value="Paige"' in detail.text
    user = _user(world, "page-new")
    assert user.expiry_date is not None
    assert user.expiry_date.isoformat() == "2030-01-31"
    assert user.institution_id == world.east.id
    # The new user can sign in with the password given.
    client.cookies.clear()
    sign_in(client, "page-new", "a fine password")


def test_create_errors_are_shown_on_the_form(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    form = client.get("/admin/users/new")
    data = {"csrf_token": csrf_of(form.text), "primary_id": "east-pat", "last_name": "Dup", "first_name": "Kept"}
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 400
    assert "already exists" in response.text
    assert 'value="Kept"' in response.text  # what was typed stays
    bad_date = client.post("/admin/users/new", data={**data, "primary_id": "x1", "expiry_date": "31.12.2030"})
    assert bad_date.status_code == 400
    assert "Expiry date" in bad_date.text


def test_a_post_without_csrf_token_is_refused(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    response = client.post("/admin/users/new", data={"primary_id": "csrf-less", "last_name": "C"})
    assert response.status_code == 403
    assert "reload the page" in response.text
    wrong = client.post("/admin/users/new", data={"primary_id": "csrf-less", "last_name": "C", "csrf_token": "forged"})
    assert wrong.status_code == 403
    session = world.factory.session
    assert session.scalar(select(User.id).where(User.primary_id == "csrf-less")) is None


# --- details ----------------------------------------------------------------------------------


def _detail_form(client: TestClient, primary_id: str) -> dict[str, str]:
    page = client.get(f"/admin/users/{primary_id}")
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version, "the page has no edit form"
    user_fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input id="(\w+)" name="\1"[^>]*value="([^"]*)"', page.text)
    }
    return {**user_fields, "csrf_token": csrf_of(page.text), "version": version.group(1)}


def test_edit_details_and_see_history(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-pat")
    data.update({"first_name": "Marianne", "record_type": "PUBLIC", "status": "ACTIVE", "user_group": "UNDERGRAD"})
    data.update({"identifier_type": ["BARCODE", "UNIV_ID", "BARCODE"], "identifier_value": ["B-100", "", "B-200"]})  # type: ignore[dict-item]
    response = client.post("/admin/users/east-pat", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    user = _user(world, "east-pat")
    assert user.first_name == "Marianne"
    assert sorted((i.id_type, i.value) for i in user.identifiers) == [("BARCODE", "B-100"), ("BARCODE", "B-200")]
    history = client.get("/admin/users/east-pat/history")
    assert history.status_code == 200
    assert "Marianne" in history.text
    assert "UNIV_ID U-100 (ACTIVE)" in history.text
    assert 'aria-current="page">History' in history.text


def test_a_stale_form_is_refused(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-pat")
    data.update({"record_type": "PUBLIC", "status": "ACTIVE", "user_group": "UNDERGRAD"})
    assert client.post("/admin/users/east-pat", data={**data, "first_name": "First"}).status_code == 200
    stale = client.post("/admin/users/east-pat", data={**data, "first_name": "Second"})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    assert 'value="Second"' in stale.text  # what was typed is kept for another try
    assert _user(world, "east-pat").first_name == "First"


def test_raising_to_standard_needs_the_gsa(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-staff")
    data.update({"record_type": "STAFF", "status": "ACTIVE", "support_level": "STANDARD"})
    refused = client.post("/admin/users/east-staff", data=data)
    assert refused.status_code == 403
    assert "General System Administrator" in refused.text
    assert _user(world, "east-staff").support_level == "NONE"


def test_read_only_details_for_the_circulation_desk(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-cdo")
    page = client.get("/admin/users/east-pat")
    assert page.status_code == 200
    assert "You can view this user but not change it." in page.text
    assert 'name="version"' not in page.text
    assert "Mary Ann Smith" in page.text
    refused = client.post(
        "/admin/users/east-pat", data={"csrf_token": csrf_of(page.text), "version": "1", "last_name": "X"}
    )
    assert refused.status_code == 403
    assert _user(world, "east-pat").last_name == "Smith"


def test_other_institutions_users_are_not_found(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "west-ua")
    for path in ("/admin/users/east-pat", "/admin/users/east-pat/roles", "/admin/users/east-pat/history"):
        assert client.get(path).status_code == 404
    assert client.get("/admin/users/nobody").status_code == 404


# --- roles ------------------------------------------------------------------------------------


def _roles_form(page_text: str, rows: list[tuple[str, str, str]]) -> dict[str, object]:
    padded = rows + [("", "", "ACTIVE")] * 3
    return {
        "csrf_token": csrf_of(page_text),
        "role_type": [r[0] for r in padded],
        "scope": [r[1] for r in padded],
        "status": [r[2] for r in padded],
        "expiry_date": ["" for _ in padded],
    }


def test_roles_editor_refuses_er4_violations(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    page = client.get("/admin/users/east-staff/roles")
    assert page.status_code == 200
    assert '<option value="EAST_L1">' in page.text
    assert "Institution (EAST)" in page.text
    rows = [
        (R.ELECTRONIC_INVENTORY_OPERATOR, "", "ACTIVE"),
        (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "EAST_L1", "ACTIVE"),
    ]
    refused = client.post("/admin/users/east-staff/roles", data=_roles_form(page.text, rows))
    assert refused.status_code == 400
    assert "The roles were not saved" in refused.text
    assert "cannot be given a library scope (EAST_L1)" in refused.text
    assert _user(world, "east-staff").roles == []
    rows[0] = (R.ELECTRONIC_INVENTORY_OPERATOR, "EAST_L2", "ACTIVE")
    saved = client.post("/admin/users/east-staff/roles", data=_roles_form(page.text, rows), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    roles = {(r.role_type, r.library.code if r.library else None) for r in _user(world, "east-staff").roles}
    assert roles == {
        (R.ELECTRONIC_INVENTORY_OPERATOR, "EAST_L2"),
        (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "EAST_L1"),
    }
    history = client.get("/admin/users/east-staff/history").text
    assert "ELECTRONIC_INVENTORY_OPERATOR @ EAST_L2 (ACTIVE)" in history


def test_roles_editor_removes_a_role(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-gsa")
    page = client.get("/admin/users/east-cdo/roles")
    data = _roles_form(page.text, [(R.CIRCULATION_DESK_OPERATOR, "", "ACTIVE"), (R.PATRON, "", "ACTIVE")])
    data["remove"] = ["0"]
    response = client.post("/admin/users/east-cdo/roles", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert [r.role_type for r in _user(world, "east-cdo").roles] == [R.PATRON]
    events = world.factory.session.scalars(
        select(HistoryEvent.old).where(HistoryEvent.entity_id == "east-cdo", HistoryEvent.field == "role")
    ).all()
    assert "CIRCULATION_DESK_OPERATOR @ EAST (ACTIVE)" in events


def test_roles_are_read_only_for_those_who_may_not_grant(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-cdo")
    page = client.get("/admin/users/east-ua/roles")
    assert page.status_code == 200
    assert "You can view these roles but not change them." in page.text
    assert 'name="role_type"' not in page.text
    assert "User Administrator" in page.text
    refused = client.post("/admin/users/east-ua/roles", data=_roles_form(page.text, [(R.PATRON, "", "ACTIVE")]))
    assert refused.status_code == 403


def test_user_administrator_cannot_grant_gsa_on_the_page(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    page = client.get("/admin/users/east-staff/roles")
    refused = client.post(
        "/admin/users/east-staff/roles", data=_roles_form(page.text, [(R.GENERAL_SYSTEM_ADMINISTRATOR, "", "ACTIVE")])
    )
    assert refused.status_code == 403
    assert _user(world, "east-staff").roles == []


# --- API keys ---------------------------------------------------------------------------------


def test_administrator_creates_and_revokes_a_key(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    tab = client.get("/admin/users/east-staff/api-keys")
    assert tab.status_code == 200
    assert "Active" in tab.text  # the key made by the set-up
    created = client.post(
        "/admin/users/east-staff/api-keys", data={"csrf_token": csrf_of(tab.text), "label": "desk script"}
    )
    assert created.status_code == 200
    secret = re.search(r'id="new-key" readonly size="60" value="([^"]+)"', created.text)
    assert secret
    key = secret.group(1)
    assert client.get("/almaws/v1/users/east-staff", headers={"Authorization": f"apikey {key}"}).status_code == 200
    listing = client.get("/admin/users/east-staff/api-keys")
    assert key not in listing.text
    assert "desk script" in listing.text
    key_id = _key_id(world, "desk script")
    assert f'action="/admin/users/east-staff/api-keys/{key_id}/revoke"' in listing.text
    revoked = client.post(
        f"/admin/users/east-staff/api-keys/{key_id}/revoke",
        data={"csrf_token": csrf_of(listing.text)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert client.get("/almaws/v1/users/east-staff", headers={"Authorization": f"apikey {key}"}).status_code == 401


def test_api_keys_tab_is_closed_to_the_circulation_desk(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-cdo")
    tab = client.get("/admin/users/east-pat/api-keys")
    assert tab.status_code == 200
    assert "managed by the institution&#39;s administrators" in tab.text
    assert "Create API key" not in tab.text
    refused = client.post("/admin/users/east-pat/api-keys", data={"csrf_token": csrf_of(tab.text)})
    assert refused.status_code == 403


def test_a_key_of_another_user_cannot_be_revoked_through_this_user(client: TestClient, world: UsersWorld) -> None:
    made = world.call(client, "east_ua", "POST", "/api/v1/users/east-ua/api-keys", json={}).json()
    sign_in(client, "east-gsa")
    tab = client.get("/admin/users/east-staff/api-keys")
    response = client.post(
        f"/admin/users/east-staff/api-keys/{made['id']}/revoke", data={"csrf_token": csrf_of(tab.text)}
    )
    assert response.status_code == 404
    assert client.get("/almaws/v1/users/east-ua", headers={"Authorization": f"apikey {made['key']}"}).status_code == 200


# --- my account -------------------------------------------------------------------------------


def test_my_account_and_own_keys(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-staff")
    page = client.get("/account")
    assert page.status_code == 200
    assert "east-staff" in page.text
    assert "No roles." in page.text
    created = client.post("/account/api-keys", data={"csrf_token": csrf_of(page.text), "label": "mine"})
    assert created.status_code == 200
    key = re.search(r'id="new-key" readonly size="60" value="([^"]+)"', created.text)
    assert key
    headers = {"Authorization": f"apikey {key.group(1)}"}
    assert client.get("/almaws/v1/users/east-staff", headers=headers).status_code == 200
    listing = client.get("/account")
    key_id = _key_id(world, "mine")
    assert f'action="/account/api-keys/{key_id}/revoke"' in listing.text
    revoked = client.post(
        f"/account/api-keys/{key_id}/revoke", data={"csrf_token": csrf_of(listing.text)}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert client.get("/almaws/v1/users/east-staff", headers=headers).status_code == 401


def test_my_account_cannot_revoke_someone_elses_key(client: TestClient, world: UsersWorld) -> None:
    made = world.call(client, "east_cdo", "POST", "/api/v1/users/east-cdo/api-keys", json={}).json()
    sign_in(client, "east-ua")
    page = client.get("/account")
    response = client.post(f"/account/api-keys/{made['id']}/revoke", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 404


def test_operator_account_page(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "op-users")
    page = client.get("/account")
    assert page.status_code == 200
    assert "op-users" in page.text

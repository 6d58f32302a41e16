"""Passwords and API keys of other users (P-4, P-5, SC-2): `user:credentials` needs the caller to cover the user.

The operator covers everyone and everyone covers themselves; a General System Administrator covers the
users of the institution except Consortia users; a User Administrator covers those who are neither
General System Administrators nor Consortia users. Whoever holds a key or a password acts as its user,
so a wider rule would let an administrator become a General System Administrator (bypassing
`role:grant-admin`) or a Consortia user (bypassing the operator-only licence).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity, RoleGrant
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, where
from consortia.platform.models import Institution, User
from consortia.support.models import ConsortiaLicence
from tests.almaws.test_users_world import UsersWorld, Who, build_users_world, error_of
from tests.factories import Factory
from tests.platform.test_user_pages import _detail_form, csrf_of, sign_in

NEW_PASSWORD = "a brand new password"
GSA_OR_CONSORTIA = ("east-gsa", "east-cons")


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    """The users world plus `east-cons`, a staff user of EAST holding the Consortia licence."""
    built = build_users_world(factory)
    consortia_user = factory.user(built.east, "east-cons", support_level="CONSORTIA", last_name="Cons")
    factory.session.add(ConsortiaLicence(institution_id=built.east.id, user_id=consortia_user.id, granted_by="Op"))
    built.people["east_cons"] = Who(consortia_user, factory.key(consortia_user))
    factory.session.commit()
    return built


def _password_hash(world: UsersWorld, primary_id: str) -> str | None:
    session = world.factory.session
    session.expire_all()
    return session.scalars(select(User.password_hash).where(User.primary_id == primary_id)).one()


def _put_password(client: TestClient, world: UsersWorld, who: str, target: str) -> Any:
    current = world.call(client, who, "GET", f"/almaws/v1/users/{target}")
    assert current.status_code == 200, current.text
    return world.call(
        client, who, "PUT", f"/almaws/v1/users/{target}", json={**current.json(), "password": NEW_PASSWORD}
    )


# --- API keys ---------------------------------------------------------------------------------

KEY_CASES = [
    ("east_ua", "east-gsa", 403),
    ("east_ua", "east-cons", 403),
    ("east_gsa", "east-cons", 403),
    ("east_ua", "east-pat", 201),  # an ordinary patron
    ("east_ua", "east-ua", 201),  # self
    ("east_gsa", "east-ua", 201),
    ("east_gsa", "east-gsa", 201),  # self
    ("east_cons", "east-cons", 201),  # self
    ("operator", "east-gsa", 201),
    ("operator", "east-cons", 201),
]


@pytest.mark.parametrize(("who", "target", "status"), KEY_CASES)
def test_creating_a_key_needs_to_cover_the_user(
    client: TestClient, world: UsersWorld, who: str, target: str, status: int
) -> None:
    response = world.call(client, who, "POST", f"/api/v1/users/{target}/api-keys", json={"label": "takeover"})
    assert response.status_code == status, response.text
    if status == 403:
        message = error_of(response)["errorMessage"]
        assert "Passwords and API keys of other users" in message
        assert "Consortia user only by the operator" in message
        listing = world.call(client, who, "GET", f"/api/v1/users/{target}/api-keys")
        assert listing.status_code == 403


def test_a_user_administrator_cannot_revoke_a_gsa_key(client: TestClient, world: UsersWorld) -> None:
    made = world.call(client, "east_gsa", "POST", "/api/v1/users/east-gsa/api-keys", json={}).json()
    refused = world.call(client, "east_ua", "DELETE", f"/api/v1/api-keys/{made['id']}")
    assert refused.status_code == 403
    assert (
        client.get("/almaws/v1/users/east-gsa", headers={"Authorization": f"apikey {made['key']}"}).status_code == 200
    )
    assert world.call(client, "operator", "DELETE", f"/api/v1/api-keys/{made['id']}").status_code == 204


# --- passwords through the Alma-shaped API ---------------------------------------------------


@pytest.mark.parametrize(
    ("who", "target"), [("east_ua", "east-gsa"), ("east_ua", "east-cons"), ("east_gsa", "east-cons")]
)
def test_setting_a_password_needs_to_cover_the_user(
    client: TestClient, world: UsersWorld, who: str, target: str
) -> None:
    before = _password_hash(world, target)
    response = _put_password(client, world, who, target)
    assert response.status_code == 403, response.text
    # A User Administrator is refused a General System Administrator's account as a whole (P-4).
    reason = "only by a General System Administrator" if target == "east-gsa" else "Passwords and API keys of other"
    assert reason in error_of(response)["errorMessage"]
    assert _password_hash(world, target) == before


@pytest.mark.parametrize(
    ("who", "target"),
    [("east_ua", "east-pat"), ("east_ua", "east-ua"), ("east_gsa", "east-ua"), ("operator", "east-cons")],
)
def test_passwords_set_by_those_who_cover(client: TestClient, world: UsersWorld, who: str, target: str) -> None:
    before = _password_hash(world, target)
    response = _put_password(client, world, who, target)
    assert response.status_code == 200, response.text
    assert _password_hash(world, target) != before


def test_other_changes_to_a_consortia_user_need_no_credentials(client: TestClient, world: UsersWorld) -> None:
    current = world.call(client, "east_gsa", "GET", "/almaws/v1/users/east-cons").json()
    response = world.call(client, "east_gsa", "PUT", "/almaws/v1/users/east-cons", json={**current, "first_name": "C"})
    assert response.status_code == 200, response.text


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", GSA_OR_CONSORTIA)
def test_the_user_page_refuses_the_password_of_a_user_not_covered(
    client: TestClient, world: UsersWorld, target: str
) -> None:
    sign_in(client, "east-ua")
    before = _password_hash(world, target)
    if target == "east-gsa":  # the page is read-only for a User Administrator (P-4): a hand-made form
        page = client.get(f"/admin/users/{target}")
        data = {"csrf_token": csrf_of(page.text), "version": "1", "last_name": "Gsa"}
    else:
        data = _detail_form(client, target)
    data.update({"record_type": "STAFF", "status": "ACTIVE", "password": NEW_PASSWORD})
    refused = client.post(f"/admin/users/{target}", data=data)
    assert refused.status_code == 403
    reason = "only by a General System Administrator" if target == "east-gsa" else "Passwords and API keys of other"
    assert reason in refused.text.replace("&#39;", "'")
    assert _password_hash(world, target) == before
    keys = client.get(f"/admin/users/{target}/api-keys")
    assert "Passwords and API keys of other users" in keys.text
    created = client.post(f"/admin/users/{target}/api-keys", data={"csrf_token": csrf_of(keys.text), "label": "x"})
    assert created.status_code == 403


def test_the_user_page_sets_the_password_of_a_patron(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    data = _detail_form(client, "east-pat")
    data.update({"record_type": "PUBLIC", "status": "ACTIVE", "user_group": "UNDERGRAD", "password": NEW_PASSWORD})
    before = _password_hash(world, "east-pat")
    response = client.post("/admin/users/east-pat", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _password_hash(world, "east-pat") != before
    keys = client.get("/admin/users/east-pat/api-keys")
    created = client.post("/admin/users/east-pat/api-keys", data={"csrf_token": csrf_of(keys.text), "label": "desk"})
    assert created.status_code == 200


def test_a_consortia_user_keeps_their_own_keys_on_my_account(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-cons")
    page = client.get("/account")
    created = client.post("/account/api-keys", data={"csrf_token": csrf_of(page.text), "label": "mine"})
    assert created.status_code == 200


# --- the access check explains it (P-9) ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "target", "allowed", "rule"),
    [
        ("east_ua", "east-gsa", False, "deny_by_default"),
        ("east_ua", "east-cons", False, "deny_by_default"),
        ("east_gsa", "east-cons", False, "deny_by_default"),
        ("east_ua", "east-pat", True, "covers:USER_ADMINISTRATOR"),
        ("east_gsa", "east-ua", True, "covers:GENERAL_SYSTEM_ADMINISTRATOR"),
        ("east_cons", "east-cons", True, "self"),
        ("operator", "east-cons", True, "operator"),
    ],
)
def test_the_access_check_explains_credentials(
    client: TestClient, world: UsersWorld, who: str, target: str, allowed: bool, rule: str
) -> None:
    response = world.call(
        client, who, "GET", "/api/v1/access/check", {"action": "user:credentials", "object": f"user:{target}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["allowed"], body["rule"]) == (allowed, rule)
    if not allowed:
        assert "Consortia user only by the operator" in body["reason"]


# --- the two faces agree ----------------------------------------------------------------------

ROLE_CHOICES = st.lists(
    st.sampled_from([R.GENERAL_SYSTEM_ADMINISTRATOR, R.USER_ADMINISTRATOR, R.CIRCULATION_DESK_OPERATOR]), max_size=2
)


def _targets(db: Session) -> list[User]:
    institutions = db.scalars(select(Institution).where(Institution.code.in_(["CRED1", "CRED2"]))).all()
    if not institutions:
        factory = Factory(db)
        institutions = [factory.institution("CRED1"), factory.institution("CRED2")]
        for inst in institutions:
            factory.user(inst, password=False)
            factory.user(inst, password=False, support_level="CONSORTIA")
            factory.user(inst, password=False, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,))
            factory.user(inst, password=False, roles=(R.USER_ADMINISTRATOR,), support_level="STANDARD")
            inactive = factory.user(inst, password=False, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,))
            for role in inactive.roles:
                role.status = "INACTIVE"
            db.flush()
    ids = [i.id for i in institutions]
    return list(db.scalars(select(User).where(User.institution_id.in_(ids)).order_by(User.id)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(who=st.tuples(st.integers(0, 2), ROLE_CHOICES, st.booleans(), st.integers(0, 9)))
def test_check_and_filter_agree_for_credentials(db: Session, who: tuple[int, list[str], bool, int]) -> None:
    """`allows(identity, user:credentials, user)` holds exactly for the users `where(...)` selects."""
    users = _targets(db)
    index, roles, operator, self_index = who
    home = users[0].institution_id if index == 0 else users[-1].institution_id if index == 1 else None
    identity = Identity(
        user_id=users[self_index].id,
        primary_id="someone",
        display_name="Someone",
        institution_id=home,
        consortium_id=None,
        is_operator=operator and index == 2,
        roles=frozenset(RoleGrant(r, None) for r in roles),
        acting_institution_id=home,
    )
    selected = set(
        db.scalars(select(User.id).where(User.id.in_([u.id for u in users]), where(identity, P.USER_CREDENTIALS, User)))
    )
    checked = {u.id for u in users if allows(identity, P.USER_CREDENTIALS, u)}
    assert selected == checked

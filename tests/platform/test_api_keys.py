"""API keys (P-5): created by the user or an administrator and shown once, listed without secrets,
revoked at once; another institution's users and keys are unknown."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.platform.models import ApiKey
from tests.almaws.test_users_world import UsersWorld, build_users_world, error_of
from tests.factories import Factory


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


def _key_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"apikey {key}"}


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("east_staff", "east-staff"),  # self
        ("east_cdo", "east-cdo"),
        ("east_ua", "east-staff"),  # an administrator of the institution
        ("east_gsa", "east-pat"),
        ("operator", "east-staff"),  # the operator, with ?institution=EAST
    ],
)
def test_create_a_key_shown_once(client: TestClient, world: UsersWorld, who: str, target: str) -> None:
    response = world.call(client, who, "POST", f"/api/v1/users/{target}/api-keys", json={"label": "script"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "key", "prefix", "created"}
    assert body["key"].startswith(body["prefix"])
    assert body["created"].endswith("Z")
    stored = world.factory.session.get(ApiKey, int(body["id"]))
    assert stored is not None
    assert body["key"] not in stored.key_hash
    assert stored.label == "script"
    # The key acts as its user.
    own = client.get(f"/almaws/v1/users/{target}", headers=_key_headers(body["key"]))
    assert own.status_code == 200
    assert own.json()["primary_id"] == target
    # It is never shown again.
    listed = world.call(client, who, "GET", f"/api/v1/users/{target}/api-keys")
    assert listed.status_code == 200
    assert body["key"] not in listed.text
    entry = next(k for k in listed.json()["api_key"] if k["id"] == body["id"])
    assert set(entry) == {"id", "prefix", "label", "created", "last_used", "revoked", "link"}
    assert entry["revoked"] is None
    events = world.factory.session.scalars(
        select(HistoryEvent).where(HistoryEvent.entity_id == target, HistoryEvent.field == "api_key")
    ).all()
    assert any((e.new or "").startswith(f"created {body['prefix']}") for e in events)


def test_empty_body_is_fine(client: TestClient, world: UsersWorld) -> None:
    assert world.call(client, "east_staff", "POST", "/api/v1/users/east-staff/api-keys").status_code == 201
    assert world.call(client, "east_staff", "POST", "/api/v1/users/east-staff/api-keys", json={}).status_code == 201


@pytest.mark.parametrize(("who", "target"), [("east_cdo", "east-pat"), ("east_cdo", "east-staff")])
def test_others_keys_need_an_administrator(client: TestClient, world: UsersWorld, who: str, target: str) -> None:
    response = world.call(client, who, "POST", f"/api/v1/users/{target}/api-keys", json={})
    assert response.status_code == 403
    assert "administrators" in error_of(response)["errorMessage"]
    listing = world.call(client, who, "GET", f"/api/v1/users/{target}/api-keys")
    assert listing.status_code == 403


@pytest.mark.parametrize(
    ("who", "target"),
    [("west_ua", "east-staff"), ("east_ua", "west-pat"), ("east_staff", "east-pat")],
)
def test_users_out_of_sight_are_unknown(client: TestClient, world: UsersWorld, who: str, target: str) -> None:
    hidden = world.call(client, who, "POST", f"/api/v1/users/{target}/api-keys", json={})
    unknown = world.call(client, who, "POST", "/api/v1/users/nobody/api-keys", json={})
    assert hidden.status_code == unknown.status_code == 404
    assert error_of(hidden)["errorCode"] == error_of(unknown)["errorCode"]
    assert world.call(client, who, "GET", f"/api/v1/users/{target}/api-keys").status_code == 404


def test_revoked_key_is_401_at_once(client: TestClient, world: UsersWorld) -> None:
    made = world.call(client, "east_staff", "POST", "/api/v1/users/east-staff/api-keys", json={}).json()
    headers = _key_headers(made["key"])
    assert client.get("/almaws/v1/users/east-staff", headers=headers).status_code == 200
    revoked = world.call(client, "east_staff", "DELETE", f"/api/v1/api-keys/{made['id']}")
    assert revoked.status_code == 204
    assert revoked.content == b""
    after = client.get("/almaws/v1/users/east-staff", headers=headers)
    assert after.status_code == 401
    assert error_of(after)["errorCode"] == "UNAUTHORIZED"
    # Revoking again is harmless; the list shows the key revoked.
    assert world.call(client, "east_staff", "DELETE", f"/api/v1/api-keys/{made['id']}").status_code == 204
    listed = world.call(client, "east_staff", "GET", "/api/v1/users/east-staff/api-keys").json()["api_key"]
    assert next(k for k in listed if k["id"] == made["id"])["revoked"] is not None
    events = world.factory.session.scalars(
        select(HistoryEvent).where(HistoryEvent.entity_id == "east-staff", HistoryEvent.new == "revoked")
    ).all()
    assert len(events) == 1


@pytest.mark.parametrize(("who", "status"), [("east_ua", 204), ("east_gsa", 204), ("operator", 204), ("east_cdo", 403)])
def test_revoking_someone_elses_key(client: TestClient, world: UsersWorld, who: str, status: int) -> None:
    made = world.call(client, "east_staff", "POST", "/api/v1/users/east-staff/api-keys", json={}).json()
    response = world.call(client, who, "DELETE", f"/api/v1/api-keys/{made['id']}")
    assert response.status_code == status, response.text
    works = client.get("/almaws/v1/users/east-staff", headers=_key_headers(made["key"])).status_code
    assert works == (401 if status == 204 else 200)


@pytest.mark.parametrize("who", ["west_ua", "east_staff"])
def test_keys_out_of_sight_are_unknown(client: TestClient, world: UsersWorld, who: str) -> None:
    made = world.call(client, "east_ua", "POST", "/api/v1/users/east-ua/api-keys", json={}).json()
    hidden = world.call(client, who, "DELETE", f"/api/v1/api-keys/{made['id']}")
    unknown = world.call(client, who, "DELETE", "/api/v1/api-keys/99999999")
    assert hidden.status_code == unknown.status_code == 404
    assert error_of(hidden)["errorCode"] == error_of(unknown)["errorCode"]
    assert client.get("/almaws/v1/users/east-ua", headers=_key_headers(made["key"])).status_code == 200


@pytest.mark.parametrize("key_id", ["abc", "0", "-1", "99999999999999999999"])
def test_bad_key_ids_are_400(client: TestClient, world: UsersWorld, key_id: str) -> None:
    response = world.call(client, "east_ua", "DELETE", f"/api/v1/api-keys/{key_id}")
    assert response.status_code == 400
    error_of(response)


def test_bad_bodies_are_400(client: TestClient, world: UsersWorld) -> None:
    for body in ({"label": 5}, {"label": "x" * 201}, ["label"]):
        response = world.call(client, "east_staff", "POST", "/api/v1/users/east-staff/api-keys", json=body)
        assert response.status_code == 400, response.text
        error_of(response)

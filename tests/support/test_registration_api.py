"""Self-registration with email confirmation (SC-3) and the mail outbox."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.platform.models import User
from tests.support.conftest import SupportWorld, error_message

REGISTRATION = {
    "email": "new.person@east.example.edu",
    "first_name": "New",
    "last_name": "Person",
    "institution": "EAST",
    "password": "a long enough password",
}


def _token(client: TestClient, world: SupportWorld, address: str) -> str:
    outbox = client.get(f"/api/v1/mail/outbox?to={address}", headers=world.key(world.operator)).json()
    assert outbox["total_record_count"] >= 1
    match = re.search(r"Confirmation code: (\S+)", outbox["message"][0]["body"])
    assert match is not None, outbox
    return match.group(1)


def test_register_confirm_then_open_cases(client: TestClient, world: SupportWorld) -> None:
    response = client.post("/api/v1/support/registrations", json=REGISTRATION)
    assert response.status_code == 202, response.text
    user = world.factory.session.scalars(select(User).where(User.primary_id_key == REGISTRATION["email"])).one()
    assert (user.support_level, user.record_type, user.email_confirmed) == ("BASIC", "STAFF", False)
    assert user.institution_id == world.east.id
    world.factory.session.commit()

    message = client.get("/api/v1/mail/outbox?to=NEW.person@east.example.edu", headers=world.key(world.operator))
    assert message.json()["message"][0]["subject"] == "Confirm your Support Center registration"
    assert "/support/confirm/" in message.json()["message"][0]["body"]

    # not confirmed: cannot sign in, cannot open cases
    login = client.get("/login")
    token_field = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token_field is not None
    denied = client.post(
        "/login",
        data={"username": REGISTRATION["email"], "password": REGISTRATION["password"], "csrf_token": token_field[1]},
        follow_redirects=False,
    )
    assert denied.status_code == 401
    assert "Confirm your email" in denied.text
    headers = world.key(user)
    response = client.post("/api/v1/support/cases", json={"subject": "Help"}, headers=headers)
    assert response.status_code == 403

    token = _token(client, world, REGISTRATION["email"])
    confirmed = client.post(f"/api/v1/support/registrations/{token}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json() == {"primary_id": REGISTRATION["email"], "email_confirmed": True}
    assert client.post(f"/api/v1/support/registrations/{token}/confirm").status_code == 404
    assert client.post("/api/v1/support/cases", json={"subject": "Help"}, headers=headers).status_code == 201


def test_the_registration_link_admits_any_address(client: TestClient, world: SupportWorld) -> None:
    body = {**REGISTRATION, "email": "someone@gmail.example", "institution": None, "registration_token": "reg-WEST"}
    assert client.post("/api/v1/support/registrations", json=body).status_code == 202
    user = world.factory.session.scalars(select(User).where(User.primary_id_key == "someone@gmail.example")).one()
    assert user.institution_id == world.west.id


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"email": "someone@gmail.example"}, "email domains"),
        ({"registration_token": "reg-nope"}, "registration link"),
        ({"registration_token": "reg-WEST"}, "registration link"),  # a link of another institution
        ({"institution": "NOPE"}, "NOPE"),
        ({"institution": None}, "institution"),
        ({"email": "not an address"}, "email"),
        ({"password": "short"}, "password"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_bad_registrations_are_400(
    client: TestClient, world: SupportWorld, change: dict[str, object], fragment: str
) -> None:
    response = client.post("/api/v1/support/registrations", json={**REGISTRATION, **change})
    assert response.status_code == 400
    assert fragment in error_message(response.json())


def test_a_known_address_is_not_told_apart(client: TestClient, world: SupportWorld) -> None:
    body = {**REGISTRATION, "email": "east-sam@example.edu", "registration_token": "reg-EAST"}
    response = client.post("/api/v1/support/registrations", json=body)
    assert response.status_code == 202
    count = world.factory.session.scalars(select(User).where(User.email == "east-sam@example.edu")).all()
    assert len(count) == 1
    outbox = client.get("/api/v1/mail/outbox?to=east-sam@example.edu", headers=world.key(world.operator)).json()
    assert "already has an account" in outbox["message"][0]["body"]


def test_unknown_confirmation_tokens_are_404(client: TestClient, world: SupportWorld) -> None:
    assert client.post("/api/v1/support/registrations/nonsense/confirm").status_code == 404


def test_the_outbox_is_the_operators(client: TestClient, world: SupportWorld) -> None:
    client.post("/api/v1/support/registrations", json=REGISTRATION)
    response = client.get("/api/v1/mail/outbox", headers=world.key(world.east_standard))
    assert response.status_code == 403
    everything = client.get("/api/v1/mail/outbox?limit=100", headers=world.key(world.operator)).json()
    assert everything["total_record_count"] >= 1
    assert set(everything["message"][0]) == {"id", "to", "subject", "body", "created", "sent"}
    nobody = client.get("/api/v1/mail/outbox?to=nobody@example.edu", headers=world.key(world.operator)).json()
    assert nobody == {"total_record_count": 0}

"""Registering again while the account is still unconfirmed (SC-3): a fresh confirmation link is mailed,
the earlier one stops working, history says so, and nothing else of the account changes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.platform.models import User
from consortia.support.registration import CONFIRM_SUBJECT
from tests.support.conftest import CSRF_FIELD, SupportWorld

ADDRESS = "late.reader@east.example.edu"
FIRST = {
    "email": ADDRESS,
    "first_name": "Late",
    "last_name": "Reader",
    "institution": "EAST",
    "password": "the first password",
}


def _messages(client: TestClient, world: SupportWorld) -> list[dict[str, str]]:
    answer = client.get(f"/api/v1/mail/outbox?to={ADDRESS}&limit=100", headers=world.key(world.operator)).json()
    return list(answer.get("message", []))


def _code(message: dict[str, str]) -> str:
    found = re.search(r"Confirmation code: (\S+)", message["body"])
    assert found is not None, message
    return found[1]


def _sign_in(client: TestClient, password: str) -> int:
    token = CSRF_FIELD.search(client.get("/login").text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": ADDRESS, "password": password, "csrf_token": token[1], "institution": "EAST"},
        follow_redirects=False,
    )
    return response.status_code


def test_registering_again_mails_a_new_link_and_retires_the_old_one(client: TestClient, world: SupportWorld) -> None:
    assert client.post("/api/v1/support/registrations", json=FIRST).status_code == 202
    (first_mail,) = _messages(client, world)
    old_code = _code(first_mail)

    again = {**FIRST, "first_name": "Someone", "last_name": "Else", "password": "another password"}
    assert client.post("/api/v1/support/registrations", json=again).status_code == 202
    newest, previous = _messages(client, world)  # newest first
    assert previous["id"] == first_mail["id"]
    assert newest["subject"] == CONFIRM_SUBJECT
    assert "/support/confirm/" in newest["body"]
    assert "password you chose when you first registered" in newest["body"]
    new_code = _code(newest)
    assert new_code != old_code

    users = world.factory.session.scalars(select(User).where(User.primary_id_key == ADDRESS)).all()
    assert len(users) == 1
    (user,) = users
    assert (user.first_name, user.last_name, user.email_confirmed) == ("Late", "Reader", False)
    history = world.factory.session.scalars(
        select(HistoryEvent).where(HistoryEvent.entity == "user", HistoryEvent.entity_id == ADDRESS)
    ).all()
    assert [(e.field, e.new) for e in history] == [
        ("support_level", "BASIC"),
        ("email_confirmation", "confirmation link sent again"),
    ]

    assert client.post(f"/api/v1/support/registrations/{old_code}/confirm").status_code == 404
    assert client.post(f"/api/v1/support/registrations/{new_code}/confirm").status_code == 200
    assert _sign_in(client, "another password") == 401  # the second attempt changed no password
    assert _sign_in(client, "the first password") == 303


def test_once_confirmed_registering_again_only_reminds(client: TestClient, world: SupportWorld) -> None:
    assert client.post("/api/v1/support/registrations", json=FIRST).status_code == 202
    code = _code(_messages(client, world)[0])
    assert client.post(f"/api/v1/support/registrations/{code}/confirm").status_code == 200
    assert client.post("/api/v1/support/registrations", json=FIRST).status_code == 202
    reminder = _messages(client, world)[0]
    assert "already has an account" in reminder["body"]
    assert "Confirmation code" not in reminder["body"]


def test_the_registration_page_resends_then_confirming_leads_to_sign_in(
    client: TestClient, world: SupportWorld
) -> None:
    for password in ("the first password", "typed again later"):
        form = client.get("/support/register")
        token = CSRF_FIELD.search(form.text)
        assert token is not None
        data = {**FIRST, "password": password, "csrf_token": token[1]}
        sent = client.post("/support/register", data=data, follow_redirects=False)
        assert sent.status_code == 303
        assert sent.headers["location"] == "/support/register/sent"
    newest, first = _messages(client, world)
    assert newest["subject"] == first["subject"] == CONFIRM_SUBJECT

    code = _code(newest)
    page = client.get(f"/support/confirm/{code}")
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    confirmed = client.post(f"/support/confirm/{code}", data={"csrf_token": token[1]}, follow_redirects=False)
    assert confirmed.status_code == 303
    login = client.get(confirmed.headers["location"])
    assert f"{ADDRESS} is confirmed" in login.text  # the flash message, from the flash cookie
    assert _sign_in(client, "the first password") == 303
    stale = client.get(f"/support/confirm/{_code(first)}")
    token = CSRF_FIELD.search(stale.text)
    assert token is not None
    refused = client.post(f"/support/confirm/{_code(first)}", data={"csrf_token": token[1]}, follow_redirects=False)
    assert refused.status_code == 404

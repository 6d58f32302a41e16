"""Self-registration cannot be used to flood mailboxes (SC-3, R-7): a few registration mails per email
address and more per client address within an hour, counted in the database; beyond them 429 in the
API's error shape, and a clear message on the page; nothing is mailed."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from consortia.mail import MailMessage
from consortia.support import registration
from consortia.support.models import RegistrationAttempt
from consortia.support.registration import ADDRESS_LIMIT, CLIENT_LIMIT
from tests.support.conftest import CSRF_FIELD, SupportWorld, error_message

REGISTRATIONS = "/api/v1/support/registrations"


def _body(address: str) -> dict[str, str]:
    return {
        "email": address,
        "first_name": "Flo",
        "last_name": "Od",
        "institution": "EAST",
        "password": "a long enough password",
    }


def _mails_to(world: SupportWorld, address: str) -> int:
    query = select(func.count()).where(func.lower(MailMessage.to_address) == address.lower())
    return int(world.factory.session.scalar(query) or 0)


def test_the_api_limits_the_mails_to_one_address(client: TestClient, world: SupportWorld) -> None:
    address = "target@east.example.edu"
    for _attempt in range(ADDRESS_LIMIT):
        assert client.post(REGISTRATIONS, json=_body(address)).status_code == 202
    assert _mails_to(world, address) == ADDRESS_LIMIT

    refused = client.post(REGISTRATIONS, json=_body(address.upper()))

    assert refused.status_code == 429, refused.text
    assert refused.json()["errorsExist"] is True
    assert "Too many registrations for this address" in error_message(refused.json())
    assert "try again in 60 minutes" in error_message(refused.json())
    assert _mails_to(world, address) == ADDRESS_LIMIT
    # Another address from the same client is still welcome.
    assert client.post(REGISTRATIONS, json=_body("someone.else@east.example.edu")).status_code == 202

    # Once the hour has passed, the address may register again.
    world.factory.session.execute(
        update(RegistrationAttempt).values(at=RegistrationAttempt.at - dt.timedelta(minutes=61))
    )
    world.factory.session.commit()
    assert client.post(REGISTRATIONS, json=_body(address)).status_code == 202
    assert _mails_to(world, address) == ADDRESS_LIMIT + 1


def test_the_api_limits_one_client_across_addresses(
    app: FastAPI, world: SupportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CLIENT_LIMIT > ADDRESS_LIMIT
    # A lower limit than the real one, so that the test registers fewer people (each costs a password hash).
    limit = ADDRESS_LIMIT + 1
    monkeypatch.setattr(registration, "CLIENT_LIMIT", limit)
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 40000)) as flooder:
        for number in range(limit):
            response = flooder.post(REGISTRATIONS, json=_body(f"person{number}@east.example.edu"))
            assert response.status_code == 202, response.text
        refused = flooder.post(REGISTRATIONS, json=_body("one.more@east.example.edu"))
    assert refused.status_code == 429, refused.text
    assert f"Too many registrations from your network: at most {limit} an hour." in error_message(refused.json())
    assert _mails_to(world, "one.more@east.example.edu") == 0
    # Someone elsewhere is not held up by it.
    with TestClient(app, raise_server_exceptions=False, client=("198.51.100.4", 40000)) as elsewhere:
        assert elsewhere.post(REGISTRATIONS, json=_body("one.more@east.example.edu")).status_code == 202
    # Only hashes are kept: no address of a person or a client is stored in the counts.
    stored = world.factory.session.scalars(select(RegistrationAttempt.key_hash)).all()
    assert stored
    assert all(len(value) == 64 and "@" not in value and "." not in value for value in stored)


def test_the_page_says_to_wait(client: TestClient, world: SupportWorld) -> None:
    address = "page.target@east.example.edu"
    responses = []
    for _attempt in range(ADDRESS_LIMIT + 1):
        form = client.get("/support/register")
        token = CSRF_FIELD.search(form.text)
        assert token is not None
        data = {**_body(address), "csrf_token": token[1]}
        responses.append(client.post("/support/register", data=data, follow_redirects=False))
    assert [r.status_code for r in responses] == [303] * ADDRESS_LIMIT + [429]
    refused = responses[-1].text
    assert 'id="form-error"' in refused
    assert f"at most {ADDRESS_LIMIT} confirmation mails an hour" in refused
    assert 'value="page.target@east.example.edu"' in refused  # the form keeps what was typed
    assert _mails_to(world, address) == ADDRESS_LIMIT

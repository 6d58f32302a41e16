"""The institution's Support Center registration link (SC-3): shown to the operator and the institution's
General System Administrator (API and pages), to nobody else, and it leads to a working registration."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.config import get_settings
from consortia.platform.models import User
from tests.audit.world import World, build_world
from tests.factories import Factory
from tests.platform.test_operator_pages import Browser

LINK_FIELD = re.compile(r'<input id="registration-link" readonly size="80" value="([^"]+)">')


@pytest.fixture
def world(factory: Factory) -> World:
    built = build_world(factory)
    factory.session.commit()
    return built


def _expected(code: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/support/register?token=reg-{code}"


def test_the_api_answers_the_link_to_those_who_may_hand_it_out(client: TestClient, world: World) -> None:
    for who in ("operator", "east_gsa"):
        answer = client.get("/api/v1/institutions/EAST", headers=world.headers(who))
        assert answer.status_code == 200, who
        assert answer.json()["registration_link"] == _expected("EAST"), who
    for who in ("east_ua", "east_staff"):
        answer = client.get("/api/v1/institutions/EAST", headers=world.headers(who))
        assert answer.status_code == 200, who
        assert "registration_link" not in answer.json(), who
    assert client.get("/api/v1/institutions/EAST", headers=world.headers("west_gsa")).status_code == 404
    listed = client.get("/api/v1/institutions?limit=100", headers=world.headers("operator")).json()["institution"]
    assert {i["code"]: i["registration_link"] for i in listed} == {c: _expected(c) for c in ("EAST", "NORTH", "WEST")}
    own = client.get("/api/v1/institutions", headers=world.headers("east_gsa")).json()["institution"]
    assert [i.get("registration_link") for i in own] == [_expected("EAST")]


def test_the_operator_sees_the_link_on_the_institution_page(app: FastAPI, world: World) -> None:
    page = Browser(app, "op-anna").get("/operator/institutions/WEST")
    found = LINK_FIELD.search(page)
    assert found is not None
    assert found[1] == _expected("WEST")


def test_the_general_system_administrator_sees_the_link_of_their_institution(app: FastAPI, world: World) -> None:
    gsa = Browser(app, "east-gsa", "EAST")
    for path in ("/operator/institutions/EAST", "/admin/parameters"):
        found = LINK_FIELD.search(gsa.get(path))
        assert found is not None, path
        assert found[1] == _expected("EAST")
    for username, path in (("east-ua", "/admin/parameters"), ("east-staff", "/operator/institutions/EAST")):
        page = Browser(app, username, "EAST").get(path)
        assert 'id="registration-link"' not in page, username


def test_the_link_registers_into_its_institution(client: TestClient, world: World) -> None:
    link = client.get("/api/v1/institutions/EAST", headers=world.headers("east_gsa")).json()["registration_link"]
    form = client.get(link.removeprefix(get_settings().base_url.rstrip("/")))
    assert form.status_code == 200
    assert 'name="registration_token" value="reg-EAST"' in form.text
    assert 'id="institution"' not in form.text  # the link names the institution
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    data = {
        "csrf_token": token[1],
        "registration_token": "reg-EAST",
        "email": "visitor@elsewhere.example",
        "first_name": "Vera",
        "last_name": "Visitor",
        "password": "a long enough secret",
    }
    assert client.post("/support/register", data=data, follow_redirects=False).status_code == 303
    user = world.factory.session.scalars(select(User).where(User.primary_id_key == "visitor@elsewhere.example")).one()
    assert (user.institution_id, user.support_level) == (world.east.id, "BASIC")


def test_the_sign_in_page_links_to_registration(client: TestClient) -> None:
    page = client.get("/login").text
    assert '<a href="/support/register">Register for the Support Center</a>' in page
    assert client.get("/support/register").status_code == 200

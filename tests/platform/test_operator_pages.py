"""Pages of tenancy and parameters: the operator's lists and forms, staff in View mode, the
parameters page of the institution one works in, History sections, labels and CSRF."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.audit.service import events_for
from consortia.platform.parameters import parameter_value
from tests.audit.world import World, build_world
from tests.factories import PASSWORD, Factory

TEMP = "temp_user_scope_limits_electronic_resources"
SEARCH_ALL = "fulfillment_network_search_by_all"


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


class Browser:
    """A signed-in person: a client with its own cookies, and the CSRF token of the last page."""

    def __init__(self, app: FastAPI, username: str, institution: str = "") -> None:
        self.client = TestClient(app, raise_server_exceptions=False)
        login = self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1), "institution": institution},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.csrf = ""

    def get(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        assert_labelled(response.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if token:
            self.csrf = token.group(1)
        return response.text

    def post(self, path: str, data: dict[str, object]) -> tuple[int, str, str]:
        """(status, the redirect target or "", the page text when there was no redirect)."""
        if not self.csrf:
            self.get("/")
        response = self.client.post(path, data={"csrf_token": self.csrf, **data}, follow_redirects=False)
        return response.status_code, response.headers.get("location", ""), response.text


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("for"):
            self.labels.add(attributes["for"] or "")
        if tag in {"input", "select", "textarea"} and attributes.get("type") not in {"hidden", "submit"}:
            self.fields.append(attributes.get("id") or f"<{tag} name={attributes.get('name')} without id>")


def assert_labelled(html: str) -> None:
    """Every visible form field has a <label for=...>."""
    parser = _Inputs()
    parser.feed(html)
    unlabelled = [field for field in parser.fields if field not in parser.labels]
    assert not unlabelled, f"fields without a label: {unlabelled}"


@pytest.fixture
def operator(app: FastAPI, world: World) -> Browser:
    return Browser(app, "op-anna")


@pytest.fixture
def east_gsa(app: FastAPI, world: World) -> Browser:
    return Browser(app, "east-gsa", "EAST")


# --- consortia ----------------------------------------------------------------------------------


def test_operator_creates_and_edits_a_consortium(operator: Browser, db: Session) -> None:
    page = operator.get("/operator/consortia")
    assert "NLC" in page
    assert "SLC" in page
    assert 'action="/operator/consortia"' in page
    status, target, _ = operator.post("/operator/consortia", {"code": "mlc", "name": "Midland", "parent_account": ""})
    assert status == 303
    assert target == "/operator/consortia/MLC"  # the message travels in the flash cookie, not the address
    page = operator.get(target)
    assert "Consortium MLC created." in page
    assert "Midland" in page

    status, target, _ = operator.post(
        "/operator/consortia/MLC", {"name": "Midland Libraries", "parent_account": "Trust"}
    )
    assert status == 303
    page = operator.get(target)
    assert "Consortium saved." in page
    history = page[page.index('id="history-heading"') :]
    assert "Midland Libraries" in history
    assert "Trust" in history
    assert [(e.field, e.new) for e in events_for(db, "consortium", "MLC")][-2:] == [
        ("name", "Midland Libraries"),
        ("parent_account", "Trust"),
    ]


def test_invalid_consortium_shows_the_form_again(operator: Browser, db: Session) -> None:
    status, _target, page = operator.post("/operator/consortia", {"code": "no good", "name": "Keep me"})
    assert status == 400
    assert "is not valid" in page
    assert 'value="Keep me"' in page  # what was typed is kept
    status, _target, page = operator.post("/operator/consortia", {"code": "NLC", "name": "Again"})
    assert status == 400
    assert "already in use" in page
    status, _target, page = operator.post("/operator/consortia/NLC", {"name": "  ", "parent_account": "x"})
    assert status == 400
    assert events_for(db, "consortium", "NLC") == []


def test_staff_see_their_consortium_in_view_mode(east_gsa: Browser) -> None:
    page = east_gsa.get("/operator/consortia")
    assert "NLC" in page
    assert "SLC" not in page
    assert 'action="/operator/consortia"' not in page  # no create form
    page = east_gsa.get("/operator/consortia/NLC")
    assert "Opened in View mode" in page
    assert "Only the operator manages consortia." in page
    assert 'action="/operator/consortia/NLC"' not in page
    assert east_gsa.client.get("/operator/consortia/SLC").status_code == 404
    status, _target, page = east_gsa.post("/operator/consortia/NLC", {"name": "Mine"})
    assert status == 403
    assert "Only the operator manages consortia." in page
    status, _target, _page = east_gsa.post("/operator/consortia", {"code": "MINE", "name": "Mine"})
    assert status == 403


def test_forms_need_the_csrf_token(operator: Browser) -> None:
    operator.get("/operator/consortia")
    response = operator.client.post("/operator/consortia", data={"code": "NOCSRF", "name": "x"}, follow_redirects=False)
    assert response.status_code == 403
    response = operator.client.post(
        "/operator/consortia", data={"code": "NOCSRF", "name": "x", "csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403


# --- institutions -------------------------------------------------------------------------------


def test_operator_creates_an_institution_and_adds_a_library(operator: Browser, db: Session) -> None:
    page = operator.get("/operator/institutions")
    assert 'id="email_domains"' in page
    status, target, _ = operator.post(
        "/operator/institutions",
        {
            "code": "south",
            "name": "Southern Tech",
            "consortium": "SLC",
            "email_domains": "south.example.edu\nst.example.edu",
        },
    )
    assert status == 303, _
    page = operator.get(target)
    assert "Institution SOUTH created." in page
    assert "south.example.edu, st.example.edu" in page
    assert "Southern Libraries Consortium" in page

    status, target, _ = operator.post(
        "/operator/institutions/SOUTH/libraries",
        {"library_code": "south_main", "library_name": "Main Library", "campus": "North", "resource_sharing": "true"},
    )
    assert status == 303
    page = operator.get(target)
    assert "Library SOUTH_MAIN added." in page
    assert "<td>SOUTH_MAIN</td><td>Main Library</td><td>North</td><td>yes</td>" in page
    history = page[page.index('id="history-heading"') :]
    assert "SOUTH_MAIN" in history

    status, _target, page = operator.post(
        "/operator/institutions/SOUTH/libraries", {"library_code": "EAST_L1", "library_name": "Taken"}
    )
    assert status == 400
    assert "The library code EAST_L1 is already in use." in page


def test_operator_edits_an_institution(operator: Browser, db: Session) -> None:
    status, target, _ = operator.post(
        "/operator/institutions/NORTH",
        {"name": "Northern University", "consortium": "", "email_domains": "north.example.edu"},
    )
    assert status == 303
    page = operator.get(target)
    assert "Institution saved." in page
    assert [(e.field, e.old, e.new) for e in events_for(db, "institution", "NORTH")] == [
        ("name", "Northern College", "Northern University"),
        ("consortium", "NLC", None),
        ("email_domains", "", "north.example.edu"),
    ]
    # A domain of another institution: shown again, nothing changed.
    status, _target, page = operator.post(
        "/operator/institutions/NORTH", {"name": "Renamed again", "email_domains": "east.example.edu"}
    )
    assert status == 400
    assert "already used by institution EAST" in page
    assert len(events_for(db, "institution", "NORTH")) == 3


def test_operator_sets_parameters_on_the_institution_page(operator: Browser, world: World, db: Session) -> None:
    page = operator.get("/operator/institutions/EAST")
    assert f'id="param-{TEMP}"' in page  # the operator may change every parameter
    status, target, _ = operator.post(f"/operator/institutions/EAST/parameters/{TEMP}", {"value": "true"})
    assert status == 303
    page = operator.get(target)
    assert f"Parameter {TEMP} saved." in page
    history = page[page.index('id="history-heading"') :]
    assert f"<td>parameter {TEMP}</td><td>false</td><td>true</td>" in history
    assert parameter_value(db, world.east.id, TEMP) is True
    status, _target, page = operator.post(f"/operator/institutions/EAST/parameters/{SEARCH_ALL}", {"value": "maybe"})
    assert status == 400
    assert "takes true or false" in page


def test_staff_see_their_institution_in_view_mode(east_gsa: Browser) -> None:
    page = east_gsa.get("/operator/institutions")
    assert "EAST" in page
    assert "WEST" not in page
    page = east_gsa.get("/operator/institutions/EAST")
    assert "Only the operator manages institutions." in page
    assert 'action="/operator/institutions/EAST/libraries"' not in page
    assert "EAST_L1" in page
    assert east_gsa.client.get("/operator/institutions/WEST").status_code == 404
    status, _target, _page = east_gsa.post(
        "/operator/institutions/EAST/libraries", {"library_code": "EAST_X", "library_name": "X"}
    )
    assert status == 403


# --- networks -----------------------------------------------------------------------------------


def test_operator_creates_a_network_with_checkboxes(operator: Browser, db: Session) -> None:
    page = operator.get("/operator/networks")
    assert 'id="member-EAST"' in page
    assert 'id="member-NORTH"' in page
    status, target, _ = operator.post(
        "/operator/networks", {"code": "nlc_fn", "name": "NLC", "members": ["EAST", "NORTH"]}
    )
    assert status == 303
    page = operator.get(target)
    assert "Fulfillment network NLC_FN created." in page
    assert 'id="member-EAST" name="members" type="checkbox" value="EAST" checked' in page
    assert 'value="WEST" checked' not in page

    status, target, _ = operator.post("/operator/networks/NLC_FN", {"name": "NLC sharing", "members": ["WEST"]})
    assert status == 303
    page = operator.get(target)
    assert "Fulfillment network saved." in page
    assert [(e.field, e.old, e.new) for e in events_for(db, "network", "NLC_FN")][-2:] == [
        ("name", "NLC", "NLC sharing"),
        ("members", "EAST, NORTH", "WEST"),
    ]
    # No member ticked: the network keeps no members.
    status, _target, _ = operator.post("/operator/networks/NLC_FN", {"name": "NLC sharing"})
    assert status == 303
    assert events_for(db, "network", "NLC_FN")[-1].new == ""


def test_staff_see_their_networks_in_view_mode(east_gsa: Browser) -> None:
    page = east_gsa.get("/operator/networks")
    assert "FN_EW" in page
    assert "FN_W<" not in page
    page = east_gsa.get("/operator/networks/FN_EW")
    assert "Only the operator manages fulfillment networks." in page
    assert east_gsa.client.get("/operator/networks/FN_W").status_code == 404


# --- the parameters page ------------------------------------------------------------------------


def test_gsa_parameters_page(east_gsa: Browser, world: World, db: Session) -> None:
    page = east_gsa.get("/admin/parameters")
    assert f'id="param-{SEARCH_ALL}"' in page
    assert f'id="param-{TEMP}"' not in page  # operator-only: read-only here
    assert "contact support to enable" in page
    status, target, _ = east_gsa.post(f"/admin/parameters/{SEARCH_ALL}", {"value": "true"})
    assert status == 303
    page = east_gsa.get(target)
    assert f"Parameter {SEARCH_ALL} saved." in page
    history = page[page.index('id="history-heading"') :]
    assert SEARCH_ALL in history
    assert "true" in history
    assert parameter_value(db, world.east.id, SEARCH_ALL) is True
    status, _target, page = east_gsa.post(f"/admin/parameters/{TEMP}", {"value": "true"})
    assert status == 403
    assert "contact support to enable" in page
    assert parameter_value(db, world.east.id, TEMP) is False


def test_staff_read_parameters_without_forms(app: FastAPI, world: World) -> None:
    staff = Browser(app, "east-staff", "EAST")
    page = staff.get("/admin/parameters")
    assert SEARCH_ALL in page
    assert 'name="value"' not in page
    assert "General System Administrator" in page


def test_the_operator_picks_an_institution_for_the_parameters_page(operator: Browser) -> None:
    page = operator.get("/admin/parameters")
    assert "Choose the institution to work in" in page
    status, _target, _ = operator.post("/operator/acting-institution", {"institution": "WEST"})
    assert status == 303
    page = operator.get("/admin/parameters")
    assert "Western University" in page
    assert f'id="param-{TEMP}"' in page

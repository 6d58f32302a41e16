"""SC-10: a case-sharing request names contacts across the consortium (one per member institution, as
the seed's request lists them); the operator's resolution licenses each of them; a contact who cannot
be named is refused with one message whatever the reason (R-3); the page's contact rows."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.support.models import ConsortiaLicence, SupportCase
from tests.factories import Factory
from tests.support.conftest import SupportWorld, build_world, error_message, key, sign_in

REQUESTS = "/api/v1/support/sharing-requests"
ACROSS = {
    "consortium": "NLC",
    "contacts": [{"institution": "EAST", "primary_id": "east-sam"}, {"institution": "west", "primary_id": "WEST-SUE"}],
}


def _world(factory: Factory) -> SupportWorld:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    return world


def test_a_request_names_contacts_of_other_member_institutions(client: TestClient, factory: Factory) -> None:
    world = _world(factory)
    response = client.post(REQUESTS, json=ACROSS, headers=key(factory, world.east_standard))
    assert response.status_code == 201, response.text
    description = response.json()["description"]
    assert "Sam East (east-sam, Eastern State University) <east-sam@example.edu>" in description
    # A partner's contact is named by user name and institution: their name and address stay with WEST.
    assert "- west-sue (Western College)" in description
    assert "west-sue@example.edu" not in description


def test_resolving_the_request_licenses_the_contacts_of_every_institution(client: TestClient, factory: Factory) -> None:
    world = _world(factory)
    number = client.post(REQUESTS, json=ACROSS, headers=key(factory, world.east_standard)).json()["number"]
    operator = key(factory, world.operator)

    response = client.put(
        "/api/v1/support/consortia/NLC/case-sharing", json={"enabled": True, "request_case": number}, headers=operator
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert {(lic["institution"]["value"], lic["primary_id"]) for lic in body["licences"]} == {
        ("EAST", "east-sam"),
        ("WEST", "west-sue"),
    }
    licensed = factory.session.scalars(
        select(ConsortiaLicence).where(
            ConsortiaLicence.user_id == world.west_standard.id, ConsortiaLicence.removed_at.is_(None)
        )
    ).one()
    assert licensed.institution_id == world.west.id
    history = client.get("/api/v1/history?entity=licence&id=WEST/west-sue", headers=operator).json()
    assert [(e["old"], e["new"]) for e in history["event"]] == [(None, f"granted (via case {number})")]
    # west-sue is a Consortia user now and sees what EAST shares with the consortium.
    shared = world.case(world.east_standard, share_with="CONSORTIUM", subject="Shared by EAST")
    west_sue = key(factory, world.west_standard)
    partner = client.get("/api/v1/support/list-views/partner-cases/cases", headers=west_sue)
    assert partner.status_code == 200, partner.text
    assert [case["number"] for case in partner.json()["case"]] == [shared.number]


def test_contacts_that_cannot_be_named_are_refused_alike(client: TestClient, factory: Factory) -> None:
    world = _world(factory)
    factory.user(world.west, "west-patron", record_type="PUBLIC")
    factory.user(world.west, "west-gone", status="INACTIVE")
    factory.session.commit()
    standard = key(factory, world.east_standard)
    refused = {
        "unknown": ("WEST", "nobody-here"),
        "a patron": ("WEST", "west-patron"),
        "inactive": ("WEST", "west-gone"),
        "of another consortium": ("SOUTH", "south-cora"),
        "of no consortium": ("LONE", "lone-liz"),
        "of an unknown institution": ("NOPE", "west-sue"),
        "the operator": ("EAST", world.operator.primary_id),
    }
    messages = {}
    for reason, (code, primary_id) in refused.items():
        body = {"consortium": "NLC", "contacts": [{"institution": code, "primary_id": primary_id}]}
        response = client.post(REQUESTS, json=body, headers=standard)
        assert response.status_code == 400, (reason, response.text)
        assert response.json()["errorsExist"] is True
        messages[reason] = error_message(response.json()).replace(f"{code}/{primary_id}", "<contact>")
    assert len(set(messages.values())) == 1, messages
    assert "cannot be named: <contact>." in messages["unknown"]
    assert factory.session.scalar(select(SupportCase.id).where(SupportCase.issue_type == "Access")) is None


def _rows(page: str) -> list[tuple[str, str]]:
    """(selected institution, user name) of each contact row of the request form."""
    found = []
    rows = page[page.index('<ol id="contact-rows"') : page.index("</ol>")]
    for row in re.findall(r'<li class="row contact-row">(.*?)</li>', rows, re.S):
        selected = re.search(r'<option value="([^"]+)" selected>', row)
        value = re.search(r'name="contact_primary_id"[^>]*value="([^"]*)"', row)
        found.append((selected.group(1) if selected else "", value.group(1) if value else ""))
    return found


def test_the_page_offers_a_row_per_member_institution(client: TestClient, factory: Factory) -> None:
    world = _world(factory)
    token = sign_in(client, world.east_standard)
    form = client.get("/support/sharing-request").text
    assert _rows(form) == [("EAST", ""), ("WEST", "")]
    assert 'id="add-contact-button"' in form
    assert 'for="contact-institution-2" data-label="institution">Contact 2: institution</label>' in form
    # the drop-down offers the consortium's institutions only
    assert "SOUTH" not in form
    assert "LONE" not in form

    response = client.post(
        "/support/sharing-request",
        data={
            "csrf_token": token,
            "contact_institution": ["EAST", "WEST"],
            "contact_primary_id": ["east-sam", "west-sue"],
        },
        follow_redirects=False,
    )

    assert response.status_code == 303, response.text
    case_page = client.get(response.headers["location"]).text
    assert "west-sue (Western College)" in case_page


def test_the_page_refuses_with_a_form_error_and_keeps_the_rows(client: TestClient, factory: Factory) -> None:
    world = _world(factory)
    token = sign_in(client, world.east_standard)
    refused = client.post(
        "/support/sharing-request",
        data={
            "csrf_token": token,
            "contact_institution": ["EAST", "WEST"],
            "contact_primary_id": ["east-sam", "south-cora"],
        },
    )
    assert refused.status_code == 400
    assert "These contacts cannot be named: WEST/south-cora." in refused.text
    assert _rows(refused.text) == [("EAST", "east-sam"), ("WEST", "south-cora")]

    too_long = client.post(
        "/support/sharing-request",
        data={"csrf_token": token, "contact_institution": ["EAST"], "contact_primary_id": ["x" * 101]},
    )
    assert too_long.status_code == 400, too_long.text
    assert "Contact 1: a user name has at most 100 characters." in too_long.text
    assert 'id="form-error"' in too_long.text

    empty = client.post(
        "/support/sharing-request",
        data={"csrf_token": token, "contact_institution": ["EAST", "WEST"], "contact_primary_id": ["", " "]},
    )
    assert empty.status_code == 400
    assert "Name at least one contact." in empty.text
    assert factory.session.scalar(select(SupportCase.id).where(SupportCase.issue_type == "Access")) is None


def test_the_subject_says_consortium_once(client: TestClient, factory: Factory) -> None:
    lakes = factory.consortium("LAKES", "Lakes Libraries", parent_account="Lakes Parent Consortium")
    member = factory.institution("SHORE", lakes, name="Shore College")
    asker = factory.user(member, "shore-sam", support_level="STANDARD")
    factory.session.commit()
    body = {"consortium": "LAKES", "contacts": [{"institution": "SHORE", "primary_id": "shore-sam"}]}
    response = client.post(REQUESTS, json=body, headers=key(factory, asker))
    assert response.status_code == 201, response.text
    assert response.json()["subject"] == "Set up case sharing for Lakes Libraries consortium"
    assert response.json()["description"].startswith("Please enable case sharing for the Lakes Parent Consortium.")

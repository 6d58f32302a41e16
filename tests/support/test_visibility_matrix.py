"""SC-6 over HTTP: level by where the case is by Share with by consortium sharing on or off, for get, list,
count, search, partner list, comment, status change and share. One shared set-up per combination.

The expectations are written out here from SC-6 (not computed by the policy under test):
the viewer works at VIEW (consortium NLC); the case is at VIEW ("own"), at PARTNER (also NLC) or at
OUTSIDE (consortium OTHER, whose sharing is always enabled); it was opened by a STANDARD user there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from consortia.platform.models import User
from consortia.support.models import SupportCase
from tests.factories import Factory
from tests.support.conftest import error_message, key, make_case, support_user

LEVELS = ("BASIC", "STANDARD", "CONSORTIA", "operator")
PLACES = ("own", "partner", "outside")
SHARES = ("INSTITUTION", "CONSORTIUM")


def sees(level: str, place: str, share: str, enabled: bool) -> bool:
    if level == "operator":
        return True
    if place == "own":
        return level in {"STANDARD", "CONSORTIA"}
    if place == "partner":
        return level == "CONSORTIA" and share == "CONSORTIUM" and enabled
    return False


def manages(level: str, place: str) -> bool:
    return level == "operator" or (place == "own" and level in {"STANDARD", "CONSORTIA"})


def shareable(place: str, enabled: bool) -> bool:
    """Whether the case's consortium has sharing enabled (OUTSIDE's always has)."""
    return place == "outside" or enabled


@dataclass
class Setting:
    viewer: dict[str, str]
    case: SupportCase


def set_up(factory: Factory, level: str, place: str, share: str, enabled: bool) -> Setting:
    nlc = factory.consortium(name="Northern Libraries Consortium", case_sharing_enabled=enabled)
    other = factory.consortium(name="Other Consortium", case_sharing_enabled=True)
    view = factory.institution(consortium=nlc)
    partner = factory.institution(consortium=nlc)
    outside = factory.institution(consortium=other)
    home = {"own": view, "partner": partner, "outside": outside}[place]
    opener = support_user(factory, home, f"opener-{home.code.lower()}", "STANDARD")
    viewer: User = (
        factory.operator() if level == "operator" else support_user(factory, view, f"viewer-{level.lower()}", level)
    )
    return Setting(key(factory, viewer), make_case(factory.session, opener, share_with=share))


@pytest.mark.parametrize("enabled", [True, False], ids=["sharing-on", "sharing-off"])
@pytest.mark.parametrize("share", SHARES)
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("level", LEVELS)
def test_visibility_matrix(
    client: TestClient, factory: Factory, level: str, place: str, share: str, enabled: bool
) -> None:
    setting = set_up(factory, level, place, share, enabled)
    headers, number = setting.viewer, setting.case.number
    visible = sees(level, place, share, enabled)
    manager = manages(level, place)

    # get
    response = client.get(f"/api/v1/support/cases/{number}", headers=headers)
    assert response.status_code == (200 if visible else 404), response.text
    if visible:
        assert response.json()["can"] == {
            "edit": manager,
            "comment": manager,
            "share": manager and shareable(place, enabled),
        }

    # list and count
    listed_response = client.get("/api/v1/support/cases?limit=100", headers=headers)
    assert listed_response.status_code == 200, listed_response.text
    listed = listed_response.json()
    assert [c["number"] for c in listed.get("case", [])] == ([number] if visible else [])
    assert listed["total_record_count"] == (1 if visible else 0)

    # search (the text filter finds the case by its number only when it is visible)
    found = client.get(f"/api/v1/support/cases?text={number}", headers=headers).json()
    assert found["total_record_count"] == (1 if visible else 0)

    # the Consortium/Partner Cases list: CONSORTIA users only, shared cases of their consortium
    partner_list = client.get("/api/v1/support/list-views/partner-cases/cases", headers=headers)
    if level == "CONSORTIA":
        in_partner_list = share == "CONSORTIUM" and enabled and place in {"own", "partner"}
        assert partner_list.json()["total_record_count"] == (1 if in_partner_list else 0)
    else:
        assert partner_list.status_code == 404

    # comment
    response = client.post(f"/api/v1/support/cases/{number}/comments", json={"text": "Any news?"}, headers=headers)
    assert response.status_code == (201 if manager else 403 if visible else 404), response.text
    if visible and not manager:
        assert "read-only" in error_message(response.json())

    # comments and history are hidden like the case
    for path in ("comments", "history", "attachments"):
        response = client.get(f"/api/v1/support/cases/{number}/{path}", headers=headers)
        assert response.status_code == (200 if visible else 404)

    # status change
    response = client.patch(f"/api/v1/support/cases/{number}", json={"status": "In Progress"}, headers=headers)
    assert response.status_code == (200 if manager else 403 if visible else 404), response.text
    if manager:
        assert response.json()["status"] == "In Progress"

    # share (the other way round from now)
    target = "CONSORTIUM" if share == "INSTITUTION" else "INSTITUTION"
    response = client.put(f"/api/v1/support/cases/{number}/sharing", json={"share_with": target}, headers=headers)
    if not visible:
        assert response.status_code == 404
    elif not manager:
        assert response.status_code == 403
        assert "read-only" in error_message(response.json())
    elif target == "CONSORTIUM" and not shareable(place, enabled):
        assert response.status_code == 403
        assert "not enabled" in error_message(response.json())
    else:
        assert response.status_code == 200, response.text
        assert response.json()["share_with"]["value"] == target

"""Partner access through the pages is read-only (SC-6, P-8): a CONSORTIA user of another member
institution who can see a shared case gets 403 from every page that would change it, and 404 for a
case they cannot see; nothing changes either way."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from consortia.audit.models import HistoryEvent
from consortia.support.models import CaseAttachment, CaseComment, SupportCase
from tests.support.conftest import SupportWorld, sign_in

Attempt = Callable[[TestClient, str, str], Response]


def _comment(client: TestClient, number: str, token: str) -> Response:
    return client.post(
        f"/support/cases/{number}/comments", data={"csrf_token": token, "text": "Me too"}, follow_redirects=False
    )


def _update(client: TestClient, number: str, token: str) -> Response:
    data = {"csrf_token": token, "version": "1", "status": "In Progress", "priority": "High", "subject": "Mine now"}
    return client.post(f"/support/cases/{number}/update", data=data, follow_redirects=False)


def _sharing(client: TestClient, number: str, token: str) -> Response:
    data = {"csrf_token": token, "share_with": "INSTITUTION"}
    return client.post(f"/support/cases/{number}/sharing", data=data, follow_redirects=False)


def _attachment(client: TestClient, number: str, token: str) -> Response:
    return client.post(
        f"/support/cases/{number}/attachments",
        data={"csrf_token": token},
        files={"file": ("log.txt", b"partner log", "text/plain")},
        follow_redirects=False,
    )


def _share_page(client: TestClient, number: str, _token: str) -> Response:
    return client.get(f"/support/cases/{number}/share", follow_redirects=False)


ATTEMPTS: list[tuple[str, Attempt]] = [
    ("POST comments", _comment),
    ("POST update", _update),
    ("POST sharing", _sharing),
    ("POST attachments", _attachment),
    ("GET share", _share_page),
]


def _footprint(world: SupportWorld, case: SupportCase) -> tuple[object, ...]:
    session = world.factory.session
    session.expire_all()
    fresh = session.get(SupportCase, case.id)
    assert fresh is not None
    return (
        fresh.status,
        fresh.priority,
        fresh.subject,
        fresh.share_with,
        fresh.version,
        session.scalar(select(func.count()).where(CaseComment.case_id == case.id)),
        session.scalar(select(func.count()).where(CaseAttachment.case_id == case.id)),
        session.scalar(
            select(func.count()).where(HistoryEvent.entity == "case", HistoryEvent.entity_id == case.number)
        ),
    )


@pytest.mark.parametrize(("label", "attempt"), ATTEMPTS, ids=[label for label, _ in ATTEMPTS])
def test_a_partner_may_read_a_shared_case_but_not_change_it(
    client: TestClient, world: SupportWorld, label: str, attempt: Attempt
) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM", subject="Shared by East")
    before = _footprint(world, shared)
    token = sign_in(client, world.west_consortia)
    assert client.get(f"/support/cases/{shared.number}").status_code == 200  # visible to the partner
    response = attempt(client, shared.number, token)
    assert response.status_code == 403, f"{label}: {response.status_code}"
    assert "read-only" in response.text
    assert _footprint(world, shared) == before


@pytest.mark.parametrize(("label", "attempt"), ATTEMPTS, ids=[label for label, _ in ATTEMPTS])
def test_a_case_the_partner_cannot_see_is_not_found(
    client: TestClient, world: SupportWorld, label: str, attempt: Attempt
) -> None:
    own_only = world.case(world.east_standard, subject="East only")  # INSTITUTION: hidden from partners
    elsewhere = world.case(world.south_consortia, share_with="CONSORTIUM")  # shared in another consortium
    token = sign_in(client, world.west_consortia)
    for case in (own_only, elsewhere):
        before = _footprint(world, case)
        assert client.get(f"/support/cases/{case.number}").status_code == 404
        response = attempt(client, case.number, token)
        assert response.status_code == 404, f"{label} on {case.subject}: {response.status_code}"
        assert case.subject not in response.text
        assert _footprint(world, case) == before
    unknown = attempt(client, "99999999", token)
    assert unknown.status_code == 404

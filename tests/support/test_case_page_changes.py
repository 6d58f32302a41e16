"""The case page's changes through HTTP: subject and description edited like the API's PATCH (SC-4,
R-4), taking a case back while sharing is disabled (SC-5, SC-7), and the history rows of comments and
attachments (P-6), readable only by those who can see the case."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.support.models import SupportCase
from tests.factories import Factory
from tests.support.conftest import SupportWorld, build_world, sign_in


def _post(client: TestClient, path: str, token: str, **data: object) -> Response:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None
    return found[1]


def _events(world: SupportWorld, case: SupportCase, field: str) -> list[tuple[str | None, str | None, str]]:
    rows = world.factory.session.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == "case", HistoryEvent.entity_id == case.number, HistoryEvent.field == field)
        .order_by(HistoryEvent.id)
    ).all()
    return [(row.old, row.new, row.actor) for row in rows]


def _refreshed(world: SupportWorld, case: SupportCase) -> SupportCase:
    world.factory.session.expire_all()
    fresh = world.factory.session.get(SupportCase, case.id)
    assert fresh is not None
    return fresh


# --- SC-4: subject and description on the page ------------------------------------------------


def test_the_edit_form_changes_subject_and_description_with_history(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_basic, subject="Loans do not renew")
    token = sign_in(client, world.east_basic)  # the opener manages their own case
    page = client.get(f"/support/cases/{case.number}").text
    assert '<input id="subject-input" name="subject" required maxlength="255" value="Loans do not renew">' in page
    assert '<label for="description-input">Description</label>' in page
    assert "Steps to reproduce: renew a loan.</textarea>" in page

    response = _post(
        client,
        f"/support/cases/{case.number}/update",
        token,
        version=_version(page),
        subject="  Renewals fail for every patron  ",
        description="Steps:\r\n1. renew\r\n2. see the error",
        status="New",
        priority="Medium",
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Case " + case.number + " updated." in page  # the flash message
    assert '<h1 id="case-title">Case ' + case.number + ": Renewals fail for every patron</h1>" in page
    fresh = _refreshed(world, case)
    assert fresh.subject == "Renewals fail for every patron"
    assert fresh.description == "Steps:\n1. renew\n2. see the error"
    label = "Bob East"
    assert _events(world, case, "subject") == [("Loans do not renew", "Renewals fail for every patron", label)]
    assert _events(world, case, "description") == [
        ("Steps to reproduce: renew a loan.", "Steps:\n1. renew\n2. see the error", label)
    ]
    assert _events(world, case, "status") == []  # unchanged fields write nothing

    # The form sent back untouched (browsers send CRLF line breaks) is no change.
    again = _post(
        client,
        f"/support/cases/{case.number}/update",
        token,
        version=_version(page),
        subject=fresh.subject,
        description=fresh.description.replace("\n", "\r\n"),
        status="New",
        priority="Medium",
    )
    assert again.status_code == 303
    assert len(_events(world, case, "description")) == 1
    assert len(_events(world, case, "subject")) == 1


def test_the_edit_form_keeps_the_version_check_and_refuses_an_empty_subject(
    client: TestClient, world: SupportWorld
) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    page = client.get(f"/support/cases/{case.number}").text
    stale = _version(page)
    # someone else changes the case through the API in between
    changed = client.patch(
        f"/api/v1/support/cases/{case.number}",
        json={"priority": "High", "version": int(stale)},
        headers=world.key(world.east_consortia),
    )
    assert changed.status_code == 200
    conflict = _post(client, f"/support/cases/{case.number}/update", token, version=stale, subject="Lost update")
    assert conflict.status_code == 409
    assert "changed by someone else" in conflict.text
    assert _refreshed(world, case).subject == "Loans do not renew"

    page = client.get(f"/support/cases/{case.number}").text
    empty = _post(client, f"/support/cases/{case.number}/update", token, version=_version(page), subject="   ")
    assert empty.status_code == 400
    assert "subject cannot be empty" in empty.text
    assert _events(world, case, "subject") == []


def test_only_those_who_manage_the_case_see_the_edit_form(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    sign_in(client, world.west_consortia)
    page = client.get(f"/support/cases/{shared.number}").text
    assert 'id="subject-input"' not in page
    assert 'id="description-input"' not in page
    closed = world.case(world.east_standard, status="Closed")
    client.cookies.clear()
    sign_in(client, world.east_standard)
    assert 'id="subject-input"' not in client.get(f"/support/cases/{closed.number}").text
    assert 'id="subject-input"' in client.get(f"/support/cases/{shared.number}").text


# --- SC-5/SC-7: taking a case back while sharing is disabled -----------------------------------


def test_a_shared_case_can_be_taken_back_while_sharing_is_disabled(client: TestClient, factory: Factory) -> None:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    own = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)

    page = client.get(f"/support/cases/{shared.number}").text
    assert 'id="share-case-button"' in page
    assert 'id="share-case-take-back"' in page
    assert '<option value="INSTITUTION">My Institution</option>' in page
    assert '<option value="CONSORTIUM"' not in page  # cannot be shared again while disabled
    fallback = client.get(f"/support/cases/{shared.number}/share")
    assert fallback.status_code == 200
    assert '<dialog id="share-case-dialog" aria-labelledby="share-case-heading" open>' in fallback.text

    assert _post(client, f"/support/cases/{shared.number}/sharing", token, share_with="CONSORTIUM").status_code == 403
    taken_back = _post(client, f"/support/cases/{shared.number}/sharing", token, share_with="INSTITUTION")
    assert taken_back.status_code == 303
    page = client.get(taken_back.headers["location"]).text
    assert '<dd id="share-with-value">My Institution</dd>' in page
    assert "<td>Share with</td><td>Northern Libraries Consortium</td><td>My Institution</td>" in page
    assert _refreshed(world, shared).share_with == "INSTITUTION"

    # Institution-only and sharing disabled: no Share Case at all, as before.
    for case in (shared, own):
        page = client.get(f"/support/cases/{case.number}").text
        assert 'id="share-case-button"' not in page
        assert 'id="share-case-dialog"' not in page
        assert client.get(f"/support/cases/{case.number}/share").status_code == 400

    # The API says the same: `can.share` (sharing with the consortium) stays false.
    answer = client.get(f"/api/v1/support/cases/{shared.number}", headers=world.key(world.east_standard)).json()
    assert answer["can"]["share"] is False


def test_with_sharing_enabled_the_pop_up_offers_both_levels(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    sign_in(client, world.east_standard)
    page = client.get(f"/support/cases/{shared.number}").text
    assert '<option value="INSTITUTION">My Institution</option>' in page
    assert '<option value="CONSORTIUM" selected>Northern Libraries Consortium</option>' in page
    assert 'id="share-case-take-back"' not in page


# --- P-6: comments and attachments write history ----------------------------------------------


def test_comments_and_attachments_write_case_history(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard, share_with="CONSORTIUM")
    token = sign_in(client, world.east_standard)
    long_text = "The renewal fails. " * 20  # 380 characters
    assert _post(client, f"/support/cases/{case.number}/comments", token, text=long_text).status_code == 303
    upload = client.post(
        f"/support/cases/{case.number}/attachments",
        data={"csrf_token": token},
        files={"file": ("error log.txt", b"stack trace", "text/plain")},
        follow_redirects=False,
    )
    assert upload.status_code == 303
    label = "Sam East"
    assert _events(world, case, "comment") == [(None, long_text.strip()[:200], label)]
    assert _events(world, case, "attachment") == [(None, "error log.txt", label)]
    page = client.get(f"/support/cases/{case.number}").text
    history = page[page.index('id="history-heading"') :]
    assert "<td>Comment</td>" in history
    # no row has an old value, so the column is left out
    assert "<td>Attachment</td><td>error log.txt</td>" in history

    # The API's verbs are the same verbs.
    headers = world.key(world.east_consortia)
    comment = client.post(f"/api/v1/support/cases/{case.number}/comments", json={"text": "Short"}, headers=headers)
    assert comment.status_code == 201
    file = {"file": ("screen.png", b"\x89PNG", "image/png")}
    attached = client.post(f"/api/v1/support/cases/{case.number}/attachments", files=file, headers=headers)
    assert attached.status_code == 201
    events = client.get(f"/api/v1/support/cases/{case.number}/history", headers=headers).json()["event"]
    assert [(e["field"], e["new"]) for e in events if e["field"] in {"comment", "attachment"}] == [
        ("comment", long_text.strip()[:200]),
        ("attachment", "error log.txt"),
        ("comment", "Short"),
        ("attachment", "screen.png"),
    ]


def test_case_history_stays_with_those_who_can_see_the_case(client: TestClient, world: SupportWorld) -> None:
    hidden = world.case(world.east_standard)
    shared = world.case(world.east_standard, share_with="CONSORTIUM")
    owner = world.key(world.east_standard)
    for case in (hidden, shared):
        added = client.post(f"/api/v1/support/cases/{case.number}/comments", json={"text": "Secret"}, headers=owner)
        assert added.status_code == 201
    partner = world.key(world.west_consortia)
    outsider = world.key(world.south_consortia)
    for path in ("/api/v1/support/cases/{n}/history", "/api/v1/history?entity=case&id={n}"):
        assert client.get(path.format(n=hidden.number), headers=partner).status_code == 404
        assert client.get(path.format(n=shared.number), headers=outsider).status_code == 404
        readable = client.get(path.format(n=shared.number), headers=partner)
        assert readable.status_code == 200
        assert "comment" in [e["field"] for e in readable.json()["event"]]

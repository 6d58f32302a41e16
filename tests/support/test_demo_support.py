"""The Support Center's demo data: built through the verbs, once, and seen through the API exactly as
the visibility rule allows (SC-6, SC-8), with licences, history and a request left for the operator."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.audit.models import SYSTEM, HistoryEvent
from consortia.db import utcnow
from consortia.demo import build_demo
from consortia.platform.auth import create_api_key
from consortia.platform.demo import DemoContext
from consortia.platform.models import Institution, User
from consortia.platform.setup import OPERATOR_ID
from consortia.support.demo import build_support_demo, case_timeline, demo_day
from consortia.support.demo_cases import SHARED, demo_cases
from consortia.support.models import CaseComment, ConsortiaLicence, SharingRequest, SupportCase

PARTNER_CASES = "/api/v1/support/list-views/partner-cases/cases"


def _headers(db: Session, primary_id: str) -> dict[str, str]:
    user = db.scalars(select(User).where(User.primary_id_key == primary_id)).one()
    _row, secret = create_api_key(db, user, actor=SYSTEM)
    db.commit()
    return {"Authorization": f"apikey {secret}"}


def _institution_of(opener: str) -> str:
    return opener.split("-")[0].upper()


def _cases(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(url, params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_record_count"] <= 100
    return list(body.get("case", []))


def _number(db: Session, subject: str) -> str:
    return db.scalars(select(SupportCase.number).where(SupportCase.subject == subject)).one()


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_the_demo_opens_its_cases_once_with_real_history(db: Session) -> None:
    build_demo(db)
    counts = {model: _count(db, model) for model in (SupportCase, CaseComment, ConsortiaLicence, HistoryEvent)}

    build_demo(db)
    east = db.scalars(select(Institution).where(Institution.code == "EAST")).one()
    build_support_demo(db, DemoContext(password_hash="unused", institutions={"EAST": east}))

    assert {model: _count(db, model) for model in counts} == counts
    subjects = [case.subject for case in demo_cases()]
    assert len(set(subjects)) == len(subjects)
    expected = Counter(_institution_of(case.opener) for case in demo_cases())
    expected["SOUTH"] += 1  # the request to enable case sharing for SCC
    found = Counter(
        db.scalars(select(Institution.code).join(SupportCase, SupportCase.institution_id == Institution.id)).all()
    )
    assert found == expected
    # Every case has the two rows that opening writes, by its opener.
    for case in db.scalars(select(SupportCase)):
        opened = [
            (e.field, e.old, e.new, e.actor_id)
            for e in db.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.entity == "case", HistoryEvent.entity_id == case.number)
                .order_by(HistoryEvent.id)
            )
        ][:2]
        assert opened[0] == ("status", None, "New", case.opened_by_id), case.subject
        assert opened[1][:2] == ("share_with", None), case.subject
        assert opened[1][2] in {"INSTITUTION", "CONSORTIUM"}
        assert opened[1][3] == case.opened_by_id
    # Sharing is never on in SCC, whose consortium has it disabled.
    south_shared = db.scalar(
        select(func.count())
        .select_from(SupportCase)
        .join(Institution, Institution.id == SupportCase.institution_id)
        .where(Institution.code == "SOUTH", SupportCase.share_with == SHARED)
    )
    assert south_shared == 0


def test_east_consortia_sees_wests_shared_cases_and_not_the_others(client: TestClient, db: Session) -> None:
    build_demo(db)
    db.commit()
    east_consortia = _headers(db, "east-consortia")
    west_cases = [case for case in demo_cases() if _institution_of(case.opener) == "WEST"]
    west_shared = {case.subject for case in west_cases if _is_shared_at_the_end(case)}
    west_unshared = {case.subject for case in west_cases} - west_shared
    assert west_shared
    assert west_unshared

    partner = _cases(client, PARTNER_CASES, east_consortia)

    subjects = {case["subject"] for case in partner}
    assert west_shared <= subjects
    assert not west_unshared & subjects
    assert {case["institution"]["value"] for case in partner} == {"EAST", "WEST", "NORTH"}
    assert all(case["share_with"]["desc"] == "Northern Libraries Consortium" for case in partner)
    assert all(
        case["can"] == {"edit": False, "comment": False, "share": False}
        for case in partner
        if case["institution"]["value"] == "WEST"
    )
    hidden = _number(db, sorted(west_unshared)[0])
    assert client.get(f"/api/v1/support/cases/{hidden}", headers=east_consortia).status_code == 404
    shown = _number(db, sorted(west_shared)[0])
    assert client.get(f"/api/v1/support/cases/{shown}", headers=east_consortia).status_code == 200


def test_south_standard_sees_no_partner_cases(client: TestClient, db: Session) -> None:
    build_demo(db)
    db.commit()
    south = _headers(db, "south-standard")

    partner = client.get(PARTNER_CASES, headers=south)
    every_visible = _cases(client, "/api/v1/support/cases", south)

    assert partner.status_code == 404
    assert every_visible
    assert {case["institution"]["value"] for case in every_visible} == {"SOUTH"}
    east_shared = _number(db, "Primo VE search times out for network zone records")
    assert client.get(f"/api/v1/support/cases/{east_shared}", headers=south).status_code == 404


def test_a_case_shared_by_mistake_shows_both_changes_in_its_history(client: TestClient, db: Session) -> None:
    build_demo(db)
    db.commit()
    number = _number(db, "Invoice export to the finance system drops currency codes")

    response = client.get(f"/api/v1/support/cases/{number}/history", headers=_headers(db, "east-standard"))

    assert response.status_code == 200, response.text
    sharing = [(e["old"], e["new"], e["actor"]) for e in response.json()["event"] if e["field"] == "share_with"]
    assert sharing == [
        (None, "INSTITUTION", "Stan Standard"),
        ("INSTITUTION", "CONSORTIUM", "Stan Standard"),
        ("CONSORTIUM", "INSTITUTION", "Stan Standard"),
    ]
    attachments = client.get(f"/api/v1/support/cases/{number}/attachments", headers=_headers(db, "east-standard"))
    assert [a["name"] for a in attachments.json()["attachment"]] == ["invoice-export-2024-06-03.xml"]
    west = _headers(db, "west-consortia")
    assert client.get(f"/api/v1/support/cases/{number}", headers=west).status_code == 404


def test_the_operator_finds_the_licences_and_resolves_the_pending_request(client: TestClient, db: Session) -> None:
    build_demo(db)
    db.commit()
    operator = _headers(db, OPERATOR_ID)

    review = client.get("/api/v1/support/access-review", params={"consortium": "NLC"}, headers=operator)
    assert review.status_code == 200, review.text
    users = {user["primary_id"]: user for user in review.json()["consortia_user"]}
    assert set(users) == {"east-consortia", "west-consortia"}
    assert all(user["granted_by"] == "Operator Support" and user["last_partner_view"] for user in users.values())

    request = db.scalars(select(SharingRequest)).one()
    case = db.get(SupportCase, request.case_id)
    assert case is not None
    assert case.subject == "Set up case sharing for Southern Colleges Consortium"  # not "Consortium consortium"
    assert case.status == "New"
    resolved = client.put(
        "/api/v1/support/consortia/SCC/case-sharing",
        json={"enabled": True, "request_case": case.number},
        headers=operator,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["case_sharing_enabled"] is True
    assert [licence["primary_id"] for licence in body["licences"]] == ["south-standard"]
    assert body["request_case"]["status"] == "Solved"


def _is_shared_at_the_end(case: Any) -> bool:
    share_with = case.share_with
    for _who, action, value in case.steps:
        if action == "share":
            share_with = value
    return bool(share_with == SHARED)


def test_the_demo_cases_are_spread_over_months_with_a_history_to_match(client: TestClient, db: Session) -> None:
    build_demo(db)
    db.commit()
    day = demo_day()
    cases = db.scalars(select(SupportCase).order_by(SupportCase.number)).all()
    stories = demo_cases()
    assert len(cases) == len(stories) + 1  # and the pending request

    # Each case opened where the timeline puts it: later numbers later, over months, all before today.
    for index, (case, story) in enumerate(zip(cases, stories, strict=False)):
        assert case.subject == story.subject
        opened, steps = case_timeline(index, len(stories), len(story.steps), day)
        assert case.created_at == opened
        assert case.updated_at == (steps[-1] if steps else opened)
    created = [case.created_at for case in cases]
    assert created == sorted(created)
    assert len(set(created)) == len(cases)
    assert created[-1] - created[0] > dt.timedelta(days=120)
    assert max(case.updated_at for case in cases) < day <= utcnow()
    assert len({case.updated_at for case in cases}) == len(cases)
    assert {case.status for case in cases} == {"New", "In Progress", "Pending Customer", "Solved", "Closed"}

    # The history, comments and attachments carry the same dates as the case.
    for case in cases:
        events = db.scalars(
            select(HistoryEvent)
            .where(HistoryEvent.entity == "case", HistoryEvent.entity_id == case.number)
            .order_by(HistoryEvent.id)
        ).all()
        assert events[0].at == case.created_at
        assert events[-1].at == case.updated_at
        assert [e.at for e in events] == sorted(e.at for e in events)
        comments = db.scalars(select(CaseComment.created_at).where(CaseComment.case_id == case.id)).all()
        assert all(case.created_at < at <= case.updated_at for at in comments)
    licences = db.scalars(select(ConsortiaLicence)).all()
    assert all(licence.granted_at < created[0] for licence in licences)

    # The default list, newest first, shows a spread of dates.
    listed = _cases(client, "/api/v1/support/cases", _headers(db, "east-standard"))
    updated = [case["updated"] for case in listed]
    assert updated == sorted(updated, reverse=True)
    assert len(set(updated)) == len(updated)

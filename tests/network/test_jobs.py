"""Purge Linked Accounts (CN-12) and Refresh Linked Accounts (CN-10, bulk) through `/almaws/v1/conf/jobs`;
jobs run at once here (`memory://` queue), inside the test's transaction."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.jobs.models import JobSchedule
from consortia.jobs.queue import session_factory_like
from consortia.jobs.schedules import run_due_schedules
from consortia.network.models import Loan
from consortia.platform.models import User
from tests.factories import days
from tests.network.conftest import NetworkWorld

JOBS = "/almaws/v1/conf/jobs"
SCHEDULE = "/api/v1/jobs/M1201/schedule"


def _linked(world: NetworkWorld, primary_id: str, source: User, **fields: object) -> User:
    return world.factory.user(
        world.east,
        primary_id,
        record_type="PUBLIC",
        password=False,
        account_type="LINKED",
        source_institution_id=source.institution_id,
        source_user_id=source.id,
        **fields,
    )


def _run(client: TestClient, world: NetworkWorld, job: str, who: str = "east_ua", **parameters: str) -> dict:  # type: ignore[type-arg]
    body = {"parameter": [{"name": {"value": k}, "value": v} for k, v in parameters.items()]}
    response = world.call(client, who, "POST", f"{JOBS}/{job}", params={"op": "run"}, json=body)
    assert response.status_code == 200, response.text
    link = response.json()["additional_info"]["link"]
    instance = world.call(client, who, "GET", link[link.index("/almaws/") :])
    return instance.json()  # type: ignore[no-any-return]


def test_purge_removes_linked_accounts_past_their_purge_date(client: TestClient, world: NetworkWorld) -> None:
    source = world["west_pat"]
    gone = [_linked(world, f"gone-{n}", source, purge_date=days(-1 - n)) for n in range(3)]
    loaned = _linked(world, "loaned", source, purge_date=days(-5))
    kept = _linked(world, "kept", source, purge_date=days(10))
    undated = _linked(world, "undated", source)
    peer = world.factory.user(
        world.east, "peer", account_type="INTERNAL", source_user_id=source.id, purge_date=days(-3)
    )
    elsewhere = world.factory.user(
        world.north, "north-linked", account_type="LINKED", source_user_id=source.id, purge_date=days(-3)
    )
    session = world.factory.session
    session.add(
        Loan(
            user_id=loaned.id,
            institution_id=world.east.id,
            library_id=world.east.libraries[0].id,
            item_barcode="X-1",
            due_date=days(3),
        )
    )
    session.add(
        Loan(
            user_id=gone[0].id,
            institution_id=world.east.id,
            library_id=world.east.libraries[0].id,
            item_barcode="X-2",
            due_date=days(-30),
            status="RETURNED",
        )
    )
    session.commit()
    gone_ids = sorted(u.primary_id for u in gone)

    instance = _run(client, world, "M1201")
    assert instance["status"]["value"] == "COMPLETED_SUCCESS", instance
    counters = {c["type"]["value"]: (c["type"]["desc"], c["value"]) for c in instance["counter"]}
    assert counters == {
        "linked_accounts_purged": ("Linked accounts purged", "3"),
        "skipped_active_loans": ("Skipped: active loans", "1"),
    }
    session.expire_all()
    remaining = set(session.scalars(select(User.primary_id).where(User.source_user_id == source.id)))
    assert remaining == {"loaned", "kept", "undated", "peer", "north-linked"}
    assert {peer.primary_id, elsewhere.primary_id, kept.primary_id, undated.primary_id} <= remaining
    history = session.scalars(select(HistoryEvent).where(HistoryEvent.job_instance_id == int(instance["id"]))).all()
    assert sorted((h.entity_id, h.field, h.new) for h in history) == [
        (primary_id, "linked_account", "purged") for primary_id in gone_ids
    ]
    assert all(h.institution_id == world.east.id for h in history)


def test_purge_is_listed_and_needs_an_administrator(client: TestClient, world: NetworkWorld) -> None:
    listed = world.get(client, "east_ua", JOBS).json()
    names = {job["id"]: job["name"] for job in listed["job"]}
    assert names["M1201"] == "Purge Linked Accounts"
    assert names["M1202"] == "Refresh Linked Accounts"
    refused = world.call(client, "east_cdo", "POST", f"{JOBS}/M1201", params={"op": "run"}, json={})
    assert refused.status_code == 403


def test_bulk_refresh_refreshes_each_linked_account(client: TestClient, world: NetworkWorld) -> None:
    for source, name in (("WEST", "west-pat"), ("NORTH", "north-pat")):
        assert world.link(client, "east_cdo", source, name).status_code == 200
    session = world.factory.session
    world["west_pat"].first_name = "Maria"
    world["north_pat"].first_name = "Norah"
    world["west_guest"].status = "ACTIVE"
    session.commit()
    instance = _run(client, world, "M1202", who="east_cdo", source_institution="WEST")
    counters = {c["type"]["value"]: c["value"] for c in instance["counter"]}
    assert counters == {"linked_accounts_refreshed": "1", "linked_accounts_not_refreshed": "0"}
    session.expire_all()
    names = dict(
        session.execute(
            select(User.primary_id, User.first_name).where(
                User.institution_id == world.east.id, User.account_type == "LINKED"
            )
        ).all()
    )
    assert names == {"west-pat.west": "Maria", "north-pat.north": "Nora"}
    # A source that may no longer be served is reported, not refreshed.
    world["north_pat"].status = "INACTIVE"
    session.commit()
    everything = _run(client, world, "M1202", who="east_cdo")
    counters = {c["type"]["value"]: c["value"] for c in everything["counter"]}
    assert counters == {"linked_accounts_refreshed": "1", "linked_accounts_not_refreshed": "1"}
    assert everything["status"]["value"] == "COMPLETED_FAILED"
    bad = world.call(
        client,
        "east_cdo",
        "POST",
        f"{JOBS}/M1202",
        params={"op": "run"},
        json={"parameter": [{"name": {"value": "source_institution"}, "value": "SOUTH"}]},
    )
    assert bad.status_code == 400


def test_purge_runs_by_its_schedule(client: TestClient, world: NetworkWorld) -> None:
    source = world["west_pat"]
    gone = {_linked(world, f"sched-gone-{n}", source, purge_date=days(-2)).primary_id for n in range(2)}
    _linked(world, "sched-kept", source, purge_date=days(10))
    session = world.factory.session
    session.commit()
    refused = world.call(client, "east_cdo", "PUT", SCHEDULE, json={"frequency": "DAILY", "time": "01:00"})
    assert refused.status_code == 403
    set_ = world.call(client, "east_ua", "PUT", SCHEDULE, json={"frequency": "DAILY", "time": "01:00"})
    assert set_.status_code == 200, set_.text
    assert set_.json()["schedule"] == {"value": "DAILY", "desc": "Every day at 01:00 (UTC)"}

    schedule = session.scalars(select(JobSchedule).where(JobSchedule.job_code == "M1201")).one()
    assert schedule.next_run_at is not None
    submitted = run_due_schedules(session_factory_like(session), now=schedule.next_run_at + dt.timedelta(minutes=1))
    assert len(submitted) == 1

    instance = world.get(client, "east_ua", f"{JOBS}/M1201/instances/{submitted[0]}").json()
    assert instance["status"]["value"] == "COMPLETED_SUCCESS", instance
    assert instance["job_info"]["type"] == {"value": "SCHEDULED", "desc": "Scheduled"}
    assert {c["type"]["value"]: c["value"] for c in instance["counter"]}["linked_accounts_purged"] == "2"
    session.expire_all()
    remaining = set(session.scalars(select(User.primary_id).where(User.source_user_id == source.id)))
    assert "sched-kept" in remaining
    assert not gone & remaining
    listed = world.get(client, "east_ua", JOBS, type="SCHEDULED").json()
    assert [job["id"] for job in listed["job"]] == ["M1201"]

"""Jobs on a schedule: when a schedule is next due, setting it (API and pages) with its history and
refusals, the due tick (once per slot, also when two ticks race), and a schedule whose person lost the
right to run the job."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import identity_for_user_id
from consortia.audit.models import HistoryEvent
from consortia.db import Database, utcnow
from consortia.errors import BadRequest
from consortia.jobs import schedules
from consortia.jobs.models import MANUAL, SCHEDULED, JobInstance, JobSchedule
from consortia.jobs.queue import set_queue, sweep
from consortia.jobs.registry import job_kind
from consortia.jobs.runner import SessionFactory
from consortia.jobs.schedules import DAILY, MONTHLY, NONE, WEEKLY, Timing, next_run, parse_timing
from consortia.platform.models import User, UserRole
from tests.factories import Factory
from tests.jobs.conftest import RecordingQueue, World
from tests.web.test_sign_in import sign_in

SCHEDULE = "/api/v1/jobs/{job}/schedule"
JOBS = "/almaws/v1/conf/jobs"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- when ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timing", "after", "expected"),
    [
        (Timing(DAILY, "02:00"), "2026-03-01 01:59", "2026-03-01 02:00"),
        (Timing(DAILY, "02:00"), "2026-03-01 02:00", "2026-03-02 02:00"),
        (Timing(DAILY, "23:59"), "2026-12-31 23:59:30", "2027-01-01 23:59"),
        (Timing(WEEKLY, "02:00", weekday=0), "2026-12-06 12:00", "2026-12-07 02:00"),  # Sunday → Monday
        (Timing(WEEKLY, "02:00", weekday=0), "2026-12-07 01:00", "2026-12-07 02:00"),
        (Timing(WEEKLY, "02:00", weekday=0), "2026-12-07 02:00", "2026-12-14 02:00"),
        (Timing(WEEKLY, "08:30", weekday=6), "2026-12-07 09:00", "2026-12-13 08:30"),
        (Timing(MONTHLY, "02:00", day=15), "2026-12-15 01:00", "2026-12-15 02:00"),
        (Timing(MONTHLY, "02:00", day=15), "2026-12-15 02:00", "2027-01-15 02:00"),
        (Timing(MONTHLY, "02:00", day=31), "2027-01-31 02:00", "2027-02-28 02:00"),  # a short month
        (Timing(MONTHLY, "02:00", day=31), "2028-02-01 00:00", "2028-02-29 02:00"),  # a leap year
        (Timing(MONTHLY, "02:00", day=31), "2027-04-01 00:00", "2027-04-30 02:00"),
        (Timing(MONTHLY, "02:00", day=30), "2027-02-28 03:00", "2027-03-30 02:00"),
        (Timing(MONTHLY, "00:00", day=1), "2026-12-31 23:00", "2027-01-01 00:00"),
    ],
)
def test_the_next_run(timing: Timing, after: str, expected: str) -> None:
    assert next_run(timing, at(after)) == at(expected)


def test_not_scheduled_has_no_next_run() -> None:
    assert next_run(Timing(NONE), at("2026-01-01 00:00")) is None


def test_timings_read_from_requests() -> None:
    assert parse_timing("daily", "2:05") == Timing(DAILY, "02:05")
    assert parse_timing("WEEKLY", "23:59", weekday="sunday") == Timing(WEEKLY, "23:59", weekday=6)
    assert parse_timing("MONTHLY", "00:00", day="31") == Timing(MONTHLY, "00:00", day=31)
    assert parse_timing("none", "whatever") == Timing(NONE)
    assert schedules.describe(Timing(DAILY, "02:00")) == "Every day at 02:00"
    assert schedules.describe(Timing(WEEKLY, "02:00", weekday=0)) == "Every Monday at 02:00"
    for bad in (
        ("HOURLY", "02:00"),
        ("DAILY", "24:00"),
        ("DAILY", "2pm"),
        ("DAILY", None),
        ("WEEKLY", "02:00", "FUNDAY"),
        ("WEEKLY", "02:00", None),
        ("MONTHLY", "02:00", None, 0),
        ("MONTHLY", "02:00", None, 32),
        ("MONTHLY", "02:00", None, "x"),
    ):
        with pytest.raises(BadRequest) as raised:
            parse_timing(*bad)
        assert raised.value.code == "40166411"


# --- setting it ---------------------------------------------------------------------------------


def _history(db: Session, institution_id: int, job: str) -> list[tuple[str, str | None, str | None, str]]:
    rows = db.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == "job_schedule", HistoryEvent.entity_id == job)
        .where(HistoryEvent.institution_id == institution_id)
        .order_by(HistoryEvent.id)
    )
    return [(r.field, r.old, r.new, r.actor) for r in rows]


def _error_code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert body["errorsExist"] is True
    return str(body["errorList"]["error"][0]["errorCode"])


def test_set_change_and_remove_a_schedule_with_history(
    client: TestClient, db: Session, factory: Factory, world: World
) -> None:
    admin = factory.key(world.east_admin)
    db.commit()
    path = SCHEDULE.format(job="M1001")
    empty = client.get(path, headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json()["frequency"] == NONE
    assert empty.json()["schedule"] == {"value": "NOT_SCHEDULED", "desc": "Not scheduled"}
    assert empty.json()["version"] == 0

    put = client.put(path, headers=admin, json={"frequency": "DAILY", "time": "02:00", "version": 0})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["schedule"] == {"value": "DAILY", "desc": "Every day at 02:00 (UTC)"}
    assert body["runs_as"]["value"] == world.east_admin.primary_id
    assert body["version"] == 1
    assert body["next_run"].endswith("02:00:00Z") or "02:00" in body["next_run"]
    assert client.get(path, headers=admin).json() == body

    job = client.get(f"{JOBS}/M1001", headers=admin).json()
    assert job["schedule"] == {"value": "DAILY", "desc": "Every day at 02:00 (UTC)"}
    assert job["next_run"] == body["next_run"]
    scheduled = client.get(JOBS, headers=admin, params={"type": "SCHEDULED"}).json()
    assert [j["id"] for j in scheduled.get("job", [])] == ["M1001"]
    manual = client.get(JOBS, headers=admin, params={"type": "MANUAL"}).json()
    assert "M1001" in [j["id"] for j in manual["job"]]
    assert client.get(JOBS, headers=admin, params={"type": "OTHER"}).json()["total_record_count"] == 0

    changed = client.put(
        path,
        headers=admin,
        json={"frequency": "WEEKLY", "weekday": "MONDAY", "time": "03:30", "parameters": {"user_group": "UNDERGRAD"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["schedule"]["desc"] == "Every Monday at 03:30 (UTC)"
    assert changed.json()["parameters"] == {"user_group": "UNDERGRAD"}
    assert changed.json()["version"] == 2
    stale = client.put(path, headers=admin, json={"frequency": "DAILY", "time": "02:00", "version": 1})
    assert stale.status_code == 409

    removed = client.delete(path, headers=admin)
    assert removed.status_code == 204
    assert client.get(path, headers=admin).json()["frequency"] == NONE
    assert client.get(f"{JOBS}/M1001", headers=admin).json()["schedule"]["value"] == "NOT_SCHEDULED"

    actor = "Erin Admin"
    api = client.get("/api/v1/history", headers=admin, params={"entity": "job_schedule", "id": "m1001"})
    assert api.status_code == 200, api.text
    assert [(e["field"], e["new"]) for e in api.json()["event"]][:2] == [
        ("schedule", "Every day at 02:00"),
        ("runs_as", world.east_admin.primary_id),
    ]
    west = factory.key(world.west_admin)
    db.commit()
    assert (
        client.get("/api/v1/history", headers=west, params={"entity": "job_schedule", "id": "M1001"}).json()[
            "total_record_count"
        ]
        == 0
    )
    unknown = client.get("/api/v1/history", headers=admin, params={"entity": "job_schedule", "id": "M9999"})
    assert unknown.status_code == 404
    assert _history(db, world.east.id, "M1001") == [
        ("schedule", None, "Every day at 02:00", actor),
        ("runs_as", None, world.east_admin.primary_id, actor),
        ("schedule", "Every day at 02:00", "Every Monday at 03:30", actor),
        ("parameters", None, "user_group=UNDERGRAD", actor),
        ("schedule", "Every Monday at 03:30", None, actor),
    ]


def test_schedule_refusals(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    admin = factory.key(world.east_admin)
    desk = factory.key(world.east_desk)
    patron = factory.key(world.east_patron)
    west = factory.key(world.west_admin)
    db.commit()
    path = SCHEDULE.format(job="M1001")
    for body in (
        {"frequency": "HOURLY", "time": "02:00"},
        {"frequency": "DAILY", "time": "25:00"},
        {"frequency": "WEEKLY", "time": "02:00", "weekday": "FUNDAY"},
        {"frequency": "MONTHLY", "time": "02:00"},
        {"frequency": "DAILY", "time": "02:00", "parameters": {"user_group": "NO_SUCH_GROUP"}},
    ):
        response = client.put(path, headers=admin, json=body)
        assert response.status_code == 400, (body, response.text)
        assert _error_code(response) == "40166411"
    bad_day = client.put(path, headers=admin, json={"frequency": "MONTHLY", "time": "02:00", "day": 40})
    assert bad_day.status_code == 400

    # Jobs that need their input chosen for each run may not be scheduled.
    for job in ("M2001", "M2101", "M2102"):
        kind = job_kind(job)
        assert kind is not None
        assert not kind.schedulable
    refused = client.put(SCHEDULE.format(job="M2101"), headers=west, json={"frequency": "DAILY", "time": "02:00"})
    assert refused.status_code == 400, refused.text
    assert "cannot be scheduled" in refused.json()["errorList"]["error"][0]["errorMessage"]

    for unknown in ("M9999", "X1", "M1"):
        for method in ("GET", "PUT", "DELETE"):
            response = client.request(
                method, SCHEDULE.format(job=unknown), headers=admin, json={"frequency": "DAILY", "time": "02:00"}
            )
            assert response.status_code == 404, (unknown, method, response.text)
            assert _error_code(response) == "402216"

    # Staff who may not run the job may read its schedule but not set or remove it.
    assert client.get(path, headers=desk).status_code == 200
    refused = client.put(path, headers=desk, json={"frequency": "DAILY", "time": "02:00"})
    assert refused.status_code == 403, refused.text
    assert client.delete(path, headers=desk).status_code == 403
    assert client.get(path, headers=patron).status_code == 403

    # Another institution's schedule is its own: west neither sees nor removes east's.
    assert client.put(path, headers=admin, json={"frequency": "DAILY", "time": "02:00"}).status_code == 200
    assert client.get(path, headers=west).json()["frequency"] == NONE
    assert client.get(f"{JOBS}/M1001", headers=west).json()["schedule"]["value"] == "NOT_SCHEDULED"
    assert client.delete(path, headers=west).status_code == 204
    assert client.get(path, headers=admin).json()["frequency"] == DAILY
    assert db.scalar(select(func.count()).select_from(JobSchedule)) == 1


# --- the tick -----------------------------------------------------------------------------------


def _set(db: Session, user: User, job: str, timing: Timing, **parameters: str) -> JobSchedule:
    identity = identity_for_user_id(db, user.id)
    assert identity is not None
    kind = job_kind(job)
    assert kind is not None
    schedule = schedules.set_schedule(db, identity, kind, timing, parameters)
    db.commit()
    return schedule


def _due_since(db: Session, schedule: JobSchedule, moment: dt.datetime) -> None:
    db.execute(update(JobSchedule).where(JobSchedule.id == schedule.id).values(next_run_at=moment))
    db.commit()


def test_a_due_schedule_is_submitted_once_as_a_scheduled_run(
    client: TestClient,
    db: Session,
    factory: Factory,
    world: World,
    sessions: SessionFactory,
    recording_queue: RecordingQueue,
) -> None:
    schedule = _set(db, world.east_admin, "M1001", Timing(DAILY, "02:00"), user_group="UNDERGRAD")
    now = utcnow()
    assert schedule.next_run_at is not None
    assert schedule.next_run_at > now
    assert schedules.run_due_schedules(sessions, now=now) == []

    # Down for three days: the slots missed give one run, and the next is the first slot after now.
    _due_since(db, schedule, now - dt.timedelta(days=3))
    submitted = schedules.run_due_schedules(sessions, now=now)
    assert len(submitted) == 1
    assert schedules.run_due_schedules(sessions, now=now) == []
    assert recording_queue.enqueued == submitted
    db.expire_all()
    instance = db.get(JobInstance, submitted[0])
    assert instance is not None
    assert (instance.run_type, instance.job_code, instance.institution_id) == (SCHEDULED, "M1001", world.east.id)
    assert instance.submitted_by_id == world.east_admin.id
    assert instance.parameters == {"user_group": "UNDERGRAD"}
    kept = db.get(JobSchedule, schedule.id)
    assert kept is not None
    assert kept.last_run_instance_id == instance.id
    assert kept.next_run_at == next_run(Timing(DAILY, "02:00"), now)

    admin = factory.key(world.east_admin)
    listed = client.get(f"{JOBS}/M1001/instances", headers=admin).json()["job_instance"]
    assert listed[0]["job_info"]["type"] == {"value": SCHEDULED, "desc": "Scheduled"}
    ran = client.post(f"{JOBS}/M1001?op=run", headers=admin, json={})
    assert ran.status_code == 200
    manual = client.get(f"{JOBS}/M1001/instances", headers=admin).json()["job_instance"][0]
    assert manual["job_info"]["type"]["value"] == MANUAL
    assert client.get(SCHEDULE.format(job="M1001"), headers=admin).json()["last_run_instance"]["value"] == str(
        instance.id
    )


def test_the_sweeper_submits_due_schedules(
    db: Session, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    schedule = _set(db, world.east_admin, "M1001", Timing(MONTHLY, "06:00", day=1))
    _due_since(db, schedule, utcnow() - dt.timedelta(seconds=1))
    sweep(sessions)
    assert len(recording_queue.enqueued) == 1
    sweep(sessions)
    assert len(recording_queue.enqueued) == 1


@pytest.mark.parametrize("loss", ["inactive", "role", "deleted"])
def test_a_schedule_whose_person_lost_the_right_submits_nothing_and_says_why(
    loss: str, db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    schedule = _set(db, world.east_admin, "M1001", Timing(WEEKLY, "04:00", weekday=2))
    admin = db.get(User, world.east_admin.id)
    assert admin is not None
    if loss == "inactive":
        admin.status = "INACTIVE"
        reason = "is inactive or expired"
    elif loss == "role":
        db.execute(
            update(UserRole)
            .where(UserRole.user_id == admin.id)
            .values(role_type=R.CIRCULATION_DESK_OPERATOR)
            .execution_options(synchronize_session=False)
        )
        reason = "Changing users needs"
    else:
        db.delete(admin)
        reason = "was deleted"
    db.commit()
    now = utcnow()
    _due_since(db, schedule, now - dt.timedelta(minutes=5))
    assert schedules.run_due_schedules(sessions, now=now) == []
    assert recording_queue.enqueued == []
    assert db.scalar(select(func.count()).select_from(JobInstance)) == 0
    db.expire_all()
    kept = db.get(JobSchedule, schedule.id)
    assert kept is not None, "the schedule is kept"
    assert kept.next_run_at == next_run(Timing(WEEKLY, "04:00", weekday=2), now)
    runs = [h for h in _history(db, world.east.id, "M1001") if h[0] == "run"]
    assert len(runs) == 1
    assert runs[0][2] is not None
    assert reason in runs[0][2]
    assert runs[0][2].startswith("Not submitted")
    assert runs[0][3] == "System"


def _one_due_schedule(database: Database) -> int:
    with database.sessionmaker() as session:
        factory = Factory(session)
        east = factory.institution(consortium=factory.consortium())
        admin = factory.user(east, roles=(R.USER_ADMINISTRATOR,))
        session.commit()
        return _set(session, admin, "M1001", Timing(DAILY, "02:00")).id


def test_a_slot_claimed_by_one_tick_waits_and_is_refused_to_the_other(fresh_database: Database) -> None:
    recording = RecordingQueue()
    set_queue(recording)
    try:
        schedule_id = _one_due_schedule(fresh_database)
        now = utcnow()
        seen = now - dt.timedelta(hours=1)
        with fresh_database.sessionmaker() as session:
            session.execute(update(JobSchedule).where(JobSchedule.id == schedule_id).values(next_run_at=seen))
            session.commit()
        due = schedules.Due(schedule_id, seen, Timing(DAILY, "02:00"))
        second: list[int | None] = []

        def other_tick() -> None:
            with fresh_database.sessionmaker() as other:
                second.append(schedules.run_due_schedule(other, due, now))
                other.commit()

        with fresh_database.sessionmaker() as first:
            assert schedules.run_due_schedule(first, due, now) is not None  # claimed, not yet committed
            thread = threading.Thread(target=other_tick)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive(), "the other tick waits for the first one's claim"
            first.commit()
        thread.join(timeout=30)
        assert second == [None]
        assert len(recording.enqueued) == 1
    finally:
        set_queue(None)


def _race(database: Database, now: dt.datetime) -> tuple[list[list[int]], list[BaseException]]:
    """Two ticks at the same moment, each in its own thread with its own sessions."""
    barrier = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(schedules.run_due_schedules(database.sessionmaker, now=now))
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_two_racing_ticks_submit_a_due_schedule_once(fresh_database: Database) -> None:
    recording = RecordingQueue()
    set_queue(recording)
    try:
        schedule_id = _one_due_schedule(fresh_database)
        for round_no in range(4):
            now = utcnow()
            with fresh_database.sessionmaker() as session:
                session.execute(
                    update(JobSchedule)
                    .where(JobSchedule.id == schedule_id)
                    .values(next_run_at=now - dt.timedelta(minutes=1 + round_no))
                )
                session.commit()
            results, errors = _race(fresh_database, now)
            assert not errors
            assert sorted(len(r) for r in results) == [0, 1], (round_no, results)
        with fresh_database.sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(JobInstance)) == 4
            assert len(recording.enqueued) == 4
    finally:
        set_queue(None)


# --- pages --------------------------------------------------------------------------------------


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_the_schedule_form_on_monitor_jobs(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    assert sign_in(client, world.east_admin.primary_id) == 303
    page = client.get("/jobs")
    assert page.status_code == 200
    assert 'action="/jobs/M1001/schedule"' in page.text
    token = _csrf(page.text)
    saved = client.post(
        "/jobs/M1001/schedule",
        data={"csrf_token": token, "frequency": "MONTHLY", "day": "31", "time": "05:15", "param_user_group": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = client.get("/jobs")
    assert "Every month on day 31 at 05:15 (the last day in shorter months) (UTC)" in page.text
    bad = client.post("/jobs/M1001/schedule", data={"csrf_token": token, "frequency": "DAILY", "time": "99:99"})
    assert bad.status_code == 400
    assert "time 99:99" in bad.text
    unknown = client.post("/jobs/M9999/schedule", data={"csrf_token": token, "frequency": "DAILY", "time": "02:00"})
    assert unknown.status_code == 404
    removed = client.post("/jobs/M1001/schedule", data={"csrf_token": token, "remove": "1"}, follow_redirects=False)
    assert removed.status_code == 303
    assert db.scalar(select(func.count()).select_from(JobSchedule)) == 0


def test_staff_who_may_not_run_the_job_get_no_schedule_form(
    client: TestClient, db: Session, factory: Factory, world: World
) -> None:
    assert sign_in(client, world.east_desk.primary_id) == 303
    page = client.get("/jobs")
    assert page.status_code == 200
    assert 'action="/jobs/M1001/schedule"' not in page.text
    refused = client.post(
        "/jobs/M1001/schedule", data={"csrf_token": _csrf(page.text), "frequency": "DAILY", "time": "02:00"}
    )
    assert refused.status_code == 403
    assert db.scalar(select(func.count()).select_from(JobSchedule)) == 0

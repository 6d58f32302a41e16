"""The runner and the queue hand-over: enqueue after commit only, claims, leases, recovery (P-7, R-1)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import utcnow
from consortia.jobs import registry
from consortia.jobs.models import COMPLETED_FAILED, COMPLETED_SUCCESS, FAILED, QUEUED, RUNNING, JobEvent, JobInstance
from consortia.jobs.queue import recover_expired, split_queue_name
from consortia.jobs.runner import (
    MAX_ATTEMPTS,
    LeaseLost,
    SessionFactory,
    SubmitterMayNotAct,
    claim,
    run_instance,
    work_chunk,
)
from consortia.jobs.service import submit
from consortia.platform.jobs import DEACTIVATE_EXPIRED_USERS, USERS_DEACTIVATED
from consortia.platform.models import User
from tests.factories import Factory, days
from tests.jobs.conftest import RecordingQueue, World, expired_patrons


def _m1001() -> registry.JobKind:
    kind = registry.job_kind(DEACTIVATE_EXPIRED_USERS)
    assert kind is not None
    return kind


def _instance(sessions: SessionFactory, instance_id: int) -> JobInstance:
    with sessions() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


def _history_per_user(db: Session, instance_id: int) -> dict[str, int]:
    rows = db.execute(
        select(HistoryEvent.entity_id, func.count())
        .where(HistoryEvent.job_instance_id == instance_id, HistoryEvent.entity == "user")
        .group_by(HistoryEvent.entity_id)
    )
    return {row[0]: row[1] for row in rows}


def test_submit_enqueues_only_after_commit(db: Session, world: World, recording_queue: RecordingQueue) -> None:
    db.commit()
    admin = identity_of(world.east_admin)
    rolled_back = submit(db, admin, _m1001(), {})
    assert rolled_back.status == QUEUED
    assert recording_queue.enqueued == []  # nothing before the commit
    db.rollback()
    assert recording_queue.enqueued == []  # nor after a rollback
    assert db.scalar(select(func.count()).select_from(JobInstance).where(JobInstance.id == rolled_back.id)) == 0

    kept = submit(db, admin, _m1001(), {})
    db.begin_nested().commit()  # a savepoint's commit is not the transaction's
    assert recording_queue.enqueued == []
    db.commit()
    assert recording_queue.enqueued == [kept.id]


def test_a_job_handed_over_twice_runs_once(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    users = expired_patrons(factory, world.east, 4)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    assert run_instance(sessions, instance.id) == "finished"
    assert run_instance(sessions, instance.id) == "not_claimed"
    done = _instance(sessions, instance.id)
    assert done.status == COMPLETED_SUCCESS
    assert done.attempts == 1
    assert done.counters[USERS_DEACTIVATED] == 4
    assert _history_per_user(db, instance.id) == {u.primary_id: 1 for u in users}


def test_a_live_lease_keeps_other_runners_out(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    expired_patrons(factory, world.east, 2)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    assert claim(sessions, instance.id, "runner-a", 60)
    assert not claim(sessions, instance.id, "runner-b", 60)
    assert run_instance(sessions, instance.id) == "not_claimed"
    assert _instance(sessions, instance.id).lease_owner == "runner-a"


def test_expired_lease_is_recovered_and_resumes_from_the_checkpoint(
    db: Session,
    factory: Factory,
    world: World,
    sessions: SessionFactory,
    recording_queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSORTIA_JOB_CHUNK_SIZE", "2")
    users = expired_patrons(factory, world.east, 5)
    factory.user(world.east, record_type="PUBLIC", password=False, expiry_date=days(5))  # not expired
    factory.user(world.east, record_type="PUBLIC", password=False, expiry_date=days(-3), status="INACTIVE")
    expired_patrons(factory, world.west, 2)  # another institution's
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()

    # A runner does one chunk, then dies (its lease is left to expire).
    assert claim(sessions, instance.id, "dead-runner", 60)
    assert work_chunk(sessions, instance.id, "dead-runner", 60) is False
    midway = _instance(sessions, instance.id)
    assert midway.counters[USERS_DEACTIVATED] == 2
    assert midway.checkpoint is not None
    assert midway.checkpoint["after_id"] == users[1].id
    assert 0 < midway.progress < 100

    # While the lease is live nobody recovers it.
    assert recover_expired(db) == []
    with sessions() as session:
        session.execute(
            update(JobInstance)
            .where(JobInstance.id == instance.id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        session.commit()
    recording_queue.waiting = {instance.id}
    assert recover_expired(db) == []  # still waiting in the queue: not handed over twice
    recording_queue.waiting = set()
    assert recover_expired(db) == [instance.id]
    db.commit()
    assert recording_queue.enqueued[-1] == instance.id

    assert run_instance(sessions, instance.id) == "finished"
    # The dead runner, were it to wake up, can no longer commit anything.
    with pytest.raises(LeaseLost):
        work_chunk(sessions, instance.id, "dead-runner", 60)

    done = _instance(sessions, instance.id)
    assert done.status == COMPLETED_SUCCESS
    assert done.attempts == 2
    assert done.progress == 100
    assert done.counters[USERS_DEACTIVATED] == 5
    assert done.lease_owner is None
    assert "Users deactivated: 5" in done.report
    assert _history_per_user(db, instance.id) == {u.primary_id: 1 for u in users}
    db.expire_all()
    statuses = {
        row.id: row.status
        for row in db.execute(select(User.id, User.status).where(User.institution_id == world.east.id))
    }
    assert [statuses[u.id] for u in users] == ["INACTIVE"] * 5
    assert list(statuses.values()).count("ACTIVE") == 4  # the three staff and the unexpired patron
    versions = set(db.scalars(select(User.version).where(User.id.in_([u.id for u in users]))))
    assert versions == {2}  # each changed exactly once (R-4's version moves with it)
    west = db.scalars(select(User.status).where(User.institution_id == world.west.id)).all()
    assert "INACTIVE" not in west


def test_queued_instances_that_never_reached_the_queue_are_handed_over(
    db: Session, world: World, recording_queue: RecordingQueue
) -> None:
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    recording_queue.enqueued.clear()
    assert recover_expired(db) == []  # submitted a moment ago: give the queue its minute
    db.execute(
        update(JobInstance).where(JobInstance.id == instance.id).values(submit_time=utcnow() - dt.timedelta(minutes=5))
    )
    recording_queue.waiting = {instance.id}
    assert recover_expired(db) == []
    recording_queue.waiting = set()
    assert recover_expired(db) == [instance.id]
    db.commit()
    assert recording_queue.enqueued == [instance.id]


def test_an_instance_whose_runners_keep_dying_fails(
    db: Session, world: World, recording_queue: RecordingQueue, sessions: SessionFactory
) -> None:
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.flush()
    db.execute(
        update(JobInstance)
        .where(JobInstance.id == instance.id)
        .values(status=RUNNING, attempts=MAX_ATTEMPTS, lease_owner="x", lease_expires_at=utcnow() - dt.timedelta(1))
    )
    db.commit()
    recording_queue.enqueued.clear()
    assert recover_expired(db) == []
    db.commit()
    assert recording_queue.enqueued == []
    failed = _instance(sessions, instance.id)
    assert failed.status == FAILED
    assert f"{MAX_ATTEMPTS} times" in failed.report
    assert not claim(sessions, instance.id, "late", 60)


def test_a_stopping_runner_gives_the_instance_back(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    expired_patrons(factory, world.east, 1)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    stop = threading.Event()
    stop.set()
    assert run_instance(sessions, instance.id, stop=stop) == "stopped"
    back = _instance(sessions, instance.id)
    assert (back.status, back.lease_owner, back.attempts) == (QUEUED, None, 1)
    assert run_instance(sessions, instance.id) == "finished"


@pytest.fixture
def test_kinds() -> object:
    def explode(session: Session, instance: JobInstance, checkpoint: dict[str, object] | None) -> registry.ChunkResult:
        raise RuntimeError("disk on fire\nTraceback (most recent call last): secret internals")

    def notes(session: Session, instance: JobInstance, checkpoint: dict[str, object] | None) -> registry.ChunkResult:
        step = int((checkpoint or {}).get("step", 0)) + 1
        events = [registry.JobEventNote(registry.ERROR, f"Record {step} is malformed.", step)] if step == 2 else []
        return registry.ChunkResult(
            checkpoint={"step": step}, done=step == 3, progress=step * 33, counters={"seen": 1}, events=events
        )

    from consortia.access.permissions import Permission as P

    registry.register_job_kind(
        registry.JobKind(
            job_id="M9101",
            name="Exploding test job",
            description="Raises.",
            category="TEST",
            category_desc="Test",
            run_chunk=explode,
            permission=P.USER_EDIT,
        )
    )
    registry.register_job_kind(
        registry.JobKind(
            job_id="M9102",
            name="Noting test job",
            description="Reports an error event.",
            category="TEST",
            category_desc="Test",
            run_chunk=notes,
            permission=P.USER_EDIT,
            counters=(registry.CounterDefinition("seen", "Records seen", "Every record read."),),
        )
    )
    yield
    registry.unregister_job_kind("M9101")
    registry.unregister_job_kind("M9102")


@pytest.mark.usefixtures("test_kinds")
def test_an_exception_fails_the_job_with_a_message_and_no_traceback(
    db: Session, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    kind = registry.job_kind("M9101")
    assert kind is not None
    instance = submit(db, identity_of(world.east_admin), kind, {})
    db.commit()
    assert run_instance(sessions, instance.id) == "finished"
    failed = _instance(sessions, instance.id)
    assert failed.status == FAILED
    assert "disk on fire" in failed.report
    assert "Traceback" not in failed.report
    assert failed.lease_owner is None


@pytest.mark.usefixtures("test_kinds")
def test_record_errors_end_completed_with_errors(
    db: Session, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    kind = registry.job_kind("M9102")
    assert kind is not None
    instance = submit(db, identity_of(world.east_admin), kind, {})
    db.commit()
    assert run_instance(sessions, instance.id) == "finished"
    done = _instance(sessions, instance.id)
    assert done.status == COMPLETED_FAILED
    assert done.counters == {"seen": 3}
    assert "Records with errors: 1" in done.report
    events = db.scalars(select(JobEvent).where(JobEvent.job_instance_id == instance.id)).all()
    assert [(e.type, e.record) for e in events] == [("ERROR", 2)]


def test_kinds_are_registered_with_a_permission_and_a_proper_id() -> None:
    def nothing(session: Session, instance: JobInstance, checkpoint: dict[str, object] | None) -> registry.ChunkResult:
        return registry.ChunkResult(checkpoint=None, done=True)

    with pytest.raises(ValueError, match="M1001"):
        registry.register_job_kind(
            registry.JobKind(
                job_id="1001",
                name="x",
                description="",
                category="X",
                category_desc="X",
                run_chunk=nothing,
                may_run=lambda *_: None,  # type: ignore[arg-type,return-value]
            )
        )
    with pytest.raises(ValueError, match="permission"):
        registry.register_job_kind(
            registry.JobKind(
                job_id="M9103", name="x", description="", category="X", category_desc="X", run_chunk=nothing
            )
        )
    with pytest.raises(ValueError, match="already used"):
        registry.register_job_kind(
            registry.JobKind(
                job_id=DEACTIVATE_EXPIRED_USERS,
                name="Something else",
                description="",
                category="X",
                category_desc="X",
                run_chunk=nothing,
                may_run=lambda *_: None,  # type: ignore[arg-type,return-value]
            )
        )


def test_who_monitors_jobs_check_and_filter_agree(
    db: Session, factory: Factory, world: World, recording_queue: RecordingQueue
) -> None:
    """JOB_READ's two faces: `allows` on an instance holds exactly for the instances `where` selects."""
    from consortia.access.permissions import Permission as P
    from consortia.access.policy import allows, where

    east = submit(db, identity_of(world.east_admin), _m1001(), {})
    west = submit(db, identity_of(world.west_admin), _m1001(), {})
    db.flush()
    instances = [east, west]
    people = [world.east_admin, world.east_desk, world.east_patron, world.west_admin, world.operator]
    people.append(factory.user(world.east, password=False))  # no role at all
    seen = {}
    for person in people:
        identity = identity_of(person)
        selected = set(
            db.scalars(
                select(JobInstance.id).where(
                    JobInstance.id.in_([i.id for i in instances]), where(identity, P.JOB_READ, JobInstance)
                )
            )
        )
        assert selected == {i.id for i in instances if allows(identity, P.JOB_READ, i)}
        seen[person.id] = selected
    assert seen[world.east_desk.id] == {east.id}
    assert seen[world.east_patron.id] == set()
    assert seen[people[-1].id] == set()
    assert seen[world.operator.id] == {east.id, west.id}


def test_command_line_views(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    from rich.console import Console

    from consortia.jobs.service import describe_instance, recent_instances

    expired_patrons(factory, world.east, 2)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    run_instance(sessions, instance.id)
    db.expire_all()
    rows = recent_instances(db, limit=5)
    assert rows[0][:5] == (
        instance.id,
        "M1001 Deactivate Expired Users",
        world.east.code,
        "Completed Successfully",
        "100%",
    )
    console = Console(width=160, record=True)
    console.print(describe_instance(db, instance.id))
    text = console.export_text()
    assert "Users deactivated" in text
    assert "Completed Successfully" in text
    console.print(describe_instance(db, 2**31 - 1))
    assert "was not found" in console.export_text()


# --- a job acts for its submitter while the submitter may act -----------------------------------


def _half_done_by_the_admin(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> tuple[JobInstance, list[User]]:
    """An M1001 run submitted by EAST's User Administrator, one chunk of two patrons done."""
    monkeypatch.setenv("CONSORTIA_JOB_CHUNK_SIZE", "2")
    users = expired_patrons(factory, world.east, 5)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    assert claim(sessions, instance.id, "runner", 60)
    assert work_chunk(sessions, instance.id, "runner", 60) is False
    return instance, users


def _run_on(sessions: SessionFactory, instance: JobInstance) -> None:
    """The runner that did the first chunk is refused the next one; the runner that takes the instance over
    (its lease expired) stops it as FAILED with the reason."""
    with pytest.raises(SubmitterMayNotAct):
        work_chunk(sessions, instance.id, "runner", 60)
    with sessions() as session:
        session.execute(
            update(JobInstance)
            .where(JobInstance.id == instance.id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        session.commit()
    assert run_instance(sessions, instance.id) == "finished"


def _still_active(db: Session, users: list[User]) -> int:
    db.expire_all()
    statuses = db.scalars(select(User.status).where(User.id.in_([u.id for u in users]))).all()
    return list(statuses).count("ACTIVE")


def _operator_call(client: TestClient, factory: Factory, world: World, method: str, path: str, **kw: Any) -> Any:
    return client.request(
        method, path, headers=factory.key(world.operator), params={"institution": world.east.code}, **kw
    )


def test_a_job_stops_when_its_submitter_is_inactivated(
    client: TestClient,
    db: Session,
    factory: Factory,
    world: World,
    sessions: SessionFactory,
    recording_queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance, users = _half_done_by_the_admin(db, factory, world, sessions, monkeypatch)
    path = f"/almaws/v1/users/{world.east_admin.primary_id}"
    current = _operator_call(client, factory, world, "GET", path).json()
    inactivated = _operator_call(client, factory, world, "PUT", path, json={**current, "status": {"value": "INACTIVE"}})
    assert inactivated.status_code == 200, inactivated.text
    _run_on(sessions, instance)
    stopped = _instance(sessions, instance.id)
    assert stopped.status == FAILED
    assert stopped.report == (
        f"The job stopped: the account of {world.east_admin.primary_id}, who submitted it, is inactive or expired."
    )
    assert stopped.counters[USERS_DEACTIVATED] == 2  # the chunk done before; nothing after
    assert stopped.lease_owner is None
    assert _still_active(db, users) == 3


def test_a_job_stops_when_its_submitter_is_deleted(
    client: TestClient,
    db: Session,
    factory: Factory,
    world: World,
    sessions: SessionFactory,
    recording_queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance, users = _half_done_by_the_admin(db, factory, world, sessions, monkeypatch)
    deleted = _operator_call(client, factory, world, "DELETE", f"/almaws/v1/users/{world.east_admin.primary_id}")
    assert deleted.status_code == 204, deleted.text
    _run_on(sessions, instance)
    stopped = _instance(sessions, instance.id)
    assert stopped.status == FAILED
    assert f"the account of {world.east_admin.primary_id}, who submitted it, was deleted" in stopped.report
    assert _still_active(db, users) == 3


def test_a_job_stops_when_its_submitter_loses_the_role(
    client: TestClient,
    db: Session,
    factory: Factory,
    world: World,
    sessions: SessionFactory,
    recording_queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance, users = _half_done_by_the_admin(db, factory, world, sessions, monkeypatch)
    path = f"/almaws/v1/users/{world.east_admin.primary_id}"
    current = _operator_call(client, factory, world, "GET", path).json()
    desk = [{"role_type": {"value": "CIRCULATION_DESK_OPERATOR"}, "scope": {"value": world.east.code}}]
    changed = _operator_call(client, factory, world, "PUT", path, json={**current, "user_role": desk})
    assert changed.status_code == 200, changed.text
    _run_on(sessions, instance)
    stopped = _instance(sessions, instance.id)
    assert stopped.status == FAILED
    assert "may no longer run Deactivate Expired Users: Changing users needs" in stopped.report
    assert _still_active(db, users) == 3


def test_a_user_administrators_run_spares_gsas_and_ends_sessions(
    db: Session, factory: Factory, world: World, sessions: SessionFactory, recording_queue: RecordingQueue
) -> None:
    """M1001 changes only the users its submitter may change (P-4), and the deactivated lose their sessions."""
    from consortia.platform.auth import create_web_session
    from consortia.platform.models import WebSession

    patron = expired_patrons(factory, world.east, 1)[0]
    gsa = factory.user(world.east, roles=("GENERAL_SYSTEM_ADMINISTRATOR",), expiry_date=days(-1))
    create_web_session(db, patron, 8)
    instance = submit(db, identity_of(world.east_admin), _m1001(), {})
    db.commit()
    assert run_instance(sessions, instance.id) == "finished"
    db.expire_all()
    assert db.scalars(select(User.status).where(User.id == patron.id)).one() == "INACTIVE"
    assert db.scalars(select(User.status).where(User.id == gsa.id)).one() == "ACTIVE"
    assert db.scalars(select(WebSession.id).where(WebSession.user_id == patron.id)).all() == []
    assert _instance(sessions, instance.id).counters[USERS_DEACTIVATED] == 1
    # The operator's run changes the GSA too.
    again = submit(db, identity_of(world.operator).acting_in(world.east.id), _m1001(), {})
    db.commit()
    assert run_instance(sessions, again.id) == "finished"
    db.expire_all()
    assert db.scalars(select(User.status).where(User.id == gsa.id)).one() == "INACTIVE"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6379/0", ("redis://h:6379/0", "consortia")),
        ("redis://h:6379/0?queue=nlc", ("redis://h:6379/0", "nlc")),
        ("redis://h:6379/0?queue=nlc&socket_timeout=3", ("redis://h:6379/0?socket_timeout=3", "nlc")),
        ("redis://h:6379/0?queue=", ("redis://h:6379/0", "consortia")),
    ],
)
def test_a_redis_url_may_name_its_queue(url: str, expected: tuple[str, str]) -> None:
    assert split_queue_name(url) == expected

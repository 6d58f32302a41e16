"""R-1 for real: a worker process killed with SIGKILL in the middle of a job, and a new one that
finishes it — every user changed once, one history row each, the counter right. Also the embedded
consumer (threads inside the server process, no signal handlers). Fresh databases, real queues."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.config import load_settings
from consortia.db import Database, get_database, set_database
from consortia.jobs.models import COMPLETED_SUCCESS, RUNNING, JobInstance
from consortia.jobs.queue import JobQueue, queue_for, set_queue, start_embedded
from consortia.jobs.registry import job_kind
from consortia.jobs.runner import run_instance
from consortia.jobs.service import submit
from consortia.platform.jobs import DEACTIVATE_EXPIRED_USERS, USERS_DEACTIVATED
from consortia.platform.models import User
from tests.factories import Factory
from tests.jobs.conftest import RecordingQueue

pytestmark = pytest.mark.slow

USERS = 3000
REDIS_URL = "redis://127.0.0.1:6379/15"
# Each test takes a queue of its own, so that runs sharing this Redis (the two databases' runs, xdist
# workers) never take each other's jobs.


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except Exception:
        return False


def _queue_url(kind: str, tmp_path: Path) -> str:
    if kind == "redis":
        if not _redis_reachable():
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("Redis is required under CI=true and is not reachable at 127.0.0.1:6379")
            pytest.skip("Redis is not reachable at 127.0.0.1:6379")
        return f"{REDIS_URL}?queue=consortia-test-{uuid.uuid4().hex[:12]}"
    return f"sqlite:///{tmp_path / 'queue.db'}"


def _submit_expiry_job(database: Database, queue: str | JobQueue, users: int) -> int:
    """An institution with `users` expired patrons and the job submitted; the id reaches the queue."""
    yesterday = dt.date.today() - dt.timedelta(days=1)
    set_queue(queue_for(queue) if isinstance(queue, str) else queue)
    try:
        with database.session() as session:
            factory = Factory(session)
            institution = factory.institution(f"KILL{os.getpid()}")
            admin = factory.user(institution, roles=(R.USER_ADMINISTRATOR,))
            session.execute(
                insert(User),
                [
                    {
                        "institution_id": institution.id,
                        "primary_id": f"patron-{n:05d}",
                        "primary_id_key": f"patron-{n:05d}",
                        "record_type": "PUBLIC",
                        "status": "ACTIVE",
                        "first_name": "Expired",
                        "last_name": f"Patron {n}",
                        "expiry_date": yesterday,
                    }
                    for n in range(users)
                ],
            )
            kind = job_kind(DEACTIVATE_EXPIRED_USERS)
            assert kind is not None
            instance = submit(session, identity_of(admin), kind, {})
            instance_id = instance.id
    finally:
        set_queue(None)
    return instance_id


def _read(database: Database, instance_id: int) -> JobInstance:
    with database.session() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


def _wait_for(check: Callable[[], bool], seconds: float, what: str, logs: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    found = ""
    if logs is not None:
        found = "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"gave up waiting for {what}\n{found}")


def _assert_done_exactly_once(database: Database, instance_id: int, users: int) -> None:
    done = _read(database, instance_id)
    assert done.status == COMPLETED_SUCCESS, done.report
    assert done.progress == 100
    assert done.counters[USERS_DEACTIVATED] == users
    assert f"Users deactivated: {users}" in done.report
    with database.session() as session:
        statuses = session.execute(
            select(User.status, User.version, func.count())
            .where(User.primary_id.like("patron-%"), User.institution_id == done.institution_id)
            .group_by(User.status, User.version)
        ).all()
        assert [tuple(row) for row in statuses] == [("INACTIVE", 2, users)]  # each changed exactly once
        per_user = (
            select(HistoryEvent.entity_id, func.count().label("n"))
            .where(HistoryEvent.job_instance_id == instance_id)
            .group_by(HistoryEvent.entity_id)
            .subquery()
        )
        shape = session.execute(select(per_user.c.n, func.count()).group_by(per_user.c.n)).all()
        assert [tuple(row) for row in shape] == [(1, users)]  # one history row per user, no more


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("queue_kind", ["sqlite", "redis"])
def test_a_killed_worker_is_replaced_and_nothing_is_done_twice(
    fresh_database: Database, tmp_path: Path, queue_kind: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    queue_url = _queue_url(queue_kind, tmp_path)
    instance_id = _submit_expiry_job(fresh_database, queue_url, USERS)
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database.url,
        "CONSORTIA_QUEUE_URL": queue_url,
        "CONSORTIA_VAR_DIR": str(tmp_path / "var"),
        "CONSORTIA_JOB_LEASE_SECONDS": "2",
        "CONSORTIA_JOB_CHUNK_SIZE": "100",
        "CONSORTIA_JOB_CHUNK_DELAY": "0.15",
    }
    command = [sys.executable, "-m", "consortia", "worker", "--threads", "1"]

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    first = start("first-worker")
    _wait_for(lambda: _read(fresh_database, instance_id).progress > 0, 30, "the first worker's progress", tmp_path)
    time.sleep(0.2)  # into the next chunk, whose transaction is open while it waits
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed = _read(fresh_database, instance_id)
    assert killed.status == RUNNING, "the job finished before the worker was killed: nothing was tested"
    assert 0 < killed.counters[USERS_DEACTIVATED] < USERS

    # A new worker picks the job up once the dead one's lease expires, and resumes it. Stopped with
    # SIGTERM, it finishes its chunk and gives the instance back to the queue...
    second = start("second-worker")
    _wait_for(
        lambda: _read(fresh_database, instance_id).counters[USERS_DEACTIVATED] > killed.counters[USERS_DEACTIVATED],
        30,
        "the second worker to resume the job",
        tmp_path,
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    assert "Shutting down gracefully" in (tmp_path / "second-worker.log").read_text()
    given_back = _read(fresh_database, instance_id)
    assert (given_back.status, given_back.lease_owner) == ("QUEUED", None)
    assert given_back.counters[USERS_DEACTIVATED] < USERS

    # ... which a third worker finishes at once.
    third = start("third-worker")
    _wait_for(
        lambda: _read(fresh_database, instance_id).status == COMPLETED_SUCCESS,
        60,
        "the third worker to finish the job",
        tmp_path,
    )
    assert _read(fresh_database, instance_id).attempts == 3
    _assert_done_exactly_once(fresh_database, instance_id, USERS)
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=20) == 0


def test_the_embedded_consumer_runs_jobs_inside_the_server_process(fresh_database: Database, tmp_path: Path) -> None:
    queue_url = f"sqlite:///{tmp_path / 'embedded-queue.db'}"
    settings = load_settings(
        database_url=fresh_database.url, queue_url=queue_url, var_dir=tmp_path, secret_key="embedded"
    )
    previous = get_database()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    set_database(fresh_database)
    embedded = start_embedded(settings)
    try:
        assert embedded is not None
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers  # the server keeps its own
        instance_id = _submit_expiry_job(fresh_database, queue_url, 250)
        _wait_for(lambda: _read(fresh_database, instance_id).status == COMPLETED_SUCCESS, 30, "the embedded run")
        _assert_done_exactly_once(fresh_database, instance_id, 250)
    finally:
        if embedded is not None:
            started = time.monotonic()
            embedded.stop()
            assert time.monotonic() - started < 15
        set_database(previous)
    assert (
        start_embedded(
            load_settings(database_url=fresh_database.url, queue_url="memory://", var_dir=tmp_path, secret_key="x")
        )
        is None
    )


def test_runners_racing_for_one_instance_run_it_once(fresh_database: Database) -> None:
    """A job handed to the queue several times, and taken by several runners at the same moment."""
    instance_id = _submit_expiry_job(fresh_database, RecordingQueue(), 500)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def runner() -> None:
        barrier.wait()
        outcomes.append(run_instance(fresh_database.sessionmaker, instance_id))

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["finished", "not_claimed", "not_claimed", "not_claimed"]
    assert _read(fresh_database, instance_id).attempts == 1
    _assert_done_exactly_once(fresh_database, instance_id, 500)

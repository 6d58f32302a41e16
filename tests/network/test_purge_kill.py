"""R-1 for the purge (CN-12): a worker killed with SIGKILL in the middle of Purge Linked Accounts, and a
new one that finishes it — every account purged once, one history row each, counters exact."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.jobs.models import COMPLETED_SUCCESS, RUNNING, JobInstance
from consortia.jobs.queue import queue_for, set_queue
from consortia.jobs.registry import job_kind
from consortia.jobs.service import submit
from consortia.network.jobs import PURGE_LINKED_ACCOUNTS, PURGED, SKIPPED_LOANS
from consortia.network.models import Loan
from consortia.platform.models import User
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

ACCOUNTS = 2000
LOANED = 50  # every 40th account has an active loan


def _submit(database: Database, queue_url: str) -> tuple[int, int]:
    """An institution with ACCOUNTS linked accounts past their purge date; the job submitted."""
    past = dt.date.today() - dt.timedelta(days=1)
    set_queue(queue_for(queue_url))
    try:
        with database.session() as session:
            factory = Factory(session)
            home = factory.institution(f"HOME{os.getpid()}")
            here = factory.institution(f"HERE{os.getpid()}")
            source = factory.user(home, "source", record_type="PUBLIC")
            admin = factory.user(here, roles=(R.USER_ADMINISTRATOR,))
            session.execute(
                insert(User),
                [
                    {
                        "institution_id": here.id,
                        "primary_id": f"linked-{n:05d}",
                        "primary_id_key": f"linked-{n:05d}",
                        "record_type": "PUBLIC",
                        "account_type": "LINKED",
                        "last_name": f"Walk-in {n}",
                        "source_institution_id": home.id,
                        "source_user_id": source.id,
                        "purge_date": past,
                    }
                    for n in range(ACCOUNTS)
                ],
            )
            loaned = session.scalars(
                select(User.id).where(User.institution_id == here.id, User.account_type == "LINKED").order_by(User.id)
            ).all()[::40]
            library = here.libraries[0].id
            session.execute(
                insert(Loan),
                [
                    {
                        "user_id": uid,
                        "institution_id": here.id,
                        "library_id": library,
                        "item_barcode": f"I{uid}",
                        "due_date": past + dt.timedelta(days=30),
                        "status": "ACTIVE",
                    }
                    for uid in loaned
                ],
            )
            kind = job_kind(PURGE_LINKED_ACCOUNTS)
            assert kind is not None
            instance = submit(session, identity_of(admin), kind, {})
            return instance.id, here.id
    finally:
        set_queue(None)


def _read(database: Database, instance_id: int) -> JobInstance:
    with database.session() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


def _wait_for(check, seconds: float, what: str, logs: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    found = "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"gave up waiting for {what}\n{found}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_a_killed_purge_resumes_and_purges_each_account_once(
    fresh_database: Database,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    instance_id, here_id = _submit(fresh_database, queue_url)
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
    assert 0 < killed.counters[PURGED] < ACCOUNTS - LOANED

    second = start("second-worker")
    _wait_for(lambda: _read(fresh_database, instance_id).status == COMPLETED_SUCCESS, 60, "the second worker", tmp_path)
    done = _read(fresh_database, instance_id)
    assert done.counters[PURGED] == ACCOUNTS - LOANED
    assert done.counters[SKIPPED_LOANS] == LOANED
    assert done.attempts == 2
    with fresh_database.session() as session:
        left = session.scalar(
            select(func.count()).select_from(User).where(User.institution_id == here_id, User.account_type == "LINKED")
        )
        assert left == LOANED
        per_user = (
            select(HistoryEvent.entity_id, func.count().label("n"))
            .where(HistoryEvent.job_instance_id == instance_id)
            .group_by(HistoryEvent.entity_id)
            .subquery()
        )
        shape = session.execute(select(per_user.c.n, func.count()).group_by(per_user.c.n)).all()
        assert [tuple(row) for row in shape] == [(1, ACCOUNTS - LOANED)]
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0

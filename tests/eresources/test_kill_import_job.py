"""R-1 for ER-22: a worker killed with SIGKILL in the middle of "Repository Import" is replaced by another that
resumes it from its checkpoint; each record is created exactly once, with its history, and the counters are exact."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.eresources import import_profiles, imports
from consortia.eresources.models import BibRecord, Portfolio
from consortia.jobs.models import COMPLETED_SUCCESS, RUNNING, JobInstance
from consortia.jobs.queue import queue_for, set_queue
from tests.eresources.conftest import set_switch
from tests.eresources.test_imports import marc21, marc_record
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import _queue_url, _wait_for, processes  # noqa: F401 - helpers and fixture

pytestmark = pytest.mark.slow

RECORDS = 1500


def _read(database: Database, instance_id: int) -> JobInstance:
    with database.session() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


@pytest.mark.parametrize("queue_kind", ["sqlite", "redis"])
def test_a_killed_worker_resumes_the_import(
    fresh_database: Database,  # noqa: F811
    tmp_path: Path,
    queue_kind: str,
    processes: list[subprocess.Popen[bytes]],  # noqa: F811
) -> None:
    queue_url = _queue_url(queue_kind, tmp_path)
    set_queue(queue_for(queue_url))
    try:
        with fresh_database.session() as session:
            factory = Factory(session)
            institution = factory.institution(f"IM{os.getpid()}", libraries=1)
            set_switch(session, institution, True)
            person = factory.user(institution, roles=(R.REPOSITORY_MANAGER,))
            identity = identity_of(person)
            profile = import_profiles.create_profile(
                session, identity, institution, import_profiles.ProfileChange(name="Kill test")
            )
            data = marc21(*(marc_record(n) for n in range(RECORDS)))
            instance = imports.submit_import(session, identity, profile, "kill.mrc", io.BytesIO(data))
            instance_id, institution_id = instance.id, institution.id
            session.commit()
    finally:
        set_queue(None)
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database.url,
        "CONSORTIA_QUEUE_URL": queue_url,
        "CONSORTIA_VAR_DIR": str(tmp_path / "var"),
        "CONSORTIA_JOB_LEASE_SECONDS": "2",
        "CONSORTIA_JOB_CHUNK_SIZE": "50",
        "CONSORTIA_JOB_CHUNK_DELAY": "0.15",
    }
    command = [sys.executable, "-m", "consortia", "worker", "--threads", "1"]

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    worker = start("first-worker")
    _wait_for(lambda: _read(fresh_database, instance_id).progress > 0, 30, "the first worker's progress", tmp_path)
    time.sleep(0.2)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed = _read(fresh_database, instance_id)
    assert killed.status == RUNNING, "the job finished before the worker was killed: nothing was tested"
    assert 0 < killed.counters["records_imported"] < RECORDS

    replacement = start("second-worker")
    _wait_for(lambda: _read(fresh_database, instance_id).status == COMPLETED_SUCCESS, 90, "the job's end", tmp_path)
    replacement.send_signal(signal.SIGTERM)
    assert replacement.wait(timeout=20) == 0
    done = _read(fresh_database, instance_id)
    assert done.counters["records_imported"] == RECORDS
    assert done.counters["portfolios_created"] == RECORDS
    assert done.counters["records_invalid"] == 0
    with fresh_database.session() as session:
        titles = session.execute(
            select(BibRecord.title, func.count())
            .where(BibRecord.institution_id == institution_id)
            .group_by(BibRecord.title)
        ).all()
        assert len(titles) == RECORDS
        assert {n for _, n in titles} == {1}
        portfolios = session.scalar(
            select(func.count()).select_from(Portfolio).where(Portfolio.institution_id == institution_id)
        )
        assert portfolios == RECORDS
        per = (
            select(HistoryEvent.entity, HistoryEvent.entity_id, func.count().label("n"))
            .where(HistoryEvent.job_instance_id == instance_id)
            .group_by(HistoryEvent.entity, HistoryEvent.entity_id)
            .subquery()
        )
        shape = session.execute(select(per.c.entity, per.c.n, func.count()).group_by(per.c.entity, per.c.n)).all()
        assert sorted(tuple(r) for r in shape) == [("bib", 1, RECORDS), ("portfolio", 1, RECORDS)]

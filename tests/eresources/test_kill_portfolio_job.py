"""R-1 for ER-21: a worker killed with SIGKILL in the middle of "Change Electronic Portfolio Information" is
replaced by another that resumes it from its checkpoint; every portfolio of the set is changed exactly once,
with one history row each, and the counters are exact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.eresources import sets
from consortia.eresources.models import Portfolio
from consortia.eresources.portfolio_jobs import CHANGE_PORTFOLIO_INFORMATION
from consortia.jobs import service as jobs
from consortia.jobs.models import COMPLETED_SUCCESS, RUNNING, JobInstance
from consortia.jobs.queue import queue_for, set_queue
from tests.eresources.conftest import bib, set_switch
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import _queue_url, _wait_for, processes  # noqa: F401 - helpers and fixture

pytestmark = pytest.mark.slow

PORTFOLIOS = 900


def _read(database: Database, instance_id: int) -> JobInstance:
    with database.session() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


@pytest.mark.parametrize("queue_kind", ["sqlite", "redis"])
def test_a_killed_worker_resumes_the_portfolio_information_job(
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
            institution = factory.institution(f"PJ{os.getpid()}", libraries=1)
            set_switch(session, institution, True)
            library = institution.libraries[0]
            person = factory.user(institution, roles=(R.REPOSITORY_MANAGER,))
            identity = identity_of(person)
            record = bib(session, institution, "A journal")
            rows = [
                {"institution_id": institution.id, "bib_id": record.id, "title": f"Portfolio {n}"}
                for n in range(PORTFOLIOS)
            ]
            session.execute(insert(Portfolio), rows)
            ids = session.scalars(select(Portfolio.id).where(Portfolio.institution_id == institution.id)).all()
            portfolio_set = sets.create_set(session, identity, institution, name="Kill test", member_ids=ids)
            instance = jobs.run_job(
                session,
                identity,
                CHANGE_PORTFOLIO_INFORMATION,
                {"set_id": str(portfolio_set.id), "library": library.code},
            )
            instance_id, institution_id, library_id = instance.id, institution.id, library.id
            session.commit()
    finally:
        set_queue(None)
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database.url,
        "CONSORTIA_QUEUE_URL": queue_url,
        "CONSORTIA_VAR_DIR": str(tmp_path / "var"),
        "CONSORTIA_JOB_LEASE_SECONDS": "2",
        "CONSORTIA_JOB_CHUNK_SIZE": "30",
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
    assert 0 < killed.counters["portfolios_updated"] < PORTFOLIOS

    replacement = start("second-worker")
    _wait_for(lambda: _read(fresh_database, instance_id).status == COMPLETED_SUCCESS, 90, "the job's end", tmp_path)
    replacement.send_signal(signal.SIGTERM)
    assert replacement.wait(timeout=20) == 0
    done = _read(fresh_database, instance_id)
    assert done.counters["portfolios_updated"] == PORTFOLIOS
    assert done.counters["portfolios_unchanged"] == 0
    with fresh_database.session() as session:
        libraries = session.execute(
            select(Portfolio.library_id, func.count())
            .where(Portfolio.institution_id == institution_id)
            .group_by(Portfolio.library_id)
        ).all()
        assert [tuple(row) for row in libraries] == [(library_id, PORTFOLIOS)]
        per = (
            select(HistoryEvent.entity_id, func.count().label("n"))
            .where(HistoryEvent.job_instance_id == instance_id, HistoryEvent.entity == "portfolio")
            .group_by(HistoryEvent.entity_id)
            .subquery()
        )
        shape = session.execute(select(per.c.n, func.count()).group_by(per.c.n)).all()
        assert [tuple(row) for row in shape] == [(1, PORTFOLIOS)]

"""R-1 for ER-21: a worker killed with SIGKILL in the middle of "Change Electronic Portfolio Information" is
replaced by another that resumes it from its checkpoint; every portfolio of the set is changed exactly once,
with one history row each, and the counters are exact."""

from __future__ import annotations

import os
import subprocess
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
from consortia.jobs.queue import queue_for, set_queue
from tests.eresources.conftest import bib, set_switch
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import _queue_url, processes  # noqa: F401 - helper and fixture
from tests.jobs.workers import Workers

pytestmark = pytest.mark.slow

PORTFOLIOS = 900


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
    workers = Workers(fresh_database, queue_url, tmp_path, processes, chunk_size=30)
    killed = workers.kill_mid_job(instance_id)
    assert 0 < killed.counters["portfolios_updated"] < PORTFOLIOS
    done = workers.finish(instance_id)
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

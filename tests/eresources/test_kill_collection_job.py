"""R-1 for ER-7: a worker killed with SIGKILL in the middle of "Set Electronic Collection Library" is replaced
by another that resumes it; every portfolio is changed exactly once, with exactly one history row."""

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
from consortia.eresources.models import Portfolio
from consortia.eresources.service import set_collection_library
from consortia.jobs.queue import queue_for, set_queue
from consortia.platform.models import Library
from tests.eresources.conftest import bib, collection, set_switch
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import _queue_url, processes  # noqa: F401 - helper and fixture
from tests.jobs.workers import Workers

pytestmark = pytest.mark.slow

PORTFOLIOS = 3000


@pytest.mark.parametrize("queue_kind", ["sqlite", "redis"])
def test_a_killed_worker_resumes_the_collection_library_job(
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
            institution = factory.institution(f"ER{os.getpid()}", libraries=2)
            set_switch(session, institution, True)
            first, second = session.scalars(select(Library).where(Library.institution_id == institution.id)).all()
            operator = factory.user(institution, roles=(R.ELECTRONIC_INVENTORY_OPERATOR,))
            coll, svc = collection(session, institution)
            record = bib(session, institution)
            session.execute(
                insert(Portfolio),
                [
                    {
                        "institution_id": institution.id,
                        "bib_id": record.id,
                        "collection_id": coll.id,
                        "service_id": svc.id,
                        "library_id": first.id,
                        "title": f"Title {n}",
                    }
                    for n in range(PORTFOLIOS)
                ],
            )
            instance = set_collection_library(session, identity_of(operator), coll, second)
            instance_id = instance.id
    finally:
        set_queue(None)
    workers = Workers(fresh_database, queue_url, tmp_path, processes, chunk_size=100)
    killed = workers.kill_mid_job(instance_id)
    assert 0 < killed.counters["portfolios_cleared"] < PORTFOLIOS
    done = workers.finish(instance_id)
    assert done.counters["portfolios_cleared"] == PORTFOLIOS
    with fresh_database.session() as session:
        shape = session.execute(
            select(Portfolio.library_id, Portfolio.version, func.count())
            .where(Portfolio.collection_id == coll.id)
            .group_by(Portfolio.library_id, Portfolio.version)
        ).all()
        assert [tuple(row) for row in shape] == [(None, 2, PORTFOLIOS)]
        per = (
            select(HistoryEvent.entity_id, func.count().label("n"))
            .where(HistoryEvent.job_instance_id == instance_id, HistoryEvent.entity == "portfolio")
            .group_by(HistoryEvent.entity_id)
            .subquery()
        )
        assert [tuple(r) for r in session.execute(select(per.c.n, func.count()).group_by(per.c.n))] == [(1, PORTFOLIOS)]

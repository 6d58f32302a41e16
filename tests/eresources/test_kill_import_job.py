"""R-1 for ER-22: a worker killed with SIGKILL in the middle of "Repository Import" is replaced by another that
resumes it from its checkpoint; each record is created exactly once, with its history, and the counters are exact."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.eresources import import_profiles, imports
from consortia.eresources.models import BibRecord, Portfolio
from consortia.jobs.queue import queue_for, set_queue
from tests.eresources.conftest import set_switch
from tests.eresources.test_imports import marc21, marc_record
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import _queue_url, processes  # noqa: F401 - helper and fixture
from tests.jobs.workers import Workers

pytestmark = pytest.mark.slow

RECORDS = 1500


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
    workers = Workers(fresh_database, queue_url, tmp_path, processes, chunk_size=50)
    killed = workers.kill_mid_job(instance_id)
    assert 0 < killed.counters["records_imported"] < RECORDS
    done = workers.finish(instance_id)
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

"""R-1 for the purge (CN-12): a worker killed with SIGKILL in the middle of Purge Linked Accounts, and a
new one that finishes it — every account purged once, one history row each, counters exact."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.jobs.queue import queue_for, set_queue
from consortia.jobs.registry import job_kind
from consortia.jobs.service import submit
from consortia.network.jobs import PURGE_LINKED_ACCOUNTS, PURGED, SKIPPED_LOANS
from consortia.network.models import Loan
from consortia.platform.models import User
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture
from tests.jobs.test_kill_worker import processes  # noqa: F401 - the fixture
from tests.jobs.workers import Workers

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


def test_a_killed_purge_resumes_and_purges_each_account_once(
    fresh_database: Database,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],  # noqa: F811 - the fixture imported above
) -> None:
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    instance_id, here_id = _submit(fresh_database, queue_url)
    workers = Workers(fresh_database, queue_url, tmp_path, processes)
    killed = workers.kill_mid_job(instance_id)
    assert 0 < killed.counters[PURGED] < ACCOUNTS - LOANED
    done = workers.finish(instance_id)
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

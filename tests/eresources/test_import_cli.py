"""`consortia import FILE --profile ID --as USER`: submits the Repository Import and follows it to its end."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.db import Database
from consortia.eresources import import_profiles
from consortia.eresources.import_cli import follow, submit_file
from consortia.eresources.models import Portfolio
from consortia.jobs.models import COMPLETED_SUCCESS
from consortia.jobs.queue import queue_for, set_queue
from tests.eresources.test_imports import marc21, marc_record
from tests.factories import Factory
from tests.jobs.conftest import fresh_database  # noqa: F401 - the fixture


def test_the_command_imports_and_follows_the_job(fresh_database: Database, tmp_path: Path) -> None:  # noqa: F811
    with fresh_database.session() as session:
        factory = Factory(session)
        institution = factory.institution("CLI", libraries=1)
        person = factory.user(institution, "cli-repo", roles=(R.REPOSITORY_MANAGER,))
        profile = import_profiles.create_profile(
            session, identity_of(person), institution, import_profiles.ProfileChange(name="CLI")
        )
        profile_id, institution_id = str(profile.id), institution.id
    path = tmp_path / "records.mrc"
    path.write_bytes(marc21(*(marc_record(n) for n in range(7))))
    set_queue(queue_for("memory://"))
    try:
        instance_id = submit_file(fresh_database, path, profile_id, "cli-repo", None)
    finally:
        set_queue(None)
    seen: list[int] = []
    done = follow(fresh_database, instance_id, lambda percent, _status: seen.append(percent), interval=0.01)
    assert done.status == COMPLETED_SUCCESS
    assert seen[-1] == 100
    with fresh_database.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Portfolio).where(Portfolio.institution_id == institution_id)
        )
        assert count == 7

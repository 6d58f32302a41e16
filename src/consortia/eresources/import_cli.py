"""`consortia import FILE --profile ID [--institution CODE] --as USER`: submit a Repository Import and follow it.

The command acts as the user named with --as (who must be allowed to import, like on the API), in their
institution or, for an operator, the one named with --institution. The file goes through the same verb as
the upload endpoint; the job runs in the worker (or in this process with a `memory://` queue) and the
command follows it with a progress bar until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from consortia.access.identity import Identity, identity_of
from consortia.db import Database
from consortia.eresources import import_profiles, imports
from consortia.errors import BadRequest, NotFound
from consortia.jobs.models import FINAL_STATUSES, STATUS_DESC, JobInstance
from consortia.platform.models import Institution, User


def _identity(database: Database, primary_id: str, institution_code: str | None) -> Identity:
    with database.session() as session:
        users = list(session.scalars(select(User).where(User.primary_id == primary_id)))
        institution: Institution | None = None
        if institution_code:
            institution = session.scalars(
                select(Institution).where(Institution.code == institution_code.upper())
            ).first()
            if institution is None:
                raise NotFound(f"Institution {institution_code} was not found.")
            users = [u for u in users if u.institution_id in (institution.id, None)] or users
        if len(users) != 1:
            raise NotFound(f"User {primary_id} was not found (or is not unique: name the institution).")
        identity = identity_of(users[0])
        if identity.is_operator:
            if institution is None:
                raise BadRequest("The operator names the institution to import into with --institution CODE.")
            identity = identity.acting_in(institution.id)
        return identity


def submit_file(database: Database, path: Path, profile_id: str, primary_id: str, institution: str | None) -> int:
    """Store the file and submit the import; the job instance's id."""
    identity = _identity(database, primary_id, institution)
    with database.session(writes=True) as session, path.open("rb") as stream:
        profile = import_profiles.access_profile(session, identity, profile_id)
        instance = imports.submit_import(session, identity, profile, path.name, stream)
        session.flush()
        return instance.id


def follow(
    database: Database, instance_id: int, on_progress: Callable[[int, str], None], interval: float = 0.5
) -> JobInstance:
    """Poll the instance until it ends, calling `on_progress(percent, status text)`."""
    while True:
        with database.session() as session:
            instance = session.get(JobInstance, instance_id)
            assert instance is not None
            on_progress(instance.progress, STATUS_DESC.get(instance.status, instance.status))
            if instance.status in FINAL_STATUSES:
                session.expunge(instance)
                return instance
        time.sleep(interval)

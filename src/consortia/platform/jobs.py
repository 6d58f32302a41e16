"""The platform's job kinds (P-7).

"Deactivate Expired Users" (M1001): in the institution it runs in, every ACTIVE user whose expiry date
had passed when the job started becomes INACTIVE and their browser sessions end, as when one user is
inactivated; a User Administrator's run leaves General System Administrators' accounts alone (P-4).
Set-based, in chunks ordered by user id: per chunk one `INSERT ... SELECT` of history rows, one DELETE of
sessions and one UPDATE over the chunk's ids, committed by the runner together with the checkpoint (the
last id done), so a chunk is never applied twice (R-1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from consortia.access.identity import identity_for_user_id
from consortia.access.permissions import Permission as P
from consortia.access.policy import where
from consortia.audit.service import history_insert_from_select
from consortia.db import today, utcnow
from consortia.errors import BadRequest
from consortia.jobs.models import JobInstance
from consortia.jobs.registry import ChunkResult, CounterDefinition, JobKind, JobParameter, chunk_size, job_actor
from consortia.platform.models import CodeTableRow, User, WebSession

DEACTIVATE_EXPIRED_USERS = "M1001"
USERS_DEACTIVATED = "users_deactivated"
CHUNK = 1000


def _user_groups(session: Session, institution_id: int | None) -> list[tuple[str, str]]:
    return [
        (row.code, row.description)
        for row in session.scalars(
            select(CodeTableRow)
            .where(CodeTableRow.institution_id == institution_id, CodeTableRow.table_name == "UserGroups")
            .order_by(CodeTableRow.code)
        )
    ]


def _valid_user_group(session: Session, institution_id: int | None, value: str) -> str:
    code = value.strip().upper()
    if code not in {c for c, _ in _user_groups(session, institution_id)}:
        raise BadRequest(
            f"Param value is invalid: user_group {value} is not a user group of the institution.", "40166411"
        )
    return code


def _deactivate_expired_users(
    session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None
) -> ChunkResult:
    state = dict(checkpoint or {})
    group = (instance.parameters or {}).get("user_group")
    scope = [User.institution_id == instance.institution_id, User.status == "ACTIVE"]
    submitter = identity_for_user_id(session, instance.submitted_by_id) if instance.submitted_by_id else None
    if submitter is not None:
        # Only the users the submitter may change: a User Administrator's run leaves General System
        # Administrators' accounts alone (P-4), as the API and the pages do.
        scope.append(where(submitter.acting_in(instance.institution_id), P.USER_EDIT, User))
    if group:
        scope.append(User.user_group == group)
    if "before" not in state:
        # The cut-off is fixed when the job starts, so that a run across midnight stays one set.
        before = today()
        total = session.scalar(select(func.count()).select_from(User).where(*scope, User.expiry_date < before))
        state = {"before": before.isoformat(), "after_id": 0, "done": 0, "total": int(total or 0)}
    before = dt.date.fromisoformat(state["before"])
    expired = [*scope, User.expiry_date < before]
    size = chunk_size(CHUNK)
    ids = list(
        session.scalars(
            select(User.id).where(*expired, User.id > state["after_id"]).order_by(User.id).limit(size).with_for_update()
        )
    )
    if not ids:
        return ChunkResult(checkpoint=state, done=True)
    chunk = [*expired, User.id.in_(ids)]
    session.execute(
        history_insert_from_select(
            entity="user",
            entity_id=User.primary_id.expression,
            institution_id=User.institution_id.expression,
            field="status",
            old="ACTIVE",
            new="INACTIVE",
            actor=job_actor(session, instance),
            where_from=select(User.id).where(*chunk),
        )
    )
    # Their browser sessions end, as when one user is inactivated (their API keys are refused while inactive).
    session.execute(
        delete(WebSession)
        .where(WebSession.user_id.in_(select(User.id).where(*chunk)))
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(
        update(User)
        .where(*chunk)
        .values(status="INACTIVE", version=User.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    state["after_id"] = ids[-1]
    state["done"] = int(state["done"]) + int(changed)
    total = max(int(state["total"]), state["done"], 1)
    return ChunkResult(
        checkpoint=state,
        done=len(ids) < size,
        progress=state["done"] * 100 // total,
        counters={USERS_DEACTIVATED: int(changed)},
    )


# The platform's job kinds, handed over in `platform.domain`.
KINDS = (
    JobKind(
        job_id=DEACTIVATE_EXPIRED_USERS,
        name="Deactivate Expired Users",
        description="Sets every active user of the institution whose expiry date has passed to Inactive.",
        category="USERS",
        category_desc="Users",
        content="USER",
        content_desc="Users",
        schedulable=True,
        permission=P.USER_EDIT,
        parameters=(
            JobParameter(
                "user_group",
                "User group",
                description="Only users of this user group (all groups when empty).",
                validate=_valid_user_group,
                choices=_user_groups,
            ),
        ),
        counters=(
            CounterDefinition(
                USERS_DEACTIVATED,
                "Users deactivated",
                "Active users of the institution whose expiry date was before the day the job started, now "
                "Inactive; each has one history row naming this job.",
            ),
        ),
        run_chunk=_deactivate_expired_users,
    ),
)

"""The collaborative network's job kinds (P-7).

"Purge Linked Accounts" (M1201, CN-12): in the institution it runs in, every linked account whose
purge date had passed when the job started is deleted — except those with an active loan, which are
counted and kept, and those the submitter may not delete (a User Administrator's run leaves an account
that holds the General System Administrator role alone, P-4, as Deactivate Expired Users does).
Set-based, in chunks ordered by user id: per chunk one `INSERT ... SELECT` of history rows and one
DELETE over the chunk's ids (identifiers, blocks, roles, sessions, keys and returned loans go with them),
committed by the runner together with the checkpoint, so a chunk is never applied twice (R-1).

"Refresh Linked Accounts" (M1202, CN-10): every linked account of the institution (or those of one
source institution) refreshed from its source as the desk would. A refresh is one account's rules,
so a chunk refreshes a bounded number of accounts (ordered by id, checkpointed); accounts whose source
can no longer be served are reported as events and counted. Accounts holding the General System
Administrator role are refreshed only in the runs of those who may change them (P-4).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import identity_for_user_id
from consortia.access.permissions import Permission as P
from consortia.access.policy import gsa_account, where
from consortia.audit.service import history_insert_from_select
from consortia.db import today
from consortia.errors import BadRequest, DomainError
from consortia.jobs.models import JobInstance
from consortia.jobs.registry import (
    ERROR,
    ChunkResult,
    CounterDefinition,
    JobEventNote,
    JobKind,
    JobParameter,
    chunk_size,
    job_actor,
)
from consortia.network.models import LINKED, Loan
from consortia.network.policy import partner_ids
from consortia.network.service import network_view, refresh_account
from consortia.platform.models import ApiKey, Institution, User

PURGE_LINKED_ACCOUNTS = "M1201"
REFRESH_LINKED_ACCOUNTS = "M1202"
PURGED = "linked_accounts_purged"
SKIPPED_LOANS = "skipped_active_loans"
REFRESHED = "linked_accounts_refreshed"
NOT_REFRESHED = "linked_accounts_not_refreshed"
PURGE_CHUNK = 1000
REFRESH_CHUNK = 100


def _submitter_may(session: Session, instance: JobInstance, permission: P) -> ColumnElement[bool] | None:
    """The SQL face of `permission` over users for the job's submitter (None for the system's runs)."""
    if instance.submitted_by_id is None:
        return None
    submitter = identity_for_user_id(session, instance.submitted_by_id)
    if submitter is None:
        return false()  # the runner stops such a job before its chunk: nothing, to be sure
    return where(submitter.acting_in(instance.institution_id), permission, User)


def _purge_linked_accounts(session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None) -> ChunkResult:
    state = dict(checkpoint or {})
    scope = [User.institution_id == instance.institution_id, User.account_type == LINKED]
    deletable = _submitter_may(session, instance, P.USER_DELETE)
    if deletable is not None:
        scope.append(deletable)
    if "before" not in state:
        # The cut-off is fixed when the job starts, so that a run across midnight stays one set.
        before = today()
        total = session.scalar(select(func.count()).select_from(User).where(*scope, User.purge_date < before))
        state = {"before": before.isoformat(), "after_id": 0, "purged": 0, "skipped": 0, "total": int(total or 0)}
    due = [*scope, User.purge_date < dt.date.fromisoformat(state["before"])]
    size = chunk_size(PURGE_CHUNK)
    ids = list(
        session.scalars(
            select(User.id).where(*due, User.id > state["after_id"]).order_by(User.id).limit(size).with_for_update()
        )
    )
    if not ids:
        return ChunkResult(checkpoint=state, done=True, progress=100)
    on_loan = set(session.scalars(select(Loan.user_id).where(Loan.user_id.in_(ids), Loan.status == "ACTIVE")))
    doomed = [user_id for user_id in ids if user_id not in on_loan]
    if doomed:
        session.execute(
            history_insert_from_select(
                entity="user",
                entity_id=User.primary_id.expression,
                institution_id=User.institution_id.expression,
                field="linked_account",
                old="linked account",
                new="purged",
                actor=job_actor(session, instance),
                where_from=select(User.id).where(*due, User.id.in_(doomed)),
            )
        )
        # Keys an account made for others stay, as when one user is deleted (`user_service.delete_user`).
        session.execute(
            update(ApiKey)
            .where(ApiKey.created_by_id.in_(select(User.id).where(*due, User.id.in_(doomed))))
            .values(created_by_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(User).where(*due, User.id.in_(doomed)).execution_options(synchronize_session=False))
    state["after_id"] = ids[-1]
    state["purged"] = int(state["purged"]) + len(doomed)
    state["skipped"] = int(state["skipped"]) + len(on_loan)
    total = max(int(state["total"]), state["purged"] + state["skipped"], 1)
    return ChunkResult(
        checkpoint=state,
        done=len(ids) < size,
        progress=(state["purged"] + state["skipped"]) * 100 // total,
        counters={PURGED: len(doomed), SKIPPED_LOANS: len(on_loan)},
    )


def _partners(session: Session, institution_id: int | None) -> list[tuple[str, str]]:
    if institution_id is None:
        return []
    rows = session.execute(
        select(Institution.code, Institution.name)
        .where(Institution.id.in_(partner_ids(institution_id)))
        .order_by(Institution.code)
    )
    return [(code, name) for code, name in rows]


def _valid_partner(session: Session, institution_id: int | None, value: str) -> str:
    code = value.strip().upper()
    if code not in {c for c, _ in _partners(session, institution_id)}:
        raise BadRequest(
            f"Param value is invalid: source_institution {value} does not share a fulfillment network.", "40166411"
        )
    return code


def _refresh_linked_accounts(session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None) -> ChunkResult:
    state = dict(checkpoint or {})
    scope = [User.institution_id == instance.institution_id, User.account_type == LINKED]
    editable = _submitter_may(session, instance, P.USER_EDIT)
    if editable is not None:
        # Refreshing is the desk's work on any other account; a GSA account needs `user:edit` (P-4).
        scope.append(or_(~gsa_account(User), editable))
    source = (instance.parameters or {}).get("source_institution")
    if source:
        scope.append(User.source_institution_id.in_(select(Institution.id).where(Institution.code == source)))
    if "after_id" not in state:
        total = session.scalar(select(func.count()).select_from(User).where(*scope))
        state = {"after_id": 0, "done": 0, "total": int(total or 0)}
    size = chunk_size(REFRESH_CHUNK)
    users = list(
        session.scalars(
            select(User)
            .where(*scope, User.id > state["after_id"])
            .order_by(User.id)
            .limit(size)
            .options(selectinload(User.identifiers), selectinload(User.blocks))
        )
    )
    if not users:
        return ChunkResult(checkpoint=state, done=True, progress=100)
    assert instance.institution_id is not None
    view = network_view(session, instance.institution_id)
    actor = job_actor(session, instance)
    refreshed, events = 0, []
    for number, user in enumerate(users, start=state["done"] + 1):
        try:
            with session.begin_nested():
                refresh_account(session, user, actor=actor, view=view)
            refreshed += 1
        except DomainError as exc:
            events.append(JobEventNote(ERROR, f"{user.primary_id}: {exc.message}", number))
    state["after_id"] = users[-1].id
    state["done"] = int(state["done"]) + len(users)
    return ChunkResult(
        checkpoint=state,
        done=len(users) < size,
        progress=state["done"] * 100 // max(int(state["total"]), state["done"], 1),
        counters={REFRESHED: refreshed, NOT_REFRESHED: len(users) - refreshed},
        events=events,
    )


# Its job kinds, handed over in `network.domain`.
KINDS = (
    JobKind(
        job_id=PURGE_LINKED_ACCOUNTS,
        name="Purge Linked Accounts",
        description="Deletes the institution's linked accounts whose purge date has passed, except those with "
        "active loans.",
        category="USERS",
        category_desc="Users",
        content="USER",
        content_desc="Users",
        schedulable=True,
        permission=P.USER_DELETE,
        counters=(
            CounterDefinition(
                PURGED,
                "Linked accounts purged",
                "Linked accounts whose purge date was before the day the job started, deleted; each has one "
                "history row naming this job.",
            ),
            CounterDefinition(
                SKIPPED_LOANS,
                "Skipped: active loans",
                "Linked accounts past their purge date that were kept because they still have an active loan.",
            ),
        ),
        run_chunk=_purge_linked_accounts,
    ),
    JobKind(
        job_id=REFRESH_LINKED_ACCOUNTS,
        name="Refresh Linked Accounts",
        description="Refreshes the institution's linked accounts from their source institutions, as the "
        "circulation desk does.",
        category="USERS",
        category_desc="Users",
        content="USER",
        content_desc="Users",
        schedulable=True,
        permission=P.LINKED_ACCOUNT_REFRESH,
        parameters=(
            JobParameter(
                "source_institution",
                "Source institution",
                description="Only the linked accounts of patrons of this institution (all when empty).",
                validate=_valid_partner,
                choices=_partners,
            ),
        ),
        counters=(
            CounterDefinition(REFRESHED, "Linked accounts refreshed", "Linked accounts refreshed from their source."),
            CounterDefinition(
                NOT_REFRESHED,
                "Linked accounts not refreshed",
                "Linked accounts whose source patron can no longer be served through the network (one error event "
                "each).",
            ),
        ),
        run_chunk=_refresh_linked_accounts,
    ),
)

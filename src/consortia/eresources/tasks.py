"""The Community Zone Updates Task List (ER-14) and the Electronic Resource Activation Task List (ER-15).

Items come from the verbs that cause them: a change of a Community Zone resource puts an item in the list
of every institution that activated it (`add_cz_update_items`, called by `eresources.cz`); an activation
from the Community Zone or a local collection or portfolio puts one in the activating institution's
Activation Task List (`add_activation_item`, called by `eresources.cz` and `eresources.service`).

What a person may do with an item is what the scope rule (`eresources.policy`) allows on its resource: the
per-row actions and selection boxes come from its Python face, "Dismiss All" from its SQL face (one UPDATE
and one `INSERT ... SELECT` of history, never a loop). Every change writes history under the entity
`eresource_task`; the entry point commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, demand
from consortia.audit.models import Actor
from consortia.audit.service import history_insert_from_select
from consortia.db import utcnow
from consortia.eresources import policy as scope
from consortia.eresources.models import AVAILABLE, ElectronicCollection, Portfolio
from consortia.eresources.policy import COLLECTION, PORTFOLIO, Scoped, ScopedRows
from consortia.eresources.service import (
    CollectionChange,
    PortfolioChange,
    limits_on,
    scoped,
    update_collection,
    update_portfolio,
)
from consortia.eresources.task_items import TASK, record_task_change
from consortia.eresources.task_models import (
    ACTIVATION,
    ACTIVATION_STATUSES,
    CZ_UPDATES,
    DELETED,
    DISMISSED,
    DONE,
    OPEN,
    STATUSES,
    EresourceTask,
)
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.platform.models import Institution

LIST_NAMES = {CZ_UPDATES: "Community Zone Updates Task List", ACTIVATION: "Electronic Resource Activation Task List"}
MAX_IDS = 1000
MAX_ID = 2**31 - 1


def task_not_found(tid: Any) -> NotFound:
    return NotFound(f"The task item was not found: {tid}.")


def _id(value: Any) -> int | None:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


# --- the rule's two faces over items ----------------------------------------------------------


def task_scoped(session: Session, task: EresourceTask) -> Scoped:
    """An item as the scope rule sees it: its resource."""
    return scoped(session, task.resource)


def with_resources(query: Select[Any]) -> Select[Any]:
    """`query` over eresource_task joined to its portfolio and the collection whose library counts (ER-3)."""
    return query.outerjoin(Portfolio, Portfolio.id == EresourceTask.portfolio_id).outerjoin(
        ElectronicCollection,
        ElectronicCollection.id == func.coalesce(Portfolio.collection_id, EresourceTask.collection_id),
    )


def items_in_scope(session: Session, identity: Identity, institution_id: int, permission: P) -> ColumnElement[bool]:
    """The SQL face of `permission` on items (for a query made by `with_resources`)."""
    limits = limits_on(session, institution_id)
    return scope.item_rows(
        identity,
        permission,
        is_portfolio=EresourceTask.portfolio_id.is_not(None),
        portfolios=ScopedRows(
            PORTFOLIO, EresourceTask.institution_id.expression, scope.effective_library_sql(), limits
        ),
        collections=ScopedRows(
            COLLECTION, EresourceTask.institution_id.expression, ElectronicCollection.library_id.expression, limits
        ),
    )


# --- reading the lists ------------------------------------------------------------------------


@dataclass
class TaskRow:
    task: EresourceTask
    scoped: Scoped
    actions: list[str]

    @property
    def selectable(self) -> bool:
        """ER-14/ER-15: a selection box only where the item may be acted on."""
        return bool(self.actions)


@dataclass
class TaskPage:
    rows: list[TaskRow]
    total: int
    in_scope: int  # open items the caller may act on (what "Dismiss All" would handle)


def _list_condition(institution_id: int, task_list: str, status: str | None) -> list[ColumnElement[bool]]:
    condition = [EresourceTask.institution_id == institution_id, EresourceTask.task_list == task_list]
    if status:
        if status.upper() not in STATUSES:
            raise BadRequest(f"status: {status!r} is not valid; use one of: {', '.join(STATUSES)}.")
        condition.append(EresourceTask.status == status.upper())
    else:
        condition.append(EresourceTask.status != DELETED)
    return condition


def task_page(
    session: Session,
    identity: Identity,
    institution: Institution,
    task_list: str,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TaskPage:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    condition = _list_condition(institution.id, task_list, status)
    total = int(session.scalar(select(func.count()).select_from(EresourceTask).where(*condition)) or 0)
    tasks = session.scalars(
        select(EresourceTask).where(*condition).order_by(EresourceTask.id).limit(limit).offset(offset)
    ).unique()
    actions_for = scope.cz_task_actions if task_list == CZ_UPDATES else scope.activation_task_actions
    rows = []
    for task in tasks:
        target = task_scoped(session, task)
        closed = task.status in (DISMISSED, DELETED) or (task_list == CZ_UPDATES and task.status != OPEN)
        rows.append(TaskRow(task, target, [] if closed else actions_for(identity, target)))
    open_rows = with_resources(select(func.count(EresourceTask.id))).where(
        EresourceTask.institution_id == institution.id,
        EresourceTask.task_list == task_list,
        EresourceTask.status == OPEN,
        items_in_scope(session, identity, institution.id, P.TASK_EDIT),
    )
    return TaskPage(rows, total, int(session.scalar(open_rows) or 0))


def access_task(
    session: Session, identity: Identity, tid: Any, task_list: str, permission: P = P.ERESOURCE_READ
) -> EresourceTask:
    """An item of `task_list`, checked for `permission` on its resource; unknown, another institution's
    and another list's alike are 404."""
    number = _id(tid)
    task = session.get(EresourceTask, number) if number is not None else None
    if (
        task is None
        or task.task_list != task_list
        or task.status == DELETED
        or (identity.acting_institution_id is not None and task.institution_id != identity.acting_institution_id)
    ):
        raise task_not_found(tid)
    authorize(identity, permission, task_scoped(session, task), not_found=task_not_found(tid))
    return task


# --- ER-14: dismiss ---------------------------------------------------------------------------


def _dismiss(session: Session, task: EresourceTask, actor: Actor) -> None:
    if task.status != OPEN:
        return
    record_task_change(session, task, "status", task.status, DISMISSED, actor)
    task.status = DISMISSED
    task.closed_by = actor.label
    task.closed_at = utcnow()


def _selected(session: Session, institution: Institution, task_list: str, ids: Sequence[Any]) -> list[EresourceTask]:
    """The items a selection names, in the order given, each once: every id must name an item of the
    institution's list (400 naming the field otherwise, another institution's alike)."""
    if not ids:
        raise BadRequest("ids: choose at least one task item.")
    if len(ids) > MAX_IDS:
        raise BadRequest(f"ids: at most {MAX_IDS} task items at a time.")
    numbers = {str(i): _id(i) for i in ids}
    found = {
        t.id: t
        for t in session.scalars(
            select(EresourceTask).where(
                EresourceTask.id.in_(sorted({n for n in numbers.values() if n is not None})),
                EresourceTask.institution_id == institution.id,
                EresourceTask.task_list == task_list,
            )
        ).unique()
    }
    unknown = [text for text, n in numbers.items() if n is None or n not in found]
    if unknown:
        raise BadRequest(f"ids: these task items were not found: {', '.join(unknown)}.")
    return [found[n] for n in dict.fromkeys(n for n in numbers.values() if n is not None)]


def _refuse_out_of_scope(refused: Sequence[EresourceTask], done: str, needs: str) -> None:
    if refused:
        raise Forbidden(
            f"Nothing was {done}: these items are out of your role scope: "
            + ", ".join(str(t.id) for t in refused)
            + f". {needs}"
        )


def dismiss_tasks(session: Session, identity: Identity, institution: Institution, ids: Sequence[Any]) -> int:
    """ "Dismiss Selected": every id must name an item of the institution's list and be in scope; if any is
    not, nothing is dismissed and the answer (403) names the out-of-scope items. Answers how many were
    dismissed (already dismissed ones stay as they are)."""
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    tasks = _selected(session, institution, CZ_UPDATES, ids)
    refused = [t for t in tasks if "dismiss" not in scope.cz_task_actions(identity, task_scoped(session, t))]
    _refuse_out_of_scope(
        refused, "dismissed", "Dismissing an item needs the editing rights on its resource (its library in your scope)."
    )
    before = sum(1 for t in tasks if t.status == OPEN)
    for task in tasks:
        _dismiss(session, task, identity.actor)
    session.flush()
    return before


def dismiss_task(session: Session, identity: Identity, task: EresourceTask) -> None:
    """Dismiss one item (the caller was authorized for TASK_EDIT on it)."""
    _dismiss(session, task, identity.actor)
    session.flush()


@dataclass(frozen=True)
class DismissAll:
    dismissed: int
    skipped: int


def dismiss_all(session: Session, identity: Identity, institution: Institution) -> DismissAll:
    """ "Dismiss All" (ER-14): every open item in scope is dismissed, in one UPDATE with the rule's SQL face
    and one `INSERT ... SELECT` of history; open items out of scope are skipped and counted."""
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    actor = identity.actor
    now = utcnow()
    open_items = [
        EresourceTask.institution_id == institution.id,
        EresourceTask.task_list == CZ_UPDATES,
        EresourceTask.status == OPEN,
    ]
    total = int(session.scalar(select(func.count()).select_from(EresourceTask).where(*open_items)) or 0)
    inside = with_resources(select(EresourceTask.id)).where(
        *open_items, items_in_scope(session, identity, institution.id, P.TASK_EDIT)
    )
    marker = [
        EresourceTask.institution_id == institution.id,
        EresourceTask.task_list == CZ_UPDATES,
        EresourceTask.status == DISMISSED,
        EresourceTask.closed_at == now,
        EresourceTask.closed_by == actor.label,
    ]
    dismissed = session.execute(
        update(EresourceTask)
        .where(EresourceTask.id.in_(inside.scalar_subquery()))
        .values(status=DISMISSED, closed_by=actor.label, closed_at=now, version=EresourceTask.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    # The history of exactly the rows just dismissed: those this statement marked (status, time, actor).
    session.execute(
        history_insert_from_select(
            entity=TASK,
            entity_id=cast(EresourceTask.id, String),
            institution_id=EresourceTask.institution_id.expression,
            field="status",
            old=OPEN,
            new=DISMISSED,
            actor=actor,
            where_from=select(EresourceTask.id).where(*marker),
        )
    )
    session.expire_all()
    dismissed = int(dismissed or 0)
    return DismissAll(dismissed, total - dismissed)


# --- ER-15: the activation actions ------------------------------------------------------------


@dataclass
class ActivationChange:
    note: str | None = None
    status: str | None = None
    coverage: str | None = None
    availability: str | None = None
    public_name: str | None = None


def act_on_activation_task(
    session: Session, identity: Identity, task: EresourceTask, action: str, change: ActivationChange
) -> None:
    """One action of ER-15 on an item the caller was authorized for (`scope.task_permission(action)`):

    edit (the item's note), edit_resource (the resource's coverage/availability or name, through the
    resource's own verb), activate (the resource becomes available; the item is done), done, delete (the
    item leaves the list), unsuppress (the resource shows in discovery), change_status (`status`)."""
    actor = identity.actor
    resource = task.resource
    if action == "edit":
        if change.note is None:
            raise BadRequest("note: give the item's note.")
        record_task_change(session, task, "note", task.note, change.note, actor)
        task.note = change.note
    elif action == "edit_resource":
        if isinstance(resource, Portfolio):
            update_portfolio(
                session,
                identity,
                resource,
                PortfolioChange(coverage=change.coverage, availability=change.availability),
            )
        else:
            update_collection(
                session,
                identity,
                resource,
                CollectionChange(public_name=change.public_name, activation_status=change.availability),
            )
    elif action == "activate":
        if isinstance(resource, Portfolio):
            update_portfolio(session, identity, resource, PortfolioChange(availability=AVAILABLE))
        else:
            update_collection(session, identity, resource, CollectionChange(activation_status=AVAILABLE))
        _set_status(session, task, DONE, actor)
    elif action == "done":
        _set_status(session, task, DONE, actor)
    elif action == "delete":
        _set_status(session, task, DELETED, actor)
    elif action == "unsuppress":
        record_task_change(session, task, "suppressed", task.suppressed, False, actor)
        task.suppressed = False
    elif action == "change_status":
        wanted = (change.status or "").strip().upper()
        if wanted not in ACTIVATION_STATUSES:
            raise BadRequest(f"status: {change.status!r} is not valid; use one of: {', '.join(ACTIVATION_STATUSES)}.")
        _set_status(session, task, wanted, actor)
    else:
        raise BadRequest(f"action: {action!r} is not valid; use one of: {', '.join(scope.ACTIVATION_TASK_ACTIONS)}.")
    session.flush()


# The actions a selection of the Activation Task List takes at once (ER-15): the ones without a value of
# their own per item (Edit and Edit Resource are per item).
SELECTION_ACTIONS = ("activate", "done", "delete", "unsuppress", "change_status")


def act_on_activation_tasks(
    session: Session,
    identity: Identity,
    institution: Institution,
    ids: Sequence[Any],
    action: str,
    change: ActivationChange,
) -> int:
    """One action of ER-15 on the selected items, all or nothing: only items in scope can be selected (the
    page shows no selection box by the others), so if any is out of scope for the action nothing is done
    and the answer (403) names them. Answers how many items the action was taken on."""
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    if action not in SELECTION_ACTIONS:
        raise BadRequest(f"action: {action!r} is not valid on a selection; use one of: {', '.join(SELECTION_ACTIONS)}.")
    if action == "change_status" and (change.status or "").strip().upper() not in ACTIVATION_STATUSES:
        raise BadRequest(f"status: {change.status!r} is not valid; use one of: {', '.join(ACTIVATION_STATUSES)}.")
    tasks = _selected(session, institution, ACTIVATION, ids)
    refused = [t for t in tasks if action not in scope.activation_task_actions(identity, task_scoped(session, t))]
    _refuse_out_of_scope(
        refused,
        "changed",
        "Acting on an item needs the editing rights on its resource (its library in your scope); Delete needs "
        "the Electronic Inventory Operator Extended role.",
    )
    for task in tasks:
        act_on_activation_task(session, identity, task, action, change)
    return len(tasks)


def _set_status(session: Session, task: EresourceTask, status: str, actor: Actor) -> None:
    if task.status == status:
        return
    record_task_change(session, task, "status", task.status, status, actor)
    task.status = status
    if status in (DONE, DELETED):
        task.closed_by = actor.label
        task.closed_at = utcnow()


def task_history(session: Session, identity: Identity, tid: str) -> int:
    number = _id(tid)
    task = session.get(EresourceTask, number) if number is not None else None
    if task is None:
        raise task_not_found(tid)
    return access_task(session, identity, tid, task.task_list).institution_id

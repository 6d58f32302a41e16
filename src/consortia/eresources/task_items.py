"""Items appear in the task lists (ER-14, ER-15): a change to a Community Zone resource puts one item in
the CZ Updates Task List of every institution that activated it, an activation or a locally created
resource one in the institution's Activation Task List. Below the inventory verbs (which put items in
the lists) and the task-list verbs (which act on them), so that neither imports the other back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.eresources.models import ElectronicCollection, Portfolio
from consortia.eresources.task_models import ACTIVATION, CZ_UPDATES, OPEN, EresourceTask

TASK = "eresource_task"


def record_task_change(session: Session, task: EresourceTask, field: str, old: Any, new: Any, actor: Actor) -> None:
    record(
        session,
        entity=TASK,
        entity_id=task.id,
        field=field,
        old=old,
        new=new,
        actor=actor,
        institution_id=task.institution_id,
    )


# --- items appear -----------------------------------------------------------------------------


def _add(session: Session, task_list: str, report_type: str, resource: Any, actor: Actor) -> EresourceTask:
    task = EresourceTask(
        institution_id=resource.institution_id,
        task_list=task_list,
        report_type=report_type,
        portfolio_id=resource.id if isinstance(resource, Portfolio) else None,
        collection_id=resource.id if isinstance(resource, ElectronicCollection) else None,
        status=OPEN,
        suppressed=task_list == ACTIVATION,
        created_at=utcnow(),
    )
    session.add(task)
    session.flush()
    record_task_change(session, task, "created", None, report_type, actor)
    return task


def add_cz_update_items(
    session: Session, report_type: str, resources: Iterable[Portfolio | ElectronicCollection], actor: Actor
) -> list[EresourceTask]:
    """ER-14: one item per institution's copy of a changed Community Zone resource."""
    return [_add(session, CZ_UPDATES, report_type, resource, actor) for resource in resources]


def add_activation_item(
    session: Session, report_type: str, resource: Portfolio | ElectronicCollection, actor: Actor
) -> EresourceTask:
    """ER-15: the activated or locally created resource, in its institution's Activation Task List."""
    return _add(session, ACTIVATION, report_type, resource, actor)

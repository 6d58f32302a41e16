"""Writing and reading history (P-6).

`record` adds one row in the caller's transaction; bulk work writes its rows with
`INSERT ... SELECT` built by `history_insert_from_select`. Rows are never updated or deleted:
a flush that tries is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, event, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.audit.models import Actor, HistoryEvent
from consortia.db import utcnow


def text_of(value: Any) -> str | None:
    """The stored text of a value: dates as ISO, booleans lower-case, None as NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value)
    return str(value)


def record(
    session: Session,
    *,
    entity: str,
    entity_id: str | int,
    field: str,
    old: Any,
    new: Any,
    actor: Actor,
    institution_id: int | None,
) -> HistoryEvent | None:
    """Add one history row; a change that changes nothing writes nothing."""
    old_text, new_text = text_of(old), text_of(new)
    if old_text == new_text:
        return None
    row = HistoryEvent(
        entity=entity,
        entity_id=str(entity_id),
        institution_id=institution_id,
        field=field,
        old=old_text,
        new=new_text,
        actor_id=actor.user_id,
        actor=actor.label,
        at=utcnow(),
        job_instance_id=actor.job_instance_id,
    )
    session.add(row)
    return row


Value = Any  # a column expression of `where_from`'s rows, a mapped attribute, or a plain value


@dataclass(frozen=True)
class RowActor:
    """Who did each change of a bulk insert, read from its row: the user's id and the label (column
    expressions or plain values), and the job instance (None: none)."""

    user_id: Value
    label: Value
    job_instance_id: Value = None


def _column(value: Value) -> ColumnElement[Any]:
    if isinstance(value, ColumnElement):
        return value
    if hasattr(value, "__clause_element__"):  # a mapped attribute (`SupportCase.number`)
        return value.__clause_element__()  # type: ignore[no-any-return]
    return literal(value)


def history_insert_from_select(
    *,
    entity: str,
    entity_id: Value,
    institution_id: Value,
    field: str,
    old: Value,
    new: Value,
    actor: Actor | RowActor,
    where_from: Select[Any],
    at: Value = None,
) -> Any:
    """An `INSERT INTO history_event ... SELECT` over the rows of `where_from` (set-based bulk history).

    `where_from` supplies the FROM and WHERE; the values given here are selected from it: column
    expressions of its rows, or plain values the same for every row. `actor` is one `Actor` for every
    row (a job's submitter), or a `RowActor` read from each row (bulk data, each row's own person);
    `at` is the time of each row (a column), or of all of them (None: now).
    """
    who = actor if isinstance(actor, RowActor) else RowActor(actor.user_id, actor.label, actor.job_instance_id)
    selected = where_from.with_only_columns(
        literal(entity),
        _column(entity_id),
        _column(institution_id),
        literal(field),
        _column(old),
        _column(new),
        _column(who.user_id),
        _column(who.label),
        _column(utcnow() if at is None else at),
        _column(who.job_instance_id),
        maintain_column_froms=True,
    )
    return insert(HistoryEvent).from_select(
        [
            "entity",
            "entity_id",
            "institution_id",
            "field",
            "old",
            "new",
            "actor_id",
            "actor",
            "at",
            "job_instance_id",
        ],
        selected,
    )


def events_for(session: Session, entity: str, entity_id: str | int) -> Sequence[HistoryEvent]:
    """Every history row of one governed thing, oldest first."""
    return session.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == entity, HistoryEvent.entity_id == str(entity_id))
        .order_by(HistoryEvent.id)
    ).all()


@event.listens_for(Session, "before_flush")
def _history_is_append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, HistoryEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("history is append-only")

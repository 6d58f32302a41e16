"""History is one append-only mechanism."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from consortia.audit.models import SYSTEM, Actor
from consortia.audit.service import events_for, record


def test_record_writes_one_row_and_skips_non_changes(db: Session) -> None:
    actor = Actor(None, "Tester")
    assert (
        record(db, entity="thing", entity_id=7, field="name", old="a", new="a", actor=actor, institution_id=None)
        is None
    )
    record(db, entity="thing", entity_id=7, field="name", old="a", new="b", actor=actor, institution_id=None)
    db.flush()
    rows = events_for(db, "thing", "7")
    assert [(r.field, r.old, r.new, r.actor) for r in rows] == [("name", "a", "b", "Tester")]


def test_history_rows_cannot_be_changed_or_deleted(db: Session) -> None:
    row = record(db, entity="thing", entity_id=8, field="flag", old=False, new=True, actor=SYSTEM, institution_id=None)
    db.flush()
    assert row is not None
    row.new = "tampered"
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()
    row2 = record(db, entity="thing", entity_id=9, field="flag", old=False, new=True, actor=SYSTEM, institution_id=None)
    db.flush()
    db.delete(row2)
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()

"""Case numbers (SC-4): 8 digits, sequential, never handed out twice, even by concurrent transactions."""

from __future__ import annotations

import threading

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consortia.db import Database
from consortia.support.models import CaseNumberCounter, SupportCase
from consortia.support.service import allocate_case_number
from tests.factories import Factory
from tests.support.conftest import support_user


def test_concurrent_transactions_never_share_a_number(database: Database) -> None:
    with database.session() as session:
        session.execute(delete(CaseNumberCounter))
    taken: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def allocate(count: int) -> None:
        try:
            for _ in range(count):
                with database.session() as session:
                    number = allocate_case_number(session)
                with lock:
                    taken.append(number)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=allocate, args=(15,)) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(taken) == 60
        assert len(set(taken)) == 60
        assert sorted(taken) == [str(n).zfill(8) for n in range(1, 61)]
    finally:
        with database.session() as session:
            session.execute(delete(CaseNumberCounter))


def test_the_first_number_follows_existing_cases(db: Session, factory: Factory) -> None:
    """Cases loaded in bulk without the counter (e.g. an import) are continued, not overwritten."""
    assert db.scalar(select(CaseNumberCounter)) is None
    institution = factory.institution()
    opener = support_user(factory, institution, "loader", "STANDARD")
    db.add(
        SupportCase(
            number="00000041",
            institution_id=institution.id,
            opened_by_id=opener.id,
            subject="Loaded",
            issue_type="Other",
        )
    )
    db.flush()
    assert allocate_case_number(db) == "00000042"
    assert allocate_case_number(db) == "00000043"

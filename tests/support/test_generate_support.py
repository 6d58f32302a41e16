"""`consortia generate` builds the Support Center's volumes too (N-5): a smoke test at size XS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.access.identity import identity_for_user_id
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.generate import generate_data, step_done
from consortia.platform.models import Institution, User
from consortia.support import views
from consortia.support.generate import LICENCE_STEP, cases_step_name
from consortia.support.models import ConsortiaLicence, SupportCase
from consortia.support.service import allocate_case_number
from tests.bench.databases import fresh_database


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as database:
        yield database


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _partner_page(session: Session, primary_id: str) -> views.CasePage:
    user_id = session.scalars(select(User.id).where(User.primary_id_key == primary_id)).one()
    identity = identity_for_user_id(session, user_id)
    assert identity is not None
    view = views.access_view(session, identity, "partner-cases")
    return views.view_cases(session, identity, view, limit=25, offset=0, count_cap=None)


def test_size_xs_has_its_cases_history_and_licences(fresh: Database) -> None:
    generate_data(fresh, "XS")

    with fresh.session() as session:
        per_institution = Counter(
            session.scalars(
                select(Institution.code).join(SupportCase, SupportCase.institution_id == Institution.id)
            ).all()
        )
        assert per_institution == {f"GXS{n:02d}": 50 for n in range(1, 21)}
        numbers = sorted(session.scalars(select(SupportCase.number)).all())
        assert numbers == [f"{n:08d}" for n in range(1, 1001)]
        shared = Counter(
            session.scalars(
                select(Institution.code)
                .join(SupportCase, SupportCase.institution_id == Institution.id)
                .where(SupportCase.share_with == "CONSORTIUM")
            ).all()
        )
        # Consortium A (GXS01..GXS10) shares about one case in five; B has sharing disabled.
        assert set(shared) <= {f"GXS{n:02d}" for n in range(1, 11)}
        assert 60 <= sum(shared.values()) <= 140
        assert set(session.scalars(select(SupportCase.status).distinct())) == {
            "New",
            "In Progress",
            "Pending Customer",
            "Solved",
            "Closed",
        }
        # The rows opening writes, for every case, by its opener; a change of status for the others.
        not_new = _count(session, SupportCase, SupportCase.status != "New")
        fields = Counter(session.scalars(select(HistoryEvent.field).where(HistoryEvent.entity == "case")).all())
        assert fields == {"share_with": 1000, "status": 1000 + not_new}
        case = session.scalars(select(SupportCase).where(SupportCase.status == "Closed").limit(1)).one()
        history = session.scalars(
            select(HistoryEvent)
            .where(HistoryEvent.entity == "case", HistoryEvent.entity_id == case.number)
            .order_by(HistoryEvent.id)
        ).all()
        assert [(e.field, e.old, e.new) for e in history] == [
            ("status", None, "New"),
            ("share_with", None, case.share_with),
            ("status", "New", "Closed"),
        ]
        opener = session.get(User, case.opened_by_id)
        assert opener is not None
        assert {e.actor for e in history} == {opener.full_name}
        assert {e.actor_id for e in history} == {opener.id}
        assert history[0].at == case.created_at
        assert history[2].at == case.updated_at
        assert _count(session, ConsortiaLicence, ConsortiaLicence.removed_at.is_(None)) == 20
        assert step_done(session, "XS", cases_step_name(20))
        assert step_done(session, "XS", LICENCE_STEP)

        # The partner view of a CONSORTIA user of consortium A shows the shared cases of its members.
        partner = _partner_page(session, "gxs02-consortia")
        assert partner.total == sum(shared.values())
        assert {c.institution.code for c in partner.cases} <= set(shared)
        assert _partner_page(session, "gxs12-consortia").total == 0


def test_generating_again_adds_no_cases_and_numbers_continue(fresh: Database) -> None:
    generate_data(fresh, "XS")
    with fresh.session() as session:
        before = (_count(session, SupportCase), _count(session, HistoryEvent), _count(session, ConsortiaLicence))

    generate_data(fresh, "XS")

    with fresh.session() as session:
        after = (_count(session, SupportCase), _count(session, HistoryEvent), _count(session, ConsortiaLicence))
        assert after == before
        assert allocate_case_number(session) == "00001001"

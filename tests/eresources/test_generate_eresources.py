"""`consortia generate` builds the electronic inventory (N-1, N-2): a smoke test at size XS, and the scope
rule and the collection library job work on what it builds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consortia.access.identity import identity_for_user_id
from consortia.db import Database
from consortia.eresources import search, service
from consortia.eresources.generate import AGGREGATOR_NAME, aggregator_collection_id
from consortia.eresources.models import BibRecord, ElectronicCollection, Portfolio
from consortia.generate import generate_data, load_context
from consortia.jobs.runner import run_instance
from consortia.platform.generate import AGGREGATOR_PORTFOLIOS, PORTFOLIOS, institution_code, staff_id
from consortia.platform.models import Institution, User
from tests.bench.databases import fresh_database


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as database:
        yield database


def test_size_xs_inventory(fresh: Database) -> None:
    generate_data(fresh, "XS")
    generate_data(fresh, "XS")  # a second run adds nothing
    context = load_context(fresh, "XS")
    with fresh.session() as session:
        total = session.scalar(select(func.count()).select_from(Portfolio))
        assert total == round(PORTFOLIOS * 0.001)
        cid = aggregator_collection_id(session, context)
        assert cid is not None
        in_aggregator = session.scalar(
            select(func.count()).select_from(Portfolio).where(Portfolio.collection_id == cid)
        )
        assert in_aggregator == round(AGGREGATOR_PORTFOLIOS * 0.001)
        assert session.scalar(select(func.count()).select_from(BibRecord)) == -(-in_aggregator // 10) + 20 * -(
            -50 // 10
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(ElectronicCollection)
                .where(ElectronicCollection.public_name == AGGREGATOR_NAME)
            )
            == 1
        )
        code = institution_code("XS", 1)
        institution = session.scalars(select(Institution).where(Institution.code == code)).one()
        user_id = session.scalars(select(User.id).where(User.primary_id_key == staff_id(code, "eio-lib"))).one()
        identity = identity_for_user_id(session, user_id)
        assert identity is not None
        page = search.search_portfolios(session, identity, institution, limit=50)
        assert len(page.results) == 50
        assert page.facets
        assert any(r.actions for r in page.results)
        assert any(not r.actions for r in page.results)
        eio = identity_for_user_id(
            session, session.scalars(select(User.id).where(User.primary_id_key == staff_id(code, "eio"))).one()
        )
        assert eio is not None
        collection = session.get(ElectronicCollection, cid)
        assert collection is not None
        library = service.library_choices(session, eio, institution.id)[0]
        from consortia.jobs.queue import set_queue
        from tests.jobs.conftest import RecordingQueue

        set_queue(RecordingQueue())
        try:
            instance = service.set_collection_library(session, eio, collection, library)
            session.commit()  # handed to the recording queue, not run here
        finally:
            set_queue(None)
        instance_id = instance.id
    assert run_instance(fresh.sessionmaker, instance_id) == "finished"
    with fresh.session() as session:
        left = session.scalar(
            select(func.count())
            .select_from(Portfolio)
            .where(Portfolio.collection_id == cid, Portfolio.library_id.is_not(None))
        )
        assert left == 0

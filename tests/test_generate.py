"""Synthetic data (`consortia generate`): the shape of size S, idempotence, the domains' hook, atomic steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.db import Database
from consortia.domain import Domain
from consortia.domains import DOMAINS
from consortia.errors import BadRequest
from consortia.generate import generate_data, load_context, step_done
from consortia.platform.auth import sign_in
from consortia.platform.demo import DEMO_PASSWORD
from consortia.platform.generate import CASES, GenerationContext, Step, patron_id
from consortia.platform.models import (
    Consortium,
    FulfillmentNetwork,
    Institution,
    Library,
    User,
    UserBlock,
    UserIdentifier,
    UserRole,
)
from consortia.platform.users import find_user
from tests.bench.databases import fresh_database


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as database:
        yield database


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _patrons(session: Session) -> int:
    return _count(session, User, User.record_type == "PUBLIC")


def test_size_s_has_the_shape_of_spec_n(fresh: Database) -> None:
    context = generate_data(fresh, "s")

    assert context.size == "S"
    assert len(context.institutions) == 20
    assert context.network_institutions == [f"GS{n:02d}" for n in range(1, 11)]
    assert context.patrons_per_institution == 1_000
    with fresh.session() as session:
        assert _count(session, Library, Library.code.like("GS%")) == 100
        assert _patrons(session) == 10_000
        network = session.scalars(select(FulfillmentNetwork).where(FulfillmentNetwork.code == "GS_FN")).one()
        assert len(network.members) == 10
        sharing = dict(session.execute(select(Consortium.code, Consortium.case_sharing_enabled)).all())
        assert sharing == {"GS_A": True, "GS_B": False}
        # Two identifiers each, a consortial id for every tenth; a PATRON role each; a network block per hundred.
        assert _count(session, UserIdentifier) == 21_000
        assert _count(session, UserRole, UserRole.role_type == "PATRON") == 10_000
        assert _count(session, UserBlock, UserBlock.network.is_(True)) == 100
        assert _count(session, User, User.status == "INACTIVE") == 200
        gs02 = session.scalars(select(Institution).where(Institution.code == "GS02")).one()
        patron = find_user(session, gs02, "GS02-0000010", "BARCODE")
        assert patron is not None
        assert patron.primary_id == patron_id("GS02", 10)
        assert {i.id_type: i.value for i in patron.identifiers} == {
            "BARCODE": "GS02-0000010",
            "UNIV_ID": "U-GS02-0000010",
            "CONSORTIAL_ID": "C-GS02-0000010",
        }
        # Institutions outside the network have staff only.
        gs11 = session.scalars(select(Institution).where(Institution.code == "GS11")).one()
        assert _count(session, User, User.institution_id == gs11.id, User.record_type == "PUBLIC") == 0
        admin = sign_in(session, "gs11-admin", DEMO_PASSWORD)
        assert [role.role_type for role in admin.roles] == ["GENERAL_SYSTEM_ADMINISTRATOR"]


def test_generating_a_size_again_adds_nothing(fresh: Database) -> None:
    generate_data(fresh, "XS")
    with fresh.session() as session:
        before = (_patrons(session), _count(session, UserIdentifier), _count(session, Institution))

    again = generate_data(fresh, "XS")

    with fresh.session() as session:
        assert (_patrons(session), _count(session, UserIdentifier), _count(session, Institution)) == before
        assert step_done(session, "XS", "patrons:GXS10")
        assert not step_done(session, "S", "tenancy")
    assert again.staff == load_context(fresh, "XS").staff


def test_sizes_live_side_by_side(fresh: Database) -> None:
    generate_data(fresh, "XS")
    generate_data(fresh, "S")
    with fresh.session() as session:
        assert _patrons(session) == 1_000 + 10_000


def test_domain_generators_run_once_in_their_own_step(fresh: Database) -> None:
    runs: list[GenerationContext] = []

    def cases(session: Session, context: GenerationContext) -> None:
        runs.append(context)
        session.add(Consortium(code="HOOKED", name=f"{context.scaled(CASES)} cases"))

    def generate(_context: GenerationContext, step: Step) -> None:
        step("test-cases", cases)

    domains = (*DOMAINS, Domain(name="hooked", generate=generate))
    generate_data(fresh, "XS", domains=domains)
    generate_data(fresh, "XS", domains=domains)

    assert len(runs) == 1
    assert runs[0].scaled(CASES) == 1_000
    assert runs[0].staff  # the generated structure is there for the domain to use
    with fresh.session() as session:
        assert session.scalars(select(Consortium.name).where(Consortium.code == "HOOKED")).one() == "1000 cases"
        assert step_done(session, "XS", "test-cases")


def test_a_failing_step_leaves_nothing_and_runs_again(fresh: Database) -> None:
    def broken(session: Session, _context: GenerationContext) -> None:
        session.add(Consortium(code="HALF", name="Half written"))
        session.flush()
        raise RuntimeError("disk full")

    def generate(_context: GenerationContext, step: Step) -> None:
        step("test-broken", broken)

    with pytest.raises(RuntimeError, match="disk full"):
        generate_data(fresh, "XS", domains=(*DOMAINS, Domain(name="broken", generate=generate)))

    with fresh.session() as session:
        assert session.scalar(select(Consortium.id).where(Consortium.code == "HALF")) is None
        assert not step_done(session, "XS", "test-broken")
        assert step_done(session, "XS", "patrons:GXS10")


def test_an_unknown_size_is_refused(fresh: Database) -> None:
    with pytest.raises(BadRequest, match="Unknown size XL"):
        generate_data(fresh, "XL")

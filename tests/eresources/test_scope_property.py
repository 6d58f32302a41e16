"""STYLE principle 2 for ER-3, ER-5 and ER-6: the scope rule's faces agree on generated data.

For generated institutions (switch on or off), libraries, users holding EIO, Extended, Limited, CDI and
Purchasing Operator at institution and library scope, collections with and without a library, services,
and portfolios in collections or standalone with and without a library of their own, for every user:

- for edit and delete of collections, services and portfolios, the SQL face selects exactly the
  resources the Python face allows;
- the Library facet counts exactly the portfolios whose Python effective library is that library;
- a decision as the platform's `decide` agrees with the fast `allows`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access import policy
from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.eresources import policy as scope
from consortia.eresources.models import ElectronicCollection, ElectronicService, Portfolio
from consortia.eresources.search import portfolio_facet
from consortia.eresources.service import rows_scope, scoped
from consortia.platform.models import Library
from tests.eresources.conftest import bib, set_switch
from tests.factories import Factory

ROLES = (
    R.ELECTRONIC_INVENTORY_OPERATOR,
    R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED,
    R.ELECTRONIC_INVENTORY_OPERATOR_LIMITED,
    R.CDI_INVENTORY_OPERATOR,
    R.PURCHASING_OPERATOR,
    R.CIRCULATION_DESK_OPERATOR,
)
LIBRARIES = 3


@dataclass(frozen=True)
class Plan:
    switches: tuple[bool, bool]
    users: tuple[tuple[int, tuple[tuple[str, int | None], ...]], ...]  # institution, (role, library or None)
    collections: tuple[tuple[int, int | None], ...]  # institution, library
    portfolios: tuple[tuple[int, int | None, int | None], ...]  # institution, collection index, library


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    switches = (draw(st.booleans()), draw(st.booleans()))
    library = st.one_of(st.none(), st.integers(0, LIBRARIES - 1))
    grant = st.tuples(st.sampled_from(ROLES), library)
    users = tuple(
        draw(
            st.lists(
                st.tuples(st.integers(0, 1), st.lists(grant, max_size=3, unique=True).map(tuple)),
                min_size=1,
                max_size=5,
            )
        )
    )
    collections = tuple(draw(st.lists(st.tuples(st.integers(0, 1), library), max_size=4)))
    portfolio_collection = st.one_of(st.none(), st.integers(0, len(collections) - 1)) if collections else st.none()
    portfolios = tuple(draw(st.lists(st.tuples(st.integers(0, 1), portfolio_collection, library), max_size=10)))
    return Plan(switches, users, collections, portfolios)


KINDS = ((scope.COLLECTION, ElectronicCollection), (scope.SERVICE, ElectronicService), (scope.PORTFOLIO, Portfolio))


def _query(kind: str, model: type, institution_id: int, condition: object) -> object:
    statement = select(model.id).where(model.institution_id == institution_id, condition)  # type: ignore[attr-defined]
    if kind == scope.SERVICE:
        statement = statement.join(ElectronicCollection, ElectronicCollection.id == ElectronicService.collection_id)
    if kind == scope.PORTFOLIO:
        statement = statement.outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
    return statement


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_check_filter_and_facet_agree(db: Session, plan: Plan) -> None:
    outer = db.begin_nested()
    try:
        factory = Factory(db)
        institutions = [factory.institution(libraries=LIBRARIES) for _ in range(2)]
        for institution, on in zip(institutions, plan.switches, strict=True):
            set_switch(db, institution, on)
        libraries = [
            list(db.scalars(select(Library).where(Library.institution_id == i.id).order_by(Library.id)))
            for i in institutions
        ]
        users = [
            factory.user(
                institutions[place],
                roles=tuple((role, None if lib is None else libraries[place][lib]) for role, lib in grants),
            )
            for place, grants in plan.users
        ]
        collections = []
        for place, lib in plan.collections:
            row = ElectronicCollection(
                institution_id=institutions[place].id,
                public_name="c",
                library_id=None if lib is None else libraries[place][lib].id,
            )
            db.add(row)
            db.flush()
            db.add(ElectronicService(institution_id=row.institution_id, collection_id=row.id))
            collections.append(row)
        db.flush()
        portfolios = []
        for place, index, lib in plan.portfolios:
            owner = collections[index] if index is not None else None
            institution = institutions[owner.institution_id == institutions[1].id] if owner else institutions[place]
            ix = institutions.index(institution)
            row = Portfolio(
                institution_id=institution.id,
                bib_id=bib(db, institution).id,
                collection_id=owner.id if owner else None,
                service_id=owner.services[0].id if owner else None,
                library_id=None if lib is None else libraries[ix][lib].id,
                title="p",
            )
            db.add(row)
            portfolios.append(row)
        db.flush()
        for row in [*collections, *portfolios]:
            db.refresh(row)
        services = list(
            db.scalars(
                select(ElectronicService).where(ElectronicService.collection_id.in_([c.id for c in collections]))
            )
        )
        objects = {scope.COLLECTION: collections, scope.SERVICE: services, scope.PORTFOLIO: portfolios}
        for user in users:
            identity = identity_of(user)
            for institution in institutions:
                for kind, model in KINDS:
                    rows = rows_scope(db, kind, institution.id, model)
                    mine = [o for o in objects[kind] if o.institution_id == institution.id]
                    for face, permission in (
                        (scope.editable_rows, scope.EDIT_PERMISSION),
                        (scope.deletable_rows, scope.DELETE_PERMISSION),
                    ):
                        allowed = {o.id for o in mine if policy.allows(identity, permission[kind], scoped(db, o))}
                        decided = {
                            o.id for o in mine if policy.decide(identity, permission[kind], scoped(db, o)).allowed
                        }
                        selected = set(db.scalars(_query(kind, model, institution.id, face(identity, rows))))  # type: ignore[arg-type]
                        assert selected == allowed, f"{kind} {face.__name__} of {user.primary_id}"
                        assert decided == allowed
        for institution in institutions:
            expected = Counter(scope.effective_library_id(p) for p in portfolios if p.institution_id == institution.id)
            facet = {value.library.id: value.count for value in portfolio_facet(db, institution) if value.library}
            assert facet == {lib: n for lib, n in expected.items() if lib is not None}
    finally:
        outer.rollback()

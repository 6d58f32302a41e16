"""STYLE principle 2 for SC-6: the visibility rule's two faces agree on generated data.

For generated consortia (sharing on or off), institutions (in a consortium or not), users of every
Support Center level and cases (any opener, either Share with), and for every user and the operator:

- the SQL face (`where`) selects exactly the cases the test face (`test`) allows, for reading and
  for managing;
- every list view lists exactly the visible cases that its own definition selects, so a view
  never shows a case that could not be opened, and hides none it should show.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access import policy
from consortia.access.identity import Identity, identity_of
from consortia.access.permissions import Permission as P
from consortia.platform.models import Consortium, Institution, User
from consortia.support.models import SHARE_CONSORTIUM, SupportCase
from consortia.support.policy import can_see_case, visible_cases
from consortia.support.views import BUILT_IN_VIEWS, access_view, view_cases
from tests.factories import Factory
from tests.support.conftest import make_case, support_user

LEVELS = ("NONE", "BASIC", "STANDARD", "CONSORTIA")


@dataclass(frozen=True)
class Plan:
    sharing: tuple[bool, bool]
    institutions: tuple[int | None, ...]  # consortium index of each institution, or None
    users: tuple[tuple[int, str], ...]  # (institution index, level)
    cases: tuple[tuple[int, int, bool], ...]  # (institution index, opener index, shared with the consortium)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    sharing = (draw(st.booleans()), draw(st.booleans()))
    institutions = tuple(draw(st.lists(st.sampled_from([0, 1, None]), min_size=1, max_size=4)))
    n = len(institutions)
    users = tuple(draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(LEVELS)), min_size=1, max_size=6)))
    cases = tuple(
        draw(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, len(users) - 1), st.booleans()),
                max_size=10,
            )
        )
    )
    return Plan(sharing, institutions, users, cases)


def _view_selects(key: str, identity: Identity, case: SupportCase) -> bool:
    """Each built-in view's own definition, written out independently of the SQL."""
    if key == "my-cases":
        return case.opened_by_id == identity.user_id
    if key == "my-institution":
        return case.institution_id == identity.institution_id
    if key == "partner-cases":
        consortium = case.institution.consortium
        return (
            case.share_with == SHARE_CONSORTIUM
            and consortium is not None
            and consortium.id == identity.consortium_id
            and consortium.case_sharing_enabled
        )
    return key == "all-cases"


def _build(factory: Factory, plan: Plan) -> tuple[list[User], list[SupportCase]]:
    consortia: list[Consortium] = [factory.consortium(case_sharing_enabled=flag) for flag in plan.sharing]
    institutions: list[Institution] = [
        factory.institution(consortium=None if index is None else consortia[index], libraries=0)
        for index in plan.institutions
    ]
    users = [
        support_user(factory, institutions[place], f"u{i}-{level.lower()}", level)
        for i, (place, level) in enumerate(plan.users)
    ]
    users.append(factory.operator())
    cases = []
    for place, opener_index, shared in plan.cases:
        # The opener may belong to another institution than the case (moved staff), so that the
        # opener branch of the rule is exercised on its own.
        case = make_case(
            factory.session, users[opener_index], share_with="CONSORTIUM" if shared else "INSTITUTION", commit=False
        )
        case.institution_id = institutions[place].id
        factory.session.flush()
        factory.session.refresh(case)
        cases.append(case)
    return users, cases


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_rule_faces_and_list_views_agree(db: Session, plan: Plan) -> None:
    outer = db.begin_nested()
    try:
        users, cases = _build(Factory(db), plan)
        for user in users:
            identity = identity_of(user)
            allowed = {case.id for case in cases if can_see_case(identity, case)}
            selected = set(db.scalars(select(SupportCase.id).where(visible_cases(identity, SupportCase))))
            assert selected == allowed, f"read faces disagree for {user.primary_id}"

            manageable = {case.id for case in cases if policy.allows(identity, P.CASE_EDIT, case)}
            managed = set(db.scalars(select(SupportCase.id).where(policy.where(identity, P.CASE_EDIT, SupportCase))))
            assert managed == manageable, f"manage faces disagree for {user.primary_id}"
            assert manageable <= allowed

            for key, built_in in BUILT_IN_VIEWS.items():
                if not built_in.available(identity):
                    continue
                view = access_view(db, identity, key)
                page = view_cases(db, identity, view, limit=100, offset=0)
                listed = {case.id for case in page.cases}
                expected = {case.id for case in cases if case.id in allowed and _view_selects(key, identity, case)}
                assert listed == expected, f"view {key} of {user.primary_id}"
                assert page.total == len(expected)
    finally:
        outer.rollback()

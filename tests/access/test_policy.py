"""The permission map: deny by default, reasons, and the two faces of each rule agreeing."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity, RoleGrant, identity_of
from consortia.access.permissions import Permission as P
from consortia.access.policy import PERMISSION_MAP, allows, decide, where
from consortia.platform.models import Institution, User
from tests.factories import Factory


def _identity(institution_id: int | None, *roles: str, operator: bool = False, user_id: int = 1) -> Identity:
    return Identity(
        user_id=user_id,
        primary_id="someone",
        display_name="Someone",
        institution_id=institution_id,
        consortium_id=None,
        is_operator=operator,
        roles=frozenset(RoleGrant(r, None) for r in roles),
        acting_institution_id=institution_id,
    )


def test_every_permission_has_rules() -> None:
    """With the domains assembled (tests/conftest.py), every permission has its rules (the assembled map in
    the server, a worker and a command: tests/test_domains.py)."""
    assert set(P) <= set(PERMISSION_MAP)
    assert all(PERMISSION_MAP[permission] for permission in P)


def test_unknown_permission_is_denied_by_default() -> None:
    decision = decide(_identity(1), "no:such")  # type: ignore[arg-type]
    assert not decision.allowed
    assert decision.rule == "deny_by_default"


def test_decision_names_the_rule_and_the_roles(factory: Factory) -> None:
    east = factory.institution("PEAST")
    admin = identity_of(factory.user(east, roles=(R.USER_ADMINISTRATOR,)))
    target = factory.user(east, record_type="PUBLIC")
    decision = decide(admin, P.USER_EDIT, target)
    assert decision.allowed
    assert decision.rule == "administers:USER_ADMINISTRATOR"
    assert "USER_ADMINISTRATOR (institution)" in decision.reason


def test_other_institution_is_denied_even_with_the_role(factory: Factory) -> None:
    east, west = factory.institution("PEAST2"), factory.institution("PWEST2")
    admin = identity_of(factory.user(east, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)))
    stranger = factory.user(west)
    assert not allows(admin, P.USER_READ, stranger)
    assert "User Administrator" in decide(admin, P.USER_EDIT, stranger).reason


ROLE_CHOICES = st.lists(
    st.sampled_from(
        [
            R.GENERAL_SYSTEM_ADMINISTRATOR,
            R.USER_ADMINISTRATOR,
            R.CIRCULATION_DESK_OPERATOR,
            R.REPOSITORY_MANAGER,
            R.PATRON,
        ]
    ),
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    who=st.tuples(st.integers(0, 2), ROLE_CHOICES, st.booleans()),
    permission=st.sampled_from([P.USER_READ, P.USER_EDIT, P.USER_DELETE, P.USER_CREDENTIALS, P.ROLE_GRANT]),
)
def test_check_and_filter_agree_for_users(db: Session, who: tuple[int, list[str], bool], permission: P) -> None:
    """`allows(identity, p, user)` holds exactly for the users that `where(identity, p, User)` selects,
    among them General System Administrators (active, inactive and expired assignments: P-4 spares them
    all from User Administrators) and Consortia users."""
    institutions = db.scalars(select(Institution).where(Institution.code.in_(["AGREE1", "AGREE2"]))).all()
    if not institutions:
        factory = Factory(db)
        institutions = [factory.institution("AGREE1"), factory.institution("AGREE2")]
        for inst in institutions:
            for _ in range(3):
                factory.user(inst, password=False)
            factory.user(inst, password=False, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR, R.USER_ADMINISTRATOR))
            factory.user(inst, password=False, support_level="CONSORTIA")
            inactive = factory.user(inst, password=False, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,))
            expired = factory.user(inst, password=False, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,))
            inactive.roles[0].status = "INACTIVE"
            expired.roles[0].expiry_date = dt.date(2000, 1, 1)
            db.flush()
    index, roles, operator = who
    users = db.scalars(select(User).where(User.institution_id.in_([i.id for i in institutions]))).all()
    home = institutions[index].id if index < 2 else None
    identity = _identity(home, *roles, operator=operator and index == 2, user_id=users[0].id)
    selected = set(
        db.scalars(select(User.id).where(User.id.in_([u.id for u in users]), where(identity, permission, User)))
    )
    checked = {u.id for u in users if allows(identity, permission, u)}
    assert selected == checked

"""Granting roles (P-4, ER-4): who may, which sets are allowed, and the history of every change.

Every path goes through `set_user_roles`: the API (PUT/POST user_role) and the verb itself.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.access.identity import identity_of
from consortia.access.roles import RoleSpec
from consortia.audit.models import HistoryEvent
from consortia.errors import Forbidden, NotFound
from consortia.platform.models import CodeTableRow
from consortia.platform.user_roles import RoleProblems, set_user_roles
from tests.almaws.test_users_world import UsersWorld, build_users_world, error_of
from tests.factories import Factory

EIO = R.ELECTRONIC_INVENTORY_OPERATOR
EXT = R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED
LIM = R.ELECTRONIC_INVENTORY_OPERATOR_LIMITED
CDI = R.CDI_INVENTORY_OPERATOR


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


def _role(role_type: str, scope: str = "EAST", status: str = "ACTIVE") -> dict:  # type: ignore[type-arg]
    return {"role_type": {"value": role_type}, "scope": {"value": scope}, "status": {"value": status}}


def _put_roles(client: TestClient, world: UsersWorld, who: str, target: str, roles: list[dict]):  # type: ignore[no-untyped-def, type-arg]
    current = world.call(client, "operator", "GET", f"/almaws/v1/users/{target}").json()
    return world.call(client, who, "PUT", f"/almaws/v1/users/{target}", json={**current, "user_role": roles})


def _role_history(world: UsersWorld, primary_id: str) -> list[tuple[str | None, str | None]]:
    rows = world.factory.session.scalars(
        select(HistoryEvent)
        .where(HistoryEvent.entity == "user", HistoryEvent.entity_id == primary_id, HistoryEvent.field == "role")
        .order_by(HistoryEvent.id)
    )
    return [(row.old, row.new) for row in rows]


def _roles_of(client: TestClient, world: UsersWorld, target: str) -> set[tuple[str, str, str]]:
    body = world.call(client, "operator", "GET", f"/almaws/v1/users/{target}").json()
    return {(r["role_type"]["value"], r["scope"]["value"], r["status"]["value"]) for r in body["user_role"]}


# --- ER-4 matrix ------------------------------------------------------------------------------

ER4_CASES = [
    # (roles, allowed)
    ([_role(EIO), _role(EXT, "EAST_L1")], False),  # EIO at institution + Extended at a library
    ([_role(EIO), _role(LIM, "EAST_L2")], False),
    ([_role(EIO, "EAST_L1"), _role(EXT, "EAST_L2")], True),  # EIO at a library: other library scopes fine
    ([_role(EIO, "EAST_L1"), _role(LIM, "EAST_L2"), _role(EXT, "EAST_L1")], True),
    ([_role(CDI), _role(EXT, "EAST_L1")], False),  # the same for the CDI Inventory Operator
    ([_role(CDI, "EAST_L1"), _role(LIM, "EAST_L2")], True),
    ([_role(EIO), _role(EXT)], True),  # both at institution level
    ([_role(EIO, status="INACTIVE"), _role(EXT, "EAST_L1")], True),  # an inactive base role does not count
    ([_role(EIO, "EAST_L1"), _role(CDI), _role(EXT, "EAST_L2")], False),  # CDI at institution blocks it
    ([_role(R.GENERAL_SYSTEM_ADMINISTRATOR, "EAST_L1")], False),  # institution-only role
    ([_role(EIO, "WEST_L1")], False),  # another institution's library
    ([_role(EIO, "NOWHERE")], False),
    ([_role("LIBRARIAN")], False),  # unknown role type
    ([_role(EIO), _role(EIO)], False),  # twice
    ([_role(EIO, status="SUSPENDED")], False),
]


@pytest.mark.parametrize(("roles", "allowed"), ER4_CASES)
def test_er4_matrix_through_the_api(
    client: TestClient,
    world: UsersWorld,
    roles: list[dict],  # type: ignore[type-arg]
    allowed: bool,
) -> None:
    before = _roles_of(client, world, "east-staff")
    response = _put_roles(client, world, "east_ua", "east-staff", roles)
    if allowed:
        assert response.status_code == 200, response.text
        assert _roles_of(client, world, "east-staff") == {
            (r["role_type"]["value"], r["scope"]["value"], r["status"]["value"]) for r in roles
        }
        assert len(_role_history(world, "east-staff")) == len(roles)
    else:
        assert response.status_code == 400, response.text
        assert error_of(response)["errorCode"] == "40166411"
        assert _roles_of(client, world, "east-staff") == before  # nothing saved
        assert _role_history(world, "east-staff") == []


def test_er4_on_create_creates_nothing(client: TestClient, world: UsersWorld) -> None:
    body = {"primary_id": "er4-new", "last_name": "N", "user_role": [_role(EIO), _role(EXT, "EAST_L1")]}
    response = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=body)
    assert response.status_code == 400
    assert world.call(client, "east_ua", "GET", "/almaws/v1/users/er4-new").status_code == 404


def test_every_problem_is_listed(client: TestClient, world: UsersWorld) -> None:
    roles = [_role(EIO), _role(EXT, "EAST_L1"), _role(LIM, "EAST_L2"), _role(R.USER_ADMINISTRATOR, "EAST_L1")]
    response = _put_roles(client, world, "east_ua", "east-staff", roles)
    assert response.status_code == 400
    message = error_of(response)["errorMessage"]
    assert "Electronic Inventory Operator Extended cannot be given a library scope (EAST_L1)" in message
    assert "Electronic Inventory Operator Limited cannot be given a library scope (EAST_L2)" in message
    assert "User Administrator can only be held at institution level" in message


def test_the_verb_lists_problems_and_changes_nothing(world: UsersWorld) -> None:
    session = world.factory.session
    target = world["east_staff"].user
    actor = identity_of(world["east_ua"].user)
    with pytest.raises(RoleProblems) as raised:
        set_user_roles(session, actor, target, [RoleSpec(CDI, None), RoleSpec(EXT, "EAST_L2")])
    assert len(raised.value.problems) == 1
    assert target.roles == []


# --- history ----------------------------------------------------------------------------------


def test_history_row_for_every_role_change(client: TestClient, world: UsersWorld) -> None:
    first = [_role(EIO, "EAST_L1"), _role(EXT, "EAST_L2")]
    assert _put_roles(client, world, "east_ua", "east-staff", first).status_code == 200
    assert _role_history(world, "east-staff") == [
        (None, "ELECTRONIC_INVENTORY_OPERATOR @ EAST_L1 (ACTIVE)"),
        (None, "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED @ EAST_L2 (ACTIVE)"),
    ]
    # Scope change (a removal and an addition), status change, and a new institution-level role.
    second = [_role(EIO, "EAST_L2"), _role(EXT, "EAST_L2", "INACTIVE"), _role(R.PURCHASING_OPERATOR)]
    assert _put_roles(client, world, "east_ua", "east-staff", second).status_code == 200
    assert _role_history(world, "east-staff")[2:] == [
        ("ELECTRONIC_INVENTORY_OPERATOR @ EAST_L1 (ACTIVE)", None),
        (None, "ELECTRONIC_INVENTORY_OPERATOR @ EAST_L2 (ACTIVE)"),
        (
            "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED @ EAST_L2 (ACTIVE)",
            "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED @ EAST_L2 (INACTIVE)",
        ),
        (None, "PURCHASING_OPERATOR @ EAST (ACTIVE)"),
    ]
    # The same set again writes nothing.
    assert _put_roles(client, world, "east_ua", "east-staff", second).status_code == 200
    assert len(_role_history(world, "east-staff")) == 6
    rows = world.factory.session.scalars(
        select(HistoryEvent).where(HistoryEvent.entity_id == "east-staff", HistoryEvent.field == "role")
    ).all()
    assert {row.actor_id for row in rows} == {world["east_ua"].user.id}
    assert {row.institution_id for row in rows} == {world.east.id}


def test_role_expiry_is_kept_and_recorded(client: TestClient, world: UsersWorld) -> None:
    role = {**_role(R.CIRCULATION_DESK_OPERATOR), "expiry_date": "2031-05-01Z"}
    response = _put_roles(client, world, "east_ua", "east-staff", [role])
    assert response.status_code == 200, response.text
    assert response.json()["user_role"][0]["expiry_date"] == "2031-05-01Z"
    assert _role_history(world, "east-staff") == [(None, "CIRCULATION_DESK_OPERATOR @ EAST (ACTIVE, until 2031-05-01)")]
    stored = world["east_staff"].user
    world.factory.session.refresh(stored)
    assert stored.roles[0].expiry_date == dt.date(2031, 5, 1)


# --- who may grant ----------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("operator", 200), ("east_gsa", 200), ("east_ua", 403)])
def test_only_gsa_or_operator_grant_gsa(client: TestClient, world: UsersWorld, who: str, status: int) -> None:
    response = _put_roles(client, world, who, "east-staff", [_role(R.GENERAL_SYSTEM_ADMINISTRATOR)])
    assert response.status_code == status, response.text
    if status == 403:
        assert "General System Administrator" in error_of(response)["errorMessage"]
        assert _roles_of(client, world, "east-staff") == set()


def test_user_administrator_cannot_change_the_roles_of_a_gsa(client: TestClient, world: UsersWorld) -> None:
    gsa_role = _role(R.GENERAL_SYSTEM_ADMINISTRATOR)
    removal = _put_roles(client, world, "east_ua", "east-gsa", [_role(R.CIRCULATION_DESK_OPERATOR)])
    assert removal.status_code == 403
    # Not even another role beside it (P-4: a GSA's account is the GSA's and the operator's).
    kept = _put_roles(client, world, "east_ua", "east-gsa", [gsa_role, _role(R.CIRCULATION_DESK_OPERATOR)])
    assert kept.status_code == 403, kept.text
    assert "only by a General System Administrator" in kept.text
    by_operator = _put_roles(client, world, "operator", "east-gsa", [gsa_role, _role(R.CIRCULATION_DESK_OPERATOR)])
    assert by_operator.status_code == 200, by_operator.text
    deactivate = _put_roles(
        client, world, "east_ua", "east-gsa", [_role(R.GENERAL_SYSTEM_ADMINISTRATOR, status="INACTIVE")]
    )
    assert deactivate.status_code == 403


def test_user_administrator_grants_other_roles(client: TestClient, world: UsersWorld) -> None:
    response = _put_roles(client, world, "east_ua", "east-staff", [_role(R.USER_ADMINISTRATOR)])
    assert response.status_code == 200, response.text


def test_verb_refuses_those_who_may_not_grant(world: UsersWorld) -> None:
    session = world.factory.session
    target = world["east_pat"].user
    with pytest.raises(Forbidden):
        set_user_roles(session, identity_of(world["east_cdo"].user), target, [RoleSpec(R.PATRON, None)])
    with pytest.raises(NotFound):
        set_user_roles(session, identity_of(world["east_staff"].user), target, [RoleSpec(R.PATRON, None)])
    with pytest.raises(NotFound):
        set_user_roles(session, identity_of(world["west_ua"].user), target, [RoleSpec(R.PATRON, None)])
    assert target.roles == []


def test_disabled_role_type_cannot_be_newly_granted(client: TestClient, world: UsersWorld) -> None:
    assert _put_roles(client, world, "east_ua", "east-staff", [_role(R.REPOSITORY_MANAGER)]).status_code == 200
    session = world.factory.session
    session.add(
        CodeTableRow(
            institution_id=world.east.id,
            table_name="UserRoles",
            code=R.REPOSITORY_MANAGER,
            description="Repository Manager",
            enabled=False,
        )
    )
    session.commit()
    # The existing assignment is kept; a new one is refused.
    keep = [_role(R.REPOSITORY_MANAGER), _role(R.PATRON)]
    assert _put_roles(client, world, "east_ua", "east-staff", keep).status_code == 200
    refused = _put_roles(client, world, "east_ua", "east-pat2", [_role(R.REPOSITORY_MANAGER)])
    assert refused.status_code == 400
    assert "disabled" in error_of(refused)["errorMessage"]


def test_granted_roles_take_effect_on_the_next_request(client: TestClient, world: UsersWorld) -> None:
    staff = world["east_staff"]
    assert world.call(client, "east_staff", "GET", "/almaws/v1/users/east-pat").status_code == 404
    assert _put_roles(client, world, "east_ua", "east-staff", [_role(R.CIRCULATION_DESK_OPERATOR)]).status_code == 200
    response = client.get("/almaws/v1/users/east-pat", headers=staff.headers)
    assert response.status_code == 200

"""ER-4 with P-4: only an ACTIVE, unexpired role counts. With the switch on, a library-scoped Electronic
Inventory Operator role that is inactive or expired grants no editing, in the check (PUT) and in the SQL face
(the search's `editable=true`); the same person with the role active edits. The person keeps an active desk
role, so they stay staff who see the inventory (a denial is then 403, not 404)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import forget_cached_identities, identity_of
from consortia.eresources import policy as scope
from consortia.eresources import search
from consortia.eresources.service import scoped
from consortia.platform.models import UserRole
from tests.eresources.conftest import World, portfolio
from tests.factories import days

API = "/api/v1/eresources"


@pytest.mark.parametrize(
    ("status", "expiry", "edits"),
    [
        ("INACTIVE", None, False),
        ("ACTIVE", days(-1), False),
        ("INACTIVE", days(30), False),
        ("ACTIVE", None, True),
        ("ACTIVE", dt.date.today(), True),  # a role expires after its expiry date, not on it
    ],
    ids=["inactive", "expired", "inactive-unexpired", "active", "expires-today"],
)
def test_only_active_unexpired_roles_edit(
    client: TestClient, db: Session, world: World, status: str, expiry: dt.date | None, edits: bool
) -> None:
    one = portfolio(db, world.east, library=world.law)
    person = world.factory.user(
        world.east, roles=((R.ELECTRONIC_INVENTORY_OPERATOR, world.law), R.CIRCULATION_DESK_OPERATOR)
    )
    role = next(r for r in person.roles if r.role_type == R.ELECTRONIC_INVENTORY_OPERATOR)
    role.status, role.expiry_date = status, expiry
    db.commit()
    forget_cached_identities()
    headers = world.factory.key(person)
    db.commit()

    put = client.put(f"/almaws/v1/bibs/{one.bib_id}/portfolios/{one.id}", json={"coverage": "x"}, headers=headers)
    assert put.status_code == (200 if edits else 403), put.text
    editable = client.get(f"{API}/portfolios/search?editable=true", headers=headers).json()
    assert editable["total_record_count"] == (1 if edits else 0)
    editor = client.get(f"{API}/portfolios/{one.id}/editor", headers=headers).json()
    assert editor["mode"] == ("EDIT" if edits else "VIEW")

    # the identity of a signed-in person (the pages' face), both faces of the rule
    db.refresh(person)
    identity = identity_of(person)
    assert identity.has_role(R.ELECTRONIC_INVENTORY_OPERATOR) is edits
    assert scope.can_edit(identity, scoped(db, one)) is edits
    assert search.search_portfolios(db, identity, world.east, editable=True).total == (1 if edits else 0)


def test_the_same_person_edits_once_the_role_is_active_again(client: TestClient, db: Session, world: World) -> None:
    one = portfolio(db, world.east, library=world.law)
    person = world.factory.user(
        world.east, roles=((R.ELECTRONIC_INVENTORY_OPERATOR, world.law), R.CIRCULATION_DESK_OPERATOR)
    )
    role = db.get(UserRole, next(r.id for r in person.roles if r.role_type == R.ELECTRONIC_INVENTORY_OPERATOR))
    assert role is not None
    role.status = "INACTIVE"
    db.commit()
    headers = world.factory.key(person)
    db.commit()
    path = f"/almaws/v1/bibs/{one.bib_id}/portfolios/{one.id}"
    assert client.put(path, json={"coverage": "x"}, headers=headers).status_code == 403
    role.status = "ACTIVE"
    db.commit()
    forget_cached_identities()  # a role changed outside the verbs: the key's cached identity is dropped by hand
    assert client.put(path, json={"coverage": "y"}, headers=headers).status_code == 200
    assert client.get(f"{API}/portfolios/search?editable=true", headers=headers).json()["total_record_count"] == 1

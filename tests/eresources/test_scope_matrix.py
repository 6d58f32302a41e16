"""ER-2, ER-3, ER-5, ER-6 over HTTP: role x scope x effective library x switch, for edit, delete and add of
collections, services and portfolios. One set-up per (person, switch), shared by every resource case.

The expectations are written out here from the SPEC, not computed by the rule under test: editing needs
EIO, CDI or Purchasing Operator, deleting needs Extended; with the switch off any scope will do; with it on,
institution scope or the resource's effective library (the collection's library, else the portfolio's own);
a resource at institution level only through institution scope. People who are not staff of EAST get 404.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.access import roles as R
from tests.eresources.conftest import PEOPLE, World, build_world, collection, portfolio
from tests.factories import Factory

E = "/almaws/v1/electronic/e-collections"
EDITING = {R.ELECTRONIC_INVENTORY_OPERATOR, R.CDI_INVENTORY_OPERATOR, R.PURCHASING_OPERATOR}
DELETING = {R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED}
STAFF = {name for name in PEOPLE if name != "patron"}

# (collection library, portfolio's own library) -> effective; "none" collection = standalone portfolio
PORTFOLIO_CASES = (
    ("standalone", None, None),
    ("standalone", "law", "law"),
    (None, "law", "law"),
    (None, None, None),
    ("law", None, "law"),
    ("sci", "law", "sci"),
    ("main", None, "main"),
)
COLLECTION_CASES = (None, "law", "sci", "main")


def scopes(name: str, roles: set[str]) -> set[str]:
    return {lib or "INSTITUTION" for role, lib in PEOPLE.get(name, ()) if role in roles}


def may(name: str, roles: set[str], effective: str | None, switch: bool) -> bool:
    held = scopes(name, roles)
    if name == "operator":
        return True
    if not held:
        return False
    if not switch or "INSTITUTION" in held:
        return True
    return effective is not None and effective in held


def status(allowed: bool, ok: int = 200) -> int:
    return ok if allowed else 403


def sees(name: str) -> bool:
    return name in STAFF or name == "operator"


@pytest.mark.parametrize("switch", [True, False], ids=["limits-on", "limits-off"])
@pytest.mark.parametrize("name", [*PEOPLE, "west_eio", "operator"])
def test_scope_matrix(client: TestClient, db: Session, factory: Factory, name: str, switch: bool) -> None:
    world: World = build_world(factory, switch=switch)
    lib = {None: None, "law": world.law, "sci": world.sci, "main": world.main}
    headers = world.key(name)
    query = "?institution=EAST" if name == "operator" else ""

    for coll_lib in COLLECTION_CASES:
        coll, svc = collection(db, world.east, lib[coll_lib], name=f"c-{coll_lib}")
        empty, empty_service = collection(db, world.east, lib[coll_lib], name=f"empty-{coll_lib}")
        db.commit()
        where = f"collection library {coll_lib} ({name}, switch {switch})"
        edit, delete = may(name, EDITING, coll_lib, switch), may(name, DELETING, coll_lib, switch)
        put = client.put(f"{E}/{coll.id}{query}", json={"description": "changed"}, headers=headers)
        add = client.post(f"{E}/{coll.id}/e-services{query}", json={}, headers=headers)
        put_service = client.put(
            f"{E}/{coll.id}/e-services/{svc.id}{query}", json={"public_description": "x"}, headers=headers
        )
        delete_service = client.delete(f"{E}/{empty.id}/e-services/{empty_service.id}{query}", headers=headers)
        if not sees(name):
            assert {put.status_code, add.status_code, put_service.status_code, delete_service.status_code} == {404}, (
                where
            )
            continue
        assert put.status_code == status(edit), where
        assert add.status_code == status(edit), where
        assert put_service.status_code == status(edit), where
        assert delete_service.status_code == status(delete, 204), where
        if delete:
            assert client.delete(f"{E}/{empty.id}{query}", headers=headers).status_code == 204, where
        else:
            response = client.delete(f"{E}/{empty.id}{query}", headers=headers)
            assert response.status_code == 403, where
            assert "library" in response.json()["errorList"]["error"][0]["errorMessage"].lower() or not switch

    for coll_lib, own, effective in PORTFOLIO_CASES:
        svc = None
        if coll_lib != "standalone":
            _coll, svc = collection(db, world.east, lib[coll_lib], name=f"p-{coll_lib}")
        target = portfolio(db, world.east, library=lib[own], service=svc)
        doomed = portfolio(db, world.east, library=lib[own], service=svc)
        db.commit()
        where = f"portfolio collection {coll_lib} own {own} ({name}, switch {switch})"
        path = f"/almaws/v1/bibs/{target.bib_id}/portfolios/{target.id}{query}"
        put = client.put(path, json={"availability": "10"}, headers=headers)
        delete = client.delete(f"/almaws/v1/bibs/{doomed.bib_id}/portfolios/{doomed.id}{query}", headers=headers)
        if not sees(name):
            assert {put.status_code, delete.status_code} == {404}, where
            continue
        assert put.status_code == status(may(name, EDITING, effective, switch)), where
        assert delete.status_code == status(may(name, DELETING, effective, switch), 204), where
        search = client.get(f"/api/v1/eresources/portfolios/search{query or '?'}&limit=100", headers=headers).json()
        result = next(r for r in search["result"] if r["id"] == str(target.id))
        expected = (["edit", "add"] if may(name, EDITING, effective, switch) else []) + (
            ["delete"] if may(name, DELETING, effective, switch) else []
        )
        assert result["actions"] == expected, where

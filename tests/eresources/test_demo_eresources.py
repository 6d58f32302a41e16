"""The electronic resources demo: built through the verbs, once; EAST's switch on; a user per role and scope;
collections with and without a library, standalone portfolios, a Community Zone catalogue; the scope holds."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.access.roles import RoleSpec, role_set_problems
from consortia.audit.models import SYSTEM
from consortia.demo import build_demo
from consortia.eresources.import_models import (
    INVENTORY_UPDATE,
    PART_OF_COLLECTION,
    REPOSITORY,
    STANDALONE,
    ImportProfile,
    PortfolioSet,
    PortfolioSetMember,
)
from consortia.eresources.models import CzCollection, ElectronicCollection, Portfolio
from consortia.eresources.task_models import PoLine
from consortia.platform.auth import create_api_key
from consortia.platform.models import Institution, InstitutionParameter, User


def _headers(db: Session, primary_id: str) -> dict[str, str]:
    user = db.scalars(select(User).where(User.primary_id_key == primary_id)).one()
    _row, secret = create_api_key(db, user, actor=SYSTEM)
    db.commit()
    return {"Authorization": f"apikey {secret}"}


def test_the_demo_inventory(client: TestClient, db: Session) -> None:
    build_demo(db)
    build_demo(db)
    db.commit()
    east = db.scalars(select(Institution).where(Institution.code == "EAST")).one()
    switch = db.get(InstitutionParameter, (east.id, "temp_user_scope_limits_electronic_resources"))
    assert switch is not None
    assert switch.value is True
    collections = list(db.scalars(select(ElectronicCollection).where(ElectronicCollection.institution_id == east.id)))
    # three local collections and "CZ Public Domain Books", activated for the CZ Updates Task List
    assert len(collections) == 4
    assert {c.library_id is None for c in collections} == {True, False}
    standalone = db.scalar(
        select(func.count())
        .select_from(Portfolio)
        .where(Portfolio.institution_id == east.id, Portfolio.collection_id.is_(None))
    )
    assert standalone == 3
    assert db.scalar(select(func.count()).select_from(CzCollection)) == 2
    for primary_id in ("east-eio-ext", "east-eio-main", "east-limited", "east-cdi-inst", "east-po-inst"):
        user = db.scalars(select(User).where(User.primary_id_key == primary_id)).one()
        codes = {lib.id: lib.code for lib in east.libraries}
        specs = [RoleSpec(r.role_type, codes.get(r.library_id) if r.library_id else None) for r in user.roles]
        assert specs
        assert role_set_problems(specs, set(codes.values())) == []
    law = next(c for c in collections if c.public_name == "Law Journals Package")
    sci = next(c for c in collections if c.public_name == "Science Select")
    headers = _headers(db, "east-eio-law")
    assert (
        client.put(
            f"/almaws/v1/electronic/e-collections/{law.id}", json={"description": "x"}, headers=headers
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/almaws/v1/electronic/e-collections/{sci.id}", json={"description": "x"}, headers=headers
        ).status_code
        == 403
    )


def test_the_demo_task_lists_po_line_and_licence(client: TestClient, db: Session) -> None:
    """ER-14, ER-15, ER-18, ER-19 in the demo: items in and out of east-eio-law's scope."""
    build_demo(db)
    db.commit()
    headers = _headers(db, "east-eio-law")
    cz = client.get("/api/v1/eresources/task-lists/cz-updates?limit=100", headers=headers).json()["task"]
    assert {t["selectable"] for t in cz} == {True, False}
    activation = client.get("/api/v1/eresources/task-lists/activation?limit=100", headers=headers).json()
    assert activation["total_record_count"] > 10
    assert {t["selectable"] for t in activation["task"]} == {True, False}
    line = db.scalars(select(PoLine)).one()
    items = client.get(f"/api/v1/acq/po-lines/{line.id}", headers=headers).json()["item"]
    assert {bool(i["actions"]) for i in items} == {True, False}
    inventory = client.get("/api/v1/acq/licenses/DEMO-LIC/inventory", headers=headers).json()["item"]
    assert {i["mode"] for i in inventory} == {"EDIT", "VIEW"}


def test_the_demo_set_and_import_profiles(db: Session) -> None:
    build_demo(db)
    db.commit()
    east = db.scalars(select(Institution).where(Institution.code == "EAST")).one()
    demo_set = db.scalars(select(PortfolioSet).where(PortfolioSet.institution_id == east.id)).one()
    members = db.scalar(
        select(func.count()).select_from(PortfolioSetMember).where(PortfolioSetMember.set_id == demo_set.id)
    )
    assert members == 10  # Law Journals Package 3, Open Access Aggregator 4, standalone 3
    profiles = {p.name: p for p in db.scalars(select(ImportProfile).where(ImportProfile.institution_id == east.id))}
    kinds = {(p.type, p.portfolio_type if p.type == REPOSITORY else None) for p in profiles.values()}
    assert kinds == {(REPOSITORY, STANDALONE), (REPOSITORY, PART_OF_COLLECTION), (INVENTORY_UPDATE, None)}
    for profile in profiles.values():
        if profile.type == REPOSITORY:
            assert (profile.library_tag, profile.library_subfield) == ("910", "a")
            assert profile.default_library_id is not None
    in_law = next(p for p in profiles.values() if p.portfolio_type == PART_OF_COLLECTION)
    law = db.get(ElectronicCollection, in_law.collection_id)
    assert law is not None
    assert law.public_name == "Law Journals Package"

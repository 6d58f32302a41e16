"""The demo consortia: built once, role sets valid, sign-ins that work, tenancy that holds over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from consortia.access import roles as R
from consortia.access.identity import hash_secret
from consortia.access.roles import RoleSpec, role_set_problems
from consortia.app import create_app
from consortia.audit.models import SYSTEM, HistoryEvent
from consortia.config import load_settings
from consortia.demo import build_demo
from consortia.domain import Domain
from consortia.domains import DOMAINS
from consortia.eresources.demo import EXTRA_STAFF
from consortia.errors import Unauthorized
from consortia.platform.auth import create_api_key, find_sign_in_user, revoke_api_key, sign_in
from consortia.platform.demo import (
    DEMO_API_KEY,
    DEMO_PASSWORD,
    DemoContext,
    SignIn,
    demo_api_key,
    sign_ins,
)
from consortia.platform.models import (
    ApiKey,
    CodeTableRow,
    Consortium,
    FulfillmentNetwork,
    Institution,
    Library,
    User,
    UserBlock,
    UserIdentifier,
)


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _demo_users(db: Session) -> list[User]:
    return list(
        db.scalars(
            select(User)
            .join(Institution, User.institution_id == Institution.id)
            .where(Institution.code.in_(["EAST", "WEST", "NORTH", "SOUTH"]))
            .options(selectinload(User.roles), selectinload(User.institution))
        )
    )


def _headers(db: Session, primary_id: str) -> dict[str, str]:
    user = db.scalars(select(User).where(User.primary_id_key == primary_id)).one()
    _row, secret = create_api_key(db, user, actor=SYSTEM)
    db.flush()
    return {"Authorization": f"apikey {secret}"}


def test_build_demo_creates_the_consortia_once(db: Session) -> None:
    sign_ins = build_demo(db)
    counts = {model: _count(db, model) for model in (User, UserIdentifier, Library, CodeTableRow, UserBlock)}

    again = build_demo(db)

    assert again == sign_ins
    assert {model: _count(db, model) for model in counts} == counts
    consortia = {c.code: c for c in db.scalars(select(Consortium).where(Consortium.code.in_(["NLC", "SCC"])))}
    assert consortia["NLC"].name == "Northern Libraries Consortium"
    assert consortia["NLC"].parent_account == "NLC Parent Account"
    assert consortia["NLC"].case_sharing_enabled is True
    assert consortia["SCC"].case_sharing_enabled is False
    network = db.scalars(select(FulfillmentNetwork).where(FulfillmentNetwork.code == "NLC_FN")).one()
    assert [member.code for member in network.members] == ["EAST", "NORTH", "WEST"]
    east = db.scalars(select(Institution).where(Institution.code == "EAST")).one()
    assert [library.code for library in east.libraries] == ["EAST_LAW", "EAST_MAIN", "EAST_SCI"]
    assert [d.domain for d in east.email_domains] == ["east.example.edu"]
    groups = db.scalars(
        select(CodeTableRow.code).where(CodeTableRow.institution_id == east.id, CodeTableRow.table_name == "UserGroups")
    ).all()
    assert set(groups) == {"STAFF", "FACULTY", "GRAD", "UNDERGRAD", "WALKIN", "GUEST"}


def test_every_demo_role_set_obeys_the_role_rules(db: Session) -> None:
    build_demo(db)
    users = _demo_users(db)
    staff_with_roles = [u for u in users if u.record_type == "STAFF" and u.roles]
    # eight roles in EAST and in WEST, and the electronic resources demo's staff for the other scopes
    assert len(staff_with_roles) == 16 + len(EXTRA_STAFF)
    for user in users:
        assert user.institution is not None
        libraries = {lib.code for lib in user.institution.libraries}
        specs = [RoleSpec(r.role_type, r.library.code if r.library else None, r.status) for r in user.roles]
        assert role_set_problems(specs, libraries) == [], user.primary_id
    by_id = {u.primary_id: u for u in users}
    law = {(r.role_type, r.library.code if r.library else None) for r in by_id["east-eio-law"].roles}
    assert law == {
        (R.ELECTRONIC_INVENTORY_OPERATOR, "EAST_LAW"),
        (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "EAST_SCI"),
    }
    assert {u.primary_id: u.support_level for u in users if u.support_level != "NONE"} == {
        "east-basic": "BASIC",
        "east-standard": "STANDARD",
        "east-consortia": "CONSORTIA",
        "west-consortia": "CONSORTIA",
        "north-standard": "STANDARD",
        "south-standard": "STANDARD",
    }


def test_demo_patrons_have_identifiers_groups_and_some_blocks(db: Session) -> None:
    build_demo(db)
    users = _demo_users(db)
    patrons = [u for u in users if u.record_type == "PUBLIC" and u.account_type == "INTERNAL"]
    per_institution = Counter(u.institution.code for u in patrons if u.institution)
    assert per_institution == {"EAST": 20, "WEST": 20, "NORTH": 20, "SOUTH": 20}
    assert any(u.status == "INACTIVE" for u in patrons)
    ids = [u.primary_id_key for u in users]
    assert len(ids) == len(set(ids)), "primary ids must be unique across the demo"
    blocked = db.scalars(select(UserBlock).where(UserBlock.network.is_(True))).all()
    assert {b.user.institution_id for b in blocked} == {u.institution_id for u in patrons}
    shared = db.scalars(select(UserIdentifier).where(UserIdentifier.value == "NLC-000001")).all()
    assert sorted(i.user.primary_id for i in shared) == ["east-patron-01", "west-patron-01"]
    for patron in patrons:
        types = {identifier.id_type for identifier in patron.identifiers}
        assert {"BARCODE", "UNIV_ID"} <= types
        assert patron.user_group in {"FACULTY", "GRAD", "UNDERGRAD", "WALKIN", "GUEST"}
        assert patron.expiry_date is not None


def test_every_listed_sign_in_works_with_the_demo_password(db: Session) -> None:
    sign_ins = build_demo(db)
    assert [s.username for s in sign_ins][:3] == ["operator", "east-admin", "east-users"]
    listed = [s for s in sign_ins if s.institution]  # the operator is created by `consortia demo` itself
    for entry in listed:
        # The name alone finds the account (no institution code), and it has a password.
        user = find_sign_in_user(db, entry.username, None)
        assert user is not None, entry.username
        assert user.institution is not None
        assert user.institution.code == entry.institution
        assert user.password_hash
    for username in ("east-admin", "west-consortia", "north-standard", "south-standard"):
        assert sign_in(db, username, DEMO_PASSWORD).primary_id == username
    admin = sign_in(db, "east-admin", DEMO_PASSWORD)
    assert [r.role_type for r in admin.roles] == [R.GENERAL_SYSTEM_ADMINISTRATOR]
    with pytest.raises(Unauthorized):
        sign_in(db, "east-admin", "not the password")


def test_east_admin_signs_in_on_the_web_page(client: TestClient, db: Session) -> None:
    build_demo(db)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": "east-admin", "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_demo_users_see_their_own_institution_only(client: TestClient, db: Session) -> None:
    build_demo(db)
    east_admin = _headers(db, "east-admin")
    west_admin = _headers(db, "west-admin")

    own = client.get("/almaws/v1/users/east-patron-02", headers=east_admin)
    other = client.get("/almaws/v1/users/east-patron-02", headers=west_admin)
    by_barcode = client.get("/almaws/v1/users/EAST00002", headers=east_admin)

    assert own.status_code == 200, own.text
    assert own.json()["primary_id"] == "east-patron-02"
    assert other.status_code == 404
    assert by_barcode.status_code == 200
    assert by_barcode.json()["primary_id"] == "east-patron-02"


def test_each_domains_demo_runs_once_with_the_context(db: Session) -> None:
    seen: list[DemoContext] = []

    def extension(session: Session, context: DemoContext) -> None:
        seen.append(context)
        session.add(
            User(
                institution_id=context.institutions["NORTH"].id,
                primary_id="north-extra",
                primary_id_key="north-extra",
                record_type="STAFF",
                password_hash=context.password_hash,
            )
        )

    domains = (*DOMAINS, Domain(name="extra", demo=extension))
    build_demo(db, domains)
    build_demo(db, domains)

    assert len(seen) == 1
    context = seen[0]
    assert context.libraries["EAST_LAW"].name == "Law Library"
    assert context.user("east-consortia").support_level == "CONSORTIA"
    assert context.consortia["NLC"].case_sharing_enabled is True
    assert sign_in(db, "north-extra", DEMO_PASSWORD).primary_id == "north-extra"


def test_sign_in_rows_describe_every_role_and_level() -> None:
    rows = sign_ins()
    described = {row.username: row for row in rows}
    assert described["east-eio-law"] == SignIn(
        "east-eio-law",
        "EAST",
        "Electronic Inventory Operator (EAST_LAW) + Electronic Inventory Operator Extended (EAST_SCI)",
    )
    assert "Consortia" in described["west-consortia"].description
    assert len(described) == len(rows)


# --- the demo API key -----------------------------------------------------------------------------


def test_the_demo_api_key_acts_as_east_admin_and_is_stored_hashed(client: TestClient, db: Session) -> None:
    build_demo(db)
    key = demo_api_key(db)
    assert key == DEMO_API_KEY
    db.commit()
    headers = {"Authorization": f"apikey {key}"}

    listed = client.get("/almaws/v1/users?limit=3", headers=headers)
    assert listed.status_code == 200, listed.text
    east_users = db.scalar(
        select(func.count())
        .select_from(User)
        .join(Institution, User.institution_id == Institution.id)
        .where(Institution.code == "EAST")
    )
    assert listed.json()["total_record_count"] == east_users
    assert client.get("/almaws/v1/users/east-patron-02", headers=headers).status_code == 200
    assert client.get("/almaws/v1/users/west-patron-02", headers=headers).status_code == 404
    assert (
        client.get("/almaws/v1/users", headers={"Authorization": "apikey ck_consortia-demo-other"}).status_code == 401
    )

    rows = db.scalars(select(ApiKey).where(ApiKey.label == "Demo key (consortia demo)")).all()
    assert len(rows) == 1
    assert rows[0].user.primary_id == "east-admin"
    assert rows[0].key_hash == hash_secret(DEMO_API_KEY)
    assert DEMO_API_KEY not in {rows[0].key_hash, rows[0].prefix, rows[0].label}
    history = db.scalars(
        select(HistoryEvent).where(
            HistoryEvent.entity == "user", HistoryEvent.entity_id == "east-admin", HistoryEvent.field == "api_key"
        )
    ).all()
    assert [event.new for event in history] == [f"created {rows[0].prefix}… (id {rows[0].id})"]

    # Every start answers the same key and creates nothing more.
    assert demo_api_key(db) == DEMO_API_KEY
    assert db.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.key_hash == rows[0].key_hash)) == 1


def test_a_revoked_demo_key_stays_revoked(client: TestClient, db: Session) -> None:
    build_demo(db)
    assert demo_api_key(db) == DEMO_API_KEY
    key = db.scalars(select(ApiKey).where(ApiKey.key_hash == hash_secret(DEMO_API_KEY))).one()
    revoke_api_key(db, key, actor=SYSTEM)
    db.commit()
    assert demo_api_key(db) is None
    assert db.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.key_hash == key.key_hash)) == 1
    response = client.get("/almaws/v1/users", headers={"Authorization": f"apikey {DEMO_API_KEY}"})
    assert response.status_code == 401


def _run_demo(url: str, var: Path) -> str:
    env = dict(os.environ, CONSORTIA_VAR_DIR=str(var), CONSORTIA_QUEUE_URL=f"sqlite:///{var / 'queue.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "consortia", "demo", "--db", url, "--no-serve", "--port", "8123"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_consortia_demo_prints_a_key_that_works_against_the_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    output = _run_demo(url, tmp_path)
    found = re.search(r"^Demo API key \(acts as east-admin\): (\S+)$", output, re.M)
    assert found, output
    key = found.group(1)
    assert f'curl -H "Authorization: apikey {key}" "http://127.0.0.1:8123/almaws/v1/users?limit=3"' in output
    assert re.search(rf"^Demo API key \(acts as east-admin\): {re.escape(key)}$", _run_demo(url, tmp_path), re.M)

    settings = load_settings(
        database_url=url, var_dir=tmp_path, secret_key="s", queue_url="memory://", run_embedded_worker=False
    )
    with TestClient(create_app(settings, start_worker=False)) as api:
        response = api.get("/almaws/v1/users?limit=3", headers={"Authorization": f"apikey {key}"})
        assert response.status_code == 200, response.text
        assert response.json()["user"][0]["primary_id"] == "east-admin"
        assert api.get("/almaws/v1/users/west-admin", headers={"Authorization": f"apikey {key}"}).status_code == 404

"""The per-process identity cache of API keys (N-6) never outlives a change to what the key may do.

Each request reads only its caller's auth epoch; a revoked key, an inactivated or expired user, a
removed role or a changed role scope change the epoch in the same transaction (session events), so the
next request is refused or sees the new roles at once — whether the change is made through the ORM, by
a bulk statement, or through another engine on the same database (another server process's view).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, update
from sqlalchemy.orm import Session

import consortia.config
import consortia.db
from consortia.access import roles as R
from consortia.app import create_app
from consortia.audit.models import SYSTEM
from consortia.config import load_settings
from consortia.db import Database, utcnow
from consortia.http.deps import get_session
from consortia.platform.auth import revoke_api_key
from consortia.platform.models import ApiKey, Institution, User, UserRole
from tests.bench.databases import fresh_database
from tests.factories import Factory, days

KEY_LOOKUP = "api_key.key_hash"  # only the full identity query names the key's hash


class Statements:
    """The SQL statements a block of requests sends."""

    def __init__(self, database: Database) -> None:
        self.seen: list[str] = []
        self.engine = database.engine

    def _note(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    @property
    def key_lookups(self) -> int:
        return sum(KEY_LOOKUP in statement for statement in self.seen)


class World:
    def __init__(self, factory: Factory) -> None:
        self.institution = factory.institution("CACHE")
        self.library = self.institution.libraries[0]
        self.desk = factory.user(self.institution, "desk", roles=(R.CIRCULATION_DESK_OPERATOR,))
        self.patron = factory.user(self.institution, "patron", record_type="PUBLIC", roles=(R.PATRON,))
        self.headers = factory.key(self.desk)
        self.key = factory.session.query(ApiKey).filter(ApiKey.user_id == self.desk.id).one()


@pytest.fixture
def world(factory: Factory) -> World:
    return World(factory)


def _read(client: TestClient, world: World) -> int:
    return client.get("/almaws/v1/users/patron", headers=world.headers).status_code


def _cached(client: TestClient, world: World, database: Database, headers: dict[str, str] | None = None) -> int:
    """Read twice; the second answer must come from a cached identity (no key look-up)."""
    headers = headers or world.headers
    first = client.get("/almaws/v1/users/patron", headers=headers).status_code
    with Statements(database) as again:
        second = client.get("/almaws/v1/users/patron", headers=headers).status_code
    assert again.key_lookups == 0
    assert first == second
    return second


def test_a_known_key_is_not_looked_up_again(client: TestClient, world: World, database: Database) -> None:
    with Statements(database) as first:
        assert _read(client, world) == 200  # resolves the key, and notes its use
    with Statements(database) as second:
        assert _read(client, world) == 200

    assert first.key_lookups == 1
    assert second.key_lookups == 0  # the use noted by the first request did not invalidate the entry
    assert any("auth_epoch" in statement for statement in second.seen)


def test_a_revoked_key_is_refused_at_once(client: TestClient, world: World, db: Session, database: Database) -> None:
    assert _cached(client, world, database) == 200
    revoke_api_key(db, world.key, actor=SYSTEM)
    db.flush()
    assert _read(client, world) == 401


def test_a_key_revoked_by_a_bulk_statement_is_refused(
    client: TestClient, world: World, db: Session, database: Database
) -> None:
    assert _cached(client, world, database) == 200
    db.execute(update(ApiKey).where(ApiKey.user_id == world.desk.id).values(revoked_at=utcnow()))
    assert _read(client, world) == 401


def test_a_deleted_key_is_refused(client: TestClient, world: World, db: Session, database: Database) -> None:
    assert _cached(client, world, database) == 200
    db.delete(world.key)
    db.flush()
    assert _read(client, world) == 401


@pytest.mark.parametrize(
    "change",
    [
        {"status": "INACTIVE"},
        {"expiry_date": days(-1)},
    ],
)
def test_an_inactivated_or_expired_user_is_refused(
    client: TestClient, world: World, db: Session, database: Database, change: dict[str, object]
) -> None:
    assert _cached(client, world, database) == 200
    for name, value in change.items():
        setattr(world.desk, name, value)
    db.flush()
    assert _read(client, world) == 401


def test_a_user_inactivated_by_a_bulk_statement_is_refused(
    client: TestClient, world: World, db: Session, database: Database
) -> None:
    assert _cached(client, world, database) == 200
    db.execute(update(User).where(User.institution_id == world.institution.id).values(status="INACTIVE"))
    assert _read(client, world) == 401


def test_a_removed_role_is_gone_at_once(client: TestClient, world: World, db: Session, database: Database) -> None:
    assert _cached(client, world, database) == 200
    world.desk.roles.clear()  # deleted as orphans by the flush
    db.flush()
    assert _read(client, world) == 404  # staff without a role see only themselves


def test_a_role_removed_by_a_bulk_statement_is_gone(
    client: TestClient, world: World, db: Session, database: Database
) -> None:
    assert _cached(client, world, database) == 200
    db.execute(delete(UserRole).where(UserRole.user_id == world.desk.id))
    assert _read(client, world) == 404


@pytest.mark.parametrize("how", ["orm", "bulk"])
def test_a_changed_role_scope_is_seen_at_once(
    client: TestClient, world: World, db: Session, database: Database, how: str
) -> None:
    assert _cached(client, world, database) == 200
    if how == "orm":
        world.desk.roles[0].library_id = world.library.id
        db.flush()
    else:
        db.execute(update(UserRole).where(UserRole.user_id == world.desk.id).values(library_id=world.library.id))
    # A Circulation Desk Operator of one library is no longer a reader of the institution's users.
    assert _read(client, world) == 404


def test_an_expired_role_is_gone(client: TestClient, world: World, db: Session, database: Database) -> None:
    assert _cached(client, world, database) == 200
    world.desk.roles[0].expiry_date = days(-1)
    db.flush()
    assert _read(client, world) == 404


def test_a_new_role_is_seen_at_once(
    client: TestClient, world: World, db: Session, database: Database, factory: Factory
) -> None:
    plain = factory.user(world.institution, "plain")
    headers = factory.key(plain)
    db.commit()  # a refused request rolls the test's session back to its last commit
    assert _cached(client, world, database, headers) == 404
    db.add(UserRole(user_id=plain.id, role_type=R.CIRCULATION_DESK_OPERATOR))
    db.flush()
    assert client.get("/almaws/v1/users/patron", headers=headers).status_code == 200


def test_other_changes_keep_the_entry(client: TestClient, world: World, db: Session, database: Database) -> None:
    assert _cached(client, world, database) == 200
    world.desk.phone = "+1 555 0100"
    world.desk.user_group = "STAFF"
    db.flush()
    with Statements(database) as after:
        assert _read(client, world) == 200
    assert after.key_lookups == 0


# --- another process's view: the change is committed through another engine ------------------------


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Database, World]]:
    """An app on a database of its own with real, committing sessions, and a second `Database` on it."""
    monkeypatch.setattr(consortia.db, "_database", consortia.db._database)
    monkeypatch.setattr(consortia.config, "_current", consortia.config._current)
    with fresh_database(tmp_path) as seed:
        with seed.session() as session:
            world = World(Factory(session))
        settings = load_settings(
            database_url=seed.url, var_dir=tmp_path, secret_key="x", queue_url="memory://", run_embedded_worker=False
        )
        app = create_app(settings, start_worker=False)
        app.dependency_overrides.pop(get_session, None)
        other = Database(seed.url)  # another process's engine
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                yield client, other, world
        finally:
            other.dispose()
            consortia.db.get_database().dispose()
    consortia.config.get_settings.cache_clear()


def test_changes_made_by_another_process_are_seen_at_once(committed: tuple[TestClient, Database, World]) -> None:
    client, other, world = committed

    assert _cached(client, world, consortia.db.get_database()) == 200
    with other.session() as session:  # the role at library level: no longer a reader of the institution's users
        session.execute(update(UserRole).where(UserRole.user_id == world.desk.id).values(library_id=world.library.id))
    assert _read(client, world) == 404

    with other.session() as session:
        role = session.query(UserRole).filter(UserRole.user_id == world.desk.id).one()
        role.library_id = None
    assert _read(client, world) == 200

    with other.session() as session:
        session.delete(session.query(UserRole).filter(UserRole.user_id == world.desk.id).one())
    assert _read(client, world) == 404

    with other.session() as session:
        session.add(UserRole(user_id=world.desk.id, role_type=R.CIRCULATION_DESK_OPERATOR))
    assert _read(client, world) == 200

    with other.session() as session:
        user = session.get(User, world.desk.id)
        assert user is not None
        user.status = "INACTIVE"
    assert _read(client, world) == 401

    with other.session() as session:
        session.execute(update(User).where(User.id == world.desk.id).values(status="ACTIVE"))
    assert _read(client, world) == 200

    with other.session() as session:
        key = session.get(ApiKey, world.key.id)
        assert key is not None
        revoke_api_key(session, key, actor=SYSTEM)
    assert _read(client, world) == 401


def test_a_moved_institution_changes_its_users_epoch(factory: Factory, db: Session) -> None:
    world = World(factory)
    before = db.get(User, world.desk.id)
    assert before is not None
    epoch = before.auth_epoch
    institution = db.get(Institution, world.institution.id)
    assert institution is not None
    institution.consortium_id = factory.consortium().id
    db.flush()
    db.expire_all()
    after = db.get(User, world.desk.id)
    assert after is not None
    assert after.auth_epoch != epoch

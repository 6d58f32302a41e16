"""Test fixtures: a migrated database per run (SQLite file or a fresh PostgreSQL database), a session
per test rolled back at the end, the app wired to that session, and clients that act as a user.

Choose the database with CONSORTIA_TEST_DATABASE_URL (`make test` runs the suite on both).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from consortia.app import create_app
from consortia.config import load_settings, normalise_database_url
from consortia.db import Database, set_database
from consortia.domains import assemble
from consortia.http.deps import get_session
from consortia.schema import upgrade
from tests.factories import Factory

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# The tests are a process of their own: every domain's rules, job kinds and hooks in place, as in the
# server, a worker and the command line (tests that build an app assemble again, which changes nothing).
assemble()


def _test_database_url(tmp_root: Path) -> tuple[str, str | None]:
    """(url, name of a PostgreSQL database to drop afterwards)."""
    url = os.environ.get("CONSORTIA_TEST_DATABASE_URL", "sqlite")
    if url == "sqlite":
        return f"sqlite:///{tmp_root / 'test.db'}", None
    if url in {"postgresql", "postgres"}:
        name = f"consortia_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            admin.dispose()
            if os.environ.get("CI", "").lower() == "true":
                pytest.exit(f"PostgreSQL is required under CI=true and is not reachable: {exc}", returncode=3)
            pytest.skip(f"PostgreSQL not reachable: {exc}", allow_module_level=True)
        admin.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name
    return normalise_database_url(url), None


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    root = tmp_path_factory.mktemp("db")
    url, to_drop = _test_database_url(root)
    database = Database(url)
    upgrade(database.engine)
    set_database(database)
    yield database
    database.dispose()
    set_database(None)
    if to_drop:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{to_drop}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    connection = database.engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if transaction.is_active:
            transaction.rollback()
        connection.close()


@pytest.fixture
def factory(db: Session) -> Factory:
    return Factory(db)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database: Database):  # type: ignore[no-untyped-def]
    var = tmp_path_factory.mktemp("var")
    return load_settings(
        database_url=database.url,
        var_dir=var,
        secret_key="test-secret",
        queue_url="memory://",
        run_embedded_worker=False,
    )


@pytest.fixture
def app(settings, db: Session, database: Database) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    application = create_app(settings, start_worker=False)
    set_database(database)

    def test_session() -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    application.dependency_overrides[get_session] = test_session
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client

"""A fresh, empty database for tests of code that commits (data generation, the benchmark harness).

It follows CONSORTIA_TEST_DATABASE_URL like the shared test database: an SQLite file in the test's
temporary directory, or a new PostgreSQL database dropped afterwards (skipped when unreachable).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from consortia.db import Database
from consortia.schema import upgrade

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated database that nothing else uses; disposed (and dropped, for PostgreSQL) afterwards."""
    kind = os.environ.get("CONSORTIA_TEST_DATABASE_URL", "sqlite")
    name = None
    if kind in {"postgresql", "postgres"}:
        name = f"consortia_fresh_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    database = Database(url)
    try:
        upgrade(database.engine)
        yield database
    finally:
        database.dispose()
        if name:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    engine = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    except OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        engine.dispose()

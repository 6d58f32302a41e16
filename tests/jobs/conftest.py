"""Job test helpers: a queue that only records, session factories on the test's connection, fresh
databases for the tests that start processes, and a small world of two institutions."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.db import Database
from consortia.jobs.queue import ImmediateQueue, session_factory_like, set_queue
from consortia.jobs.runner import SessionFactory
from consortia.platform.models import Institution, User
from consortia.schema import upgrade
from tests.conftest import PG_ADMIN_URL
from tests.factories import Factory, days


class RecordingQueue:
    """A queue that keeps what it is handed; `waiting` plays the ids still in the queue."""

    def __init__(self) -> None:
        self.enqueued: list[int] = []
        self.waiting: set[int] = set()

    def enqueue(self, instance_id: int, session_factory: SessionFactory) -> bool:
        self.enqueued.append(instance_id)
        return False

    def pending_instance_ids(self) -> set[int] | None:
        return set(self.waiting)


@pytest.fixture
def recording_queue() -> Iterator[RecordingQueue]:
    queue = RecordingQueue()
    set_queue(queue)
    try:
        yield queue
    finally:
        set_queue(None)


@pytest.fixture
def immediate_queue() -> Iterator[ImmediateQueue]:
    queue = ImmediateQueue()
    set_queue(queue)
    try:
        yield queue
    finally:
        set_queue(None)


@pytest.fixture
def sessions(db: Session) -> SessionFactory:
    """Sessions on the test's connection (inside savepoints), as a runner would open them."""
    return session_factory_like(db)


@dataclass
class World:
    east: Institution
    west: Institution
    east_admin: User
    east_desk: User
    east_patron: User
    west_admin: User
    operator: User


@pytest.fixture
def world(factory: Factory) -> World:
    cons = factory.consortium()
    east = factory.institution(consortium=cons)
    west = factory.institution(consortium=cons)
    return World(
        east=east,
        west=west,
        east_admin=factory.user(east, roles=(R.USER_ADMINISTRATOR,), first_name="Erin", last_name="Admin"),
        east_desk=factory.user(east, roles=(R.CIRCULATION_DESK_OPERATOR,)),
        east_patron=factory.user(east, roles=(R.PATRON,), record_type="PUBLIC"),
        west_admin=factory.user(west, roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)),
        operator=factory.operator(),
    )


def expired_patrons(factory: Factory, institution: Institution, n: int, **fields: object) -> list[User]:
    return [
        factory.user(institution, record_type="PUBLIC", password=False, expiry_date=days(-1), **fields)
        for _ in range(n)
    ]


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Database]:
    """A new, migrated database that other processes can open: an SQLite file, or a new PostgreSQL
    database when the suite runs on PostgreSQL (dropped afterwards)."""
    choice = os.environ.get("CONSORTIA_TEST_DATABASE_URL", "sqlite")
    name = None
    if choice in {"postgresql", "postgres"}:
        name = f"consortia_jobs_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    database = Database(url)
    upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()
        if name:
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

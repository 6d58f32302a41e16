"""The database: engine, session factory and the declarative base.

The SQLAlchemy session is the unit of work. Entry points (a request, a CLI command, a job
chunk) open one, call services, and commit; services never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    """Naive UTC: the one form of date-time stored, portable between SQLite and PostgreSQL."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    return utcnow().date()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        if url in {"sqlite://", "sqlite:///:memory:"}:
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No ping per checkout (a round trip on every request). A connection that died with the server is
    # found by the first statement on it: SQLAlchemy sees the disconnect error, discards that connection
    # and every other pooled one made before it, so that request answers 503 and the next one connects
    # afresh. Recycling bounds a connection's age for servers and proxies that drop idle ones.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    # PostgreSQL's JIT compiles a plan whose estimated cost is high; our statements are short and
    # selective, and compiling one costs more (tens of ms) than running it (N-4).
    kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is off) so that
    # savepoints and BEGIN IMMEDIATE behave as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# How a transaction on SQLite begins: the execution option `sqlite_begin` of the connection (see
# `Database.session`). Plain BEGIN takes the write lock at the first write; when reads came first and
# another writer holds the lock or has committed since, SQLite cannot upgrade the read and answers
# "database is locked" at once, without waiting the busy timeout (seven of eight comments posted at the
# same moment failed so). BEGIN IMMEDIATE takes the write lock up front, waiting for it up to the busy
# timeout, so writers queue. Reads keep the plain BEGIN: in WAL mode they neither wait for the writer
# nor make anyone wait, and a transaction whose first statement writes (the job runner's) waits anyway.
BEGIN_OPTION = "sqlite_begin"
IMMEDIATE = "IMMEDIATE"
_BEGIN = {None: "BEGIN", IMMEDIATE: "BEGIN IMMEDIATE"}
# SQLite's result codes for "the write lock is taken" (BUSY, and its extended BUSY_SNAPSHOT) and LOCKED.
_SQLITE_LOCK_CODES = frozenset({5, 6})


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql(_BEGIN[connection.get_execution_options().get(BEGIN_OPTION)])


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether a database error is SQLite refusing the write lock (not a database that is gone)."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return isinstance(exc, OperationalError) and code is not None and code & 0xFF in _SQLITE_LOCK_CODES


def upsert(session: Session, model: type[Any], values: dict[str, Any], key: tuple[str, ...]) -> None:
    """Insert the row of `values`, or, when a row with the same `key` columns exists (also one another
    transaction inserted a moment ago), update its other columns: one statement, no race between a read
    and an insert."""
    dialect = session.get_bind().dialect.name
    changed = {name: value for name, value in values.items() if name not in key}
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(model).values(values)
        session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changed))
        return
    row = session.get(model, tuple(values[name] for name in key))
    if row is None:
        session.add(model(**values))
    else:
        for name, value in changed.items():
            setattr(row, name, value)
    session.flush()


@contextmanager
def unless_locked(session: Session) -> Iterator[None]:
    """Run a write that a read does on the side (an API key's last use, a partner's view of a case) in a
    savepoint, and leave it out when SQLite cannot give the read's transaction the write lock (see
    `_sqlite_begin`): the read answers instead of failing with 503. Anything else is raised."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        # Only SQLite refuses a write lock; elsewhere (a PostgreSQL read may run in autocommit, where a
        # savepoint has no transaction to live in) the write simply runs.
        yield
        return
    try:
        with session.begin_nested():
            yield
    except OperationalError as exc:
        if not is_lock_conflict(exc):
            raise


def keep_for_session(session: Session, obj: object) -> None:
    """Hold `obj` for as long as the session lives. The identity map keeps only weak references, so an
    object loaded early in a request (the caller's institution) would otherwise be dropped and fetched
    again by the next `session.get`."""
    session.info.setdefault("kept", []).append(obj)


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` ids for rows about to be inserted into `table` (integer primary key `id`), so that the rows
    of one batch can name each other (a portfolio its bibliographic record) and be inserted with one
    executemany, without a RETURNING that SQLite's driver can only correlate row by row.

    PostgreSQL: taken from the column's sequence in one statement, safe beside concurrent inserts.
    SQLite: the ids after the largest one. The caller's transaction must hold the write lock (it wrote
    first, or began IMMEDIATE, as the job runner's chunks do); if it does not and another writer commits
    in between, SQLite refuses the upgrade or the primary key refuses the row: never a silent duplicate.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
                {"table": table.name, "count": count},
            )
        )
    top = int(session.scalar(select(func.max(table.c.id))) or 0)
    return list(range(top + 1, top + 1 + count))


class Database:
    """An engine and its session factory; one per process (tests make their own)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # The same engine and pool; on SQLite its transactions begin IMMEDIATE (elsewhere nothing changes).
        self.writing_sessionmaker = sessionmaker(
            self.engine.execution_options(**{BEGIN_OPTION: IMMEDIATE}), expire_on_commit=False
        )

    @contextmanager
    def session(self, *, writes: bool = False) -> Iterator[Session]:
        """A session that commits on success and rolls back on error. `writes`: the session is meant to
        change something, so on SQLite each of its transactions takes the write lock when it begins,
        waiting its turn (a session that only reads should not: it would make the others wait)."""
        session = (self.writing_sessionmaker if writes else self.sessionmaker)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


_database: Database | None = None


def init_database(url: str, **engine_kwargs: Any) -> Database:
    global _database
    if _database is not None and _database.url != url:
        _database.dispose()
    _database = Database(url, **engine_kwargs)
    return _database


def get_database() -> Database:
    if _database is None:
        from consortia.config import get_settings

        return init_database(get_settings().database_url)
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database

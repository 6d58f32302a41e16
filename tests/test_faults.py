"""R-6: with the database gone, requests answer 503 in the error shape; when it returns, the service
recovers without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

import consortia.config
import consortia.db
from consortia.app import create_app
from consortia.config import load_settings
from consortia.db import Database, set_database
from consortia.http.answers import JSON_TYPE
from consortia.http.deps import get_session
from consortia.platform.setup import ensure_operator
from consortia.schema import upgrade
from tests.bench.databases import fresh_database


def test_database_gone_then_back(tmp_path: Path) -> None:
    home = tmp_path / "gone"
    url = f"sqlite:///{home / 'db.sqlite'}"
    settings = load_settings(
        database_url=url, var_dir=tmp_path, secret_key="x", queue_url="memory://", run_embedded_worker=False
    )
    app = create_app(settings, start_worker=False)
    app.dependency_overrides.pop(get_session, None)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/consortia", headers={"Authorization": "apikey k"})
        assert response.status_code == 503
        assert response.headers["content-type"] == JSON_TYPE
        assert response.json()["errorList"]["error"][0]["errorCode"] == "SERVICE_UNAVAILABLE"
        page = client.get("/login")
        assert page.status_code in {200, 503}

        home.mkdir()
        database = Database(url)
        upgrade(database.engine)
        with database.session() as session:
            ensure_operator(session, api_key="operator-key-for-fault-test", password=None)
        database.dispose()
        recovered = client.get("/api/v1/consortia", headers={"Authorization": "apikey operator-key-for-fault-test"})
        assert recovered.status_code == 200, recovered.text
    set_database(None)


def test_connections_that_died_are_replaced_without_a_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No pre-ping per checkout: the first request on a dead connection answers 503, the next one works."""
    monkeypatch.setattr(consortia.db, "_database", consortia.db._database)
    monkeypatch.setattr(consortia.config, "_current", consortia.config._current)
    with fresh_database(tmp_path) as seed:
        with seed.session() as session:
            ensure_operator(session, api_key="operator-key-for-dead-connections", password=None)
        settings = load_settings(
            database_url=seed.url, var_dir=tmp_path, secret_key="x", queue_url="memory://", run_embedded_worker=False
        )
        app = create_app(settings, start_worker=False)
        app.dependency_overrides.pop(get_session, None)
        headers = {"Authorization": "apikey operator-key-for-dead-connections"}
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                assert client.get("/api/v1/consortia", headers=headers).status_code == 200
                engine = consortia.db.get_database().engine
                assert engine.pool.checkedin() >= 1
                _kill_pooled_connections(seed, engine)

                first = client.get("/api/v1/consortia", headers=headers)
                if engine.dialect.name == "postgresql":
                    # No ping before use: the request's own statement meets the dead connection, and
                    # SQLAlchemy's disconnect handling discards it and the rest of the pool.
                    assert first.status_code == 503, first.text
                    assert first.json()["errorList"]["error"][0]["errorCode"] == "SERVICE_UNAVAILABLE"
                else:
                    assert first.status_code == 200, first.text  # a closed connection is not handed out again
                again = client.get("/api/v1/consortia", headers=headers)
                assert again.status_code == 200, again.text
        finally:
            consortia.db.get_database().dispose()
    consortia.config.get_settings.cache_clear()


def _kill_pooled_connections(seed: Database, engine: Engine) -> None:
    """The server side of every pooled connection goes away, as when the database restarts."""
    if engine.dialect.name == "postgresql":
        with seed.engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        assert killed
        return
    # SQLite has no server: close the pooled connections under the pool's feet.
    with engine.connect() as connection:
        connection.connection.dbapi_connection.close()  # type: ignore[union-attr]

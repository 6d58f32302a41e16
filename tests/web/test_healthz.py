"""`/healthz`: JSON of one shape in every state, 200 when the database and the job queue answer, 503
naming what is down (what the browser tests' server start-up and load balancers poll)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consortia.app import create_app
from consortia.config import load_settings
from consortia.db import set_database
from consortia.http.deps import get_session
from consortia.jobs.queue import HueyQueue, set_queue


def test_healthy(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_the_sqlite_queue_of_the_server_is_checked(client: TestClient, tmp_path: Path) -> None:
    set_queue(HueyQueue(f"sqlite:///{tmp_path / 'queue.db'}"))
    try:
        response = client.get("/healthz")
    finally:
        set_queue(None)
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok", "queue": "ok"})


def test_a_queue_that_does_not_answer(client: TestClient) -> None:
    set_queue(HueyQueue("redis://127.0.0.1:9/0"))  # the discard port: nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        set_queue(None)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "unavailable", "database": "ok", "queue": "down"}


@pytest.fixture
def gone_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose database cannot be opened (its directory does not exist)."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}",
        var_dir=tmp_path,
        secret_key="x",
        queue_url="memory://",
        run_embedded_worker=False,
    )
    app = create_app(settings, start_worker=False)
    app.dependency_overrides.pop(get_session, None)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    set_database(None)


def test_the_database_is_down(gone_client: TestClient) -> None:
    response = gone_client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "unavailable", "database": "down", "queue": "ok"}

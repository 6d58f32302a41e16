"""R-6: with the database gone, requests answer 503 in the error shape; when it returns, the service
recovers without a restart."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from consortia.access.deps import get_session
from consortia.almaws.conventions import JSON_TYPE
from consortia.app import create_app
from consortia.config import load_settings
from consortia.db import Database, set_database
from consortia.platform.setup import ensure_operator
from consortia.schema import upgrade


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

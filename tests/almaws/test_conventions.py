"""The API conventions hold on every family of routes: content type, error body, keys, slashes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from consortia.http.answers import JSON_TYPE
from tests.factories import Factory


def test_missing_key_is_401_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/consortia")
    assert response.status_code == 401
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["errorsExist"] is True
    error = body["errorList"]["error"][0]
    assert error["errorCode"] == "UNAUTHORIZED"
    assert error["trackingId"]
    assert "trackingID" not in response.text
    assert body["result"] is None


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/consortia", headers={"Authorization": "apikey nope"})
    assert response.status_code == 401
    assert client.get("/api/v1/consortia?apikey=nope").status_code == 401


def test_unknown_route_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/almaws/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["errorsExist"] is True


def test_xml_error_on_format_xml(client: TestClient) -> None:
    response = client.get("/almaws/v1/users?format=xml")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/xml")
    assert b"http://com/exlibris/urm/general/xmlbeans" in response.content


def test_key_in_query_and_trailing_slash(client: TestClient, factory: Factory) -> None:
    operator = factory.operator()
    headers = factory.key(operator)
    key = headers["Authorization"].split(" ", 1)[1]
    response = client.get(f"/api/v1/consortia/?apikey={key}&whatever=ignored")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE

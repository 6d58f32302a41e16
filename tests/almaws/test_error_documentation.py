"""Found by the API fuzzer (tests/test_fuzz_api.py): an answer that repeats a lone surrogate must still
render, and the OpenAPI document must declare the error body the API answers instead of FastAPI's 422."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consortia.http.answers import JSON_TYPE, AlmaJSONResponse


def test_a_lone_surrogate_is_answered_as_a_json_escape() -> None:
    # Only a JSON escape carries a lone surrogate; UTF-8 has no form for it, so encoding it used to fail
    # and turn a 400 that repeats the input into a 500.
    response = AlmaJSONResponse({"errorMessage": "Given user group is not legal. (A\ud800B)"}, status_code=400)
    assert response.headers["content-type"] == JSON_TYPE
    assert b"\\ud800" in response.body
    assert json.loads(response.body) == {"errorMessage": "Given user group is not legal. (A\ud800B)"}


def test_ordinary_text_stays_unescaped() -> None:
    response = AlmaJSONResponse({"name": "Ünïcödé 😀"})
    assert response.body == '{"name":"Ünïcödé 😀"}'.encode()


def test_the_openapi_document_declares_the_error_body_and_no_422(app: FastAPI) -> None:
    document = TestClient(app).get("/openapi.json").json()
    assert '"422"' not in json.dumps(document)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["errorsExist", "errorList", "result"]
    item = error["properties"]["errorList"]["properties"]["error"]["items"]
    assert item["required"] == ["errorCode", "errorMessage", "trackingId"]
    operations = [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert operations
    for method, path, operation in operations:
        assert path.startswith(("/almaws/v1/", "/api/v1/")), path
        default = operation["responses"]["default"]
        assert default["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
            method,
            path,
        )


def test_a_validation_error_matches_the_documented_error_body(client: TestClient) -> None:
    response = client.get("/api/v1/consortia?limit=abc", headers={"Authorization": "apikey nope"})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"errorsExist", "errorList", "result"}
    assert set(body["errorList"]["error"][0]) == {"errorCode", "errorMessage", "trackingId"}

"""Found by the API fuzzer (tests/test_fuzz_api.py): text no database stores alike answers 400 in the
error body on SQLite and PostgreSQL alike, never 500 (a lone surrogate, which only a JSON escape carries)
and never 201 on one database and 400 on the other (NUL and other control characters)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from consortia.access import roles as R
from consortia.http.answers import JSON_TYPE
from tests.factories import Factory

LONE_SURROGATE = b"A\\ud800B"  # as it travels: a JSON escape
NUL = b"A\\u0000B"
BELL = b"bell\\u0007"


def _error(response: object) -> str:
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == JSON_TYPE  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["errorsExist"] is True
    assert body["result"] is None
    return str(body["errorList"]["error"][0]["errorMessage"])


def _send(client: TestClient, method: str, path: str, headers: dict[str, str], body: bytes) -> object:
    return client.request(method, path, headers={**headers, "content-type": "application/json"}, content=body)


@pytest.mark.parametrize("text", [LONE_SURROGATE, NUL, BELL])
def test_a_text_parameter_refuses_unstorable_text(client: TestClient, factory: Factory, text: bytes) -> None:
    east = factory.institution("EAST", factory.consortium("NLC"))
    gsa = factory.key(factory.user(east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)))
    factory.session.commit()
    path = "/api/v1/institutions/EAST/parameters/consortial_id_type"
    message = _error(_send(client, "PUT", path, gsa, b'{"value": "' + text + b'"}'))
    assert "consortial_id_type" in message
    listed = client.get("/api/v1/institutions/EAST/parameters", headers=gsa).json()["parameter"]
    assert {row["name"]: row["value"] for row in listed}["consortial_id_type"] == ""
    ok = _send(client, "PUT", path, gsa, b'{"value": "UNIV_ID"}')
    assert ok.status_code == 200, ok.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", [NUL, BELL])
def test_names_refuse_control_characters(client: TestClient, factory: Factory, text: bytes) -> None:
    factory.institution("EAST", factory.consortium("NLC"))
    operator = factory.key(factory.operator("op"))
    factory.session.commit()
    name = b'"' + text + b'"'
    assert "holds control characters" in _error(
        _send(client, "POST", "/api/v1/consortia", operator, b'{"code": "NEWC", "name": ' + name + b"}")
    )
    assert "holds control characters" in _error(
        _send(
            client,
            "POST",
            "/api/v1/consortia",
            operator,
            b'{"code": "NEWC", "name": "N", "parent_account": ' + name + b"}",
        )
    )
    assert "holds control characters" in _error(
        _send(client, "PATCH", "/api/v1/institutions/EAST", operator, b'{"name": ' + name + b"}")
    )
    assert "holds control characters" in _error(
        _send(
            client,
            "POST",
            "/api/v1/institutions/EAST/libraries",
            operator,
            b'{"code": "EAST_X", "name": ' + name + b"}",
        )
    )
    assert "holds control characters" in _error(
        _send(client, "POST", "/api/v1/fulfillment-networks", operator, b'{"code": "FNX", "name": ' + name + b"}")
    )
    assert client.get("/api/v1/consortia/NEWC", headers=operator).status_code == 404
    assert client.get("/api/v1/institutions/EAST", headers=operator).json()["name"] == "Institution EAST"
    tab_and_break = _send(client, "POST", "/api/v1/consortia", operator, b'{"code": "NEWC", "name": "A\\tB"}')
    assert tab_and_break.status_code == 201, tab_and_break.text  # type: ignore[attr-defined]

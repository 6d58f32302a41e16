"""Found by the API fuzzer (tests/test_fuzz_api.py): a job parameter holding text no database stores
alike answers 400 in the error body, never 500 (the refusal used to repeat a lone surrogate, which the
JSON answer could not encode)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from consortia.access import roles as R
from consortia.http.answers import JSON_TYPE
from tests.factories import Factory


@pytest.mark.parametrize("value", [b"A\\ud800B", b"A\\u0000B", b"\\u001b[2J"])
def test_unstorable_parameter_text_is_400(client: TestClient, factory: Factory, value: bytes) -> None:
    east = factory.institution("EAST", factory.consortium("NLC"))
    gsa = factory.key(factory.user(east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)))
    factory.session.commit()
    body = b'{"parameter": [{"name": {"value": "user_group"}, "value": "' + value + b'"}]}'
    response = client.post(
        "/almaws/v1/conf/jobs/M1001?op=run", headers={**gsa, "content-type": "application/json"}, content=body
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == JSON_TYPE
    error = response.json()["errorList"]["error"][0]
    assert error["errorMessage"] == "The value of user_group holds control characters."
    instances = client.get("/almaws/v1/conf/jobs/M1001/instances", headers=gsa).json()
    assert instances["total_record_count"] == 0

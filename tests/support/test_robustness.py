"""R-2 for the Support Center endpoints: malformed, oversized or wrongly typed input answers 4xx in the
error shape, never 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.http.answers import JSON_TYPE
from tests.support.conftest import SupportWorld

ENDPOINTS = (
    ("POST", "/api/v1/support/cases"),
    ("GET", "/api/v1/support/cases/{x}"),
    ("PATCH", "/api/v1/support/cases/{x}"),
    ("PUT", "/api/v1/support/cases/{x}/sharing"),
    ("POST", "/api/v1/support/cases/{x}/comments"),
    ("GET", "/api/v1/support/cases/{x}/attachments/{x}"),
    ("POST", "/api/v1/support/list-views/{x}/clone"),
    ("PATCH", "/api/v1/support/list-views/{x}"),
    ("GET", "/api/v1/support/list-views/{x}/cases"),
    ("POST", "/api/v1/support/sharing-requests"),
    ("PUT", "/api/v1/support/consortia/{x}/case-sharing"),
    ("POST", "/api/v1/support/licences"),
    ("DELETE", "/api/v1/support/licences/{x}/{x}"),
    ("PATCH", "/api/v1/support/contacts/{x}/{x}"),
    ("POST", "/api/v1/support/access-review/{x}"),
    ("POST", "/api/v1/support/registrations"),
    ("POST", "/api/v1/support/registrations/{x}/confirm"),
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "subject",
        "status",
        "priority",
        "share_with",
        "text",
        "name",
        "filters",
        "columns",
        "sort",
        "version",
        "consortium",
        "contacts",
        "enabled",
        "request_case",
        "institution",
        "primary_id",
        "support_level",
        "email",
        "password",
        "registration_token",
        "issue_type",
        "description",
    ]
)
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values
segments = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#%"), min_size=1, max_size=40
) | st.sampled_from(["00000001", "1", "0", "99999999999999999999", "my-cases", "partner-cases", "NLC", "EAST"])
queries = st.dictionaries(
    st.sampled_from(["limit", "offset", "status", "sort", "direction", "text", "opened_from", "updated_to", "format"]),
    st.text(max_size=30),
    max_size=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    segment=segments,
    body=bodies,
    query=queries,
    as_operator=st.booleans(),
)
def test_no_input_makes_a_server_error(
    client: TestClient,
    world: SupportWorld,
    endpoint: tuple[str, str],
    segment: str,
    body: Any,
    query: dict[str, str],
    as_operator: bool,
) -> None:
    method, template = endpoint
    headers = world.key(world.operator if as_operator else world.east_consortia)
    response = client.request(method, template.replace("{x}", segment), json=body, params=query, headers=headers)
    assert response.status_code < 500, (method, template, segment, body, query, response.text)
    if response.status_code >= 400 and query.get("format") != "xml":
        assert response.headers["content-type"] == JSON_TYPE
        assert response.json()["errorsExist"] is True

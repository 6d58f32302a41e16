"""Security headers on every answer (pages, API, static files, errors, redirects, the 500 of an unexpected
error), a content security policy that needs no inline script or style, and HSTS when cookies are secure."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.app import create_app
from consortia.config import Settings
from consortia.http.deps import get_session
from tests.factories import Factory

TEMPLATES = Path(__file__).parents[2] / "src" / "consortia" / "web" / "templates"
COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_common(response: object) -> dict[str, list[str]]:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in COMMON.items():
        assert headers.get(name) == value, (response, name, headers.get(name))
    assert len(headers.get_list("x-content-type-options")) == 1
    policy = directives(headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    return policy


def test_pages_static_files_errors_and_redirects_carry_the_headers(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("HDRS")
    factory.user(inst, "hdrs-user")
    answers = {
        "sign-in page": client.get("/login"),
        "redirect to sign-in": client.get("/", follow_redirects=False),
        "static file": client.get("/static/consortia.css"),
        "page 404": client.get("/no/such/page"),
        "page 405": client.put("/login"),
        "health": client.get("/healthz"),
    }
    assert answers["redirect to sign-in"].status_code == 303
    assert answers["page 404"].status_code == 404
    for name, response in answers.items():
        policy = assert_common(response)
        assert policy["default-src"] == ["'none'"], name
        # Only this site's own scripts and styles: no inline code, no eval, no other origin.
        assert policy["script-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        assert policy["img-src"] == ["'self'"], name
        assert policy["connect-src"] == ["'self'"], name
        assert policy["form-action"] == ["'self'"], name
        assert policy["base-uri"] == ["'none'"], name
        assert "strict-transport-security" not in response.headers, name


def test_the_api_answers_with_a_policy_that_loads_nothing(client: TestClient, factory: Factory) -> None:
    key = factory.key(factory.operator())
    answers = [
        client.get("/api/v1/consortia", headers=key),
        client.get("/almaws/v1/conf/libraries?apikey=not-a-key"),
        client.get("/almaws/v1/no-such-resource", headers=key),
        client.get("/almaws/v1/users?limit=abc", headers=key),
        client.get("/openapi.json"),
    ]
    assert [r.status_code for r in answers] == [200, 401, 404, 400, 200]
    for response in answers:
        policy = assert_common(response)
        assert policy["default-src"] == ["'none'"]
        assert set(policy) <= {"default-src", "base-uri", "form-action", "frame-ancestors"}


def test_swagger_ui_gets_its_own_policy(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = assert_common(response)
    assert "https://cdn.jsdelivr.net" in response.text
    assert "https://cdn.jsdelivr.net" in policy["script-src"]
    assert policy["connect-src"] == ["'self'"]


def test_a_header_the_route_sets_itself_is_kept_and_not_repeated(app: FastAPI, db: Session) -> None:
    # An attachment download sets its own X-Content-Type-Options, say; the answer must not carry two.
    def own() -> Response:
        return Response(b"x", headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})

    app.add_api_route("/api/v1/test-only-own-headers", own)
    with TestClient(app) as client:
        response = client.get("/api/v1/test-only-own-headers")
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers["x-frame-options"] == "DENY"


def test_an_unexpected_error_carries_the_headers(app: FastAPI, db: Session) -> None:
    def boom() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/api/v1/test-only-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-only-boom")
    assert response.status_code == 500
    assert response.json()["errorList"]["error"][0]["errorCode"] == "402119"
    assert_common(response)


@pytest.fixture
def secure_client(settings: Settings, db: Session) -> Iterator[TestClient]:
    application = create_app(dataclasses.replace(settings, secure_cookies=True), start_worker=False)

    def test_session() -> Iterator[Session]:
        yield db

    application.dependency_overrides[get_session] = test_session
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client


def test_hsts_when_cookies_are_secure(secure_client: TestClient) -> None:
    for response in (
        secure_client.get("/login"),
        secure_client.get("/api/v1/consortia"),
        secure_client.get("/static/consortia.css"),
    ):
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert_common(response)


def test_templates_hold_no_inline_script_style_or_handler() -> None:
    """The pages' policy forbids inline code; a template that had some would break in the browser."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+=", r"javascript:"):
            offenders += [f"{template.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []

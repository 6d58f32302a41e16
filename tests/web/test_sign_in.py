"""Sign-in pages: sessions, CSRF, sign-out, throttling (P-5, R-7)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from consortia.http.deps import SESSION_COOKIE
from tests.factories import PASSWORD, Factory


def _login_form(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, institution: str = "") -> int:
    token = _login_form(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "institution": institution},
        follow_redirects=False,
    )
    return response.status_code


def test_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_sign_in_and_out(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("SIGNA")
    factory.user(inst, "signa-admin", roles=("GENERAL_SYSTEM_ADMINISTRATOR",), first_name="Ada", last_name="Admin")
    assert sign_in(client, "signa-admin") == 303
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Ada Admin" in home.text
    assert 'href="/admin/users"' in home.text  # navigation shows what the role may use
    assert 'href="/operator/consortia"' not in home.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token, no sign-out
    out = client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_session_cookie_flags(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("SIGNB")
    factory.user(inst, "signb-user")
    token = _login_form(client)
    response = client.post(
        "/login", data={"username": "signb-user", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie


def test_login_without_csrf_is_refused(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("SIGNC")
    factory.user(inst, "signc-user")
    client.get("/login")
    response = client.post("/login", data={"username": "signc-user", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.cookies.get(SESSION_COOKIE) is None


def test_failed_sign_ins_are_throttled(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("SIGND")
    factory.user(inst, "signd-user")
    statuses = [sign_in(client, "signd-user", "wrong password") for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # Even the right password waits now.
    assert sign_in(client, "signd-user") == 429


def test_inactive_user_cannot_sign_in(client: TestClient, factory: Factory) -> None:
    inst = factory.institution("SIGNE")
    factory.user(inst, "signe-user", status="INACTIVE")
    assert sign_in(client, "signe-user") == 401


def test_ambiguous_name_needs_the_institution(client: TestClient, factory: Factory) -> None:
    a, b = factory.institution("SIGNF"), factory.institution("SIGNG")
    factory.user(a, "same-name")
    factory.user(b, "same-name")
    assert sign_in(client, "same-name") == 401
    assert sign_in(client, "same-name", institution="SIGNG") == 303

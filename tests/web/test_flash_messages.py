"""Messages after a redirect come from a signed one-shot cookie (R-7): text in `?flash=` or `?warning=`
is never shown, the redirect's address carries no message, a forged or altered cookie shows nothing,
and a message is shown once, to the browser whose request produced it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from consortia.web import flash
from tests.factories import Factory
from tests.support.conftest import SupportWorld, build_world, sign_in

LURE = "Your account is locked: call +1 555 0100"


@pytest.fixture
def world(factory: Factory) -> SupportWorld:
    built = build_world(factory)
    factory.session.commit()
    return built


def _comment(client: TestClient, token: str, number: str) -> str:
    response = client.post(
        f"/support/cases/{number}/comments", data={"csrf_token": token, "text": "Tried again"}, follow_redirects=False
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def test_message_text_in_the_address_is_never_shown(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    assert LURE not in client.get("/login", params={"flash": LURE, "warning": LURE}).text
    sign_in(client, world.operator)
    for path in (
        "/",
        f"/support/cases/{case.number}",
        "/support/admin",
        "/support/admin/licences",
        "/support/contacts",
    ):
        page = client.get(path, params={"flash": LURE, "warning": LURE})
        assert page.status_code == 200, path
        assert LURE not in page.text, path
        assert 'id="warning"' not in page.text, path


def test_a_redirect_carries_its_message_in_the_cookie_and_it_shows_once(
    client: TestClient, world: SupportWorld
) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    location = _comment(client, token, case.number)
    assert location == f"/support/cases/{case.number}#comments"  # no message in the address
    assert client.cookies.get(flash.COOKIE)
    page = client.get(location).text
    assert '<p class="flash" role="status">Comment added.</p>' in page
    assert client.cookies.get(flash.COOKIE) is None  # used up
    assert "Comment added." not in client.get(location).text


def test_the_cookie_is_http_only_short_lived_and_signed(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    response = client.post(
        f"/support/cases/{case.number}/comments", data={"csrf_token": token, "text": "x"}, follow_redirects=False
    )
    header = response.headers["set-cookie"]
    assert header.startswith(f"{flash.COOKIE}=")
    assert "HttpOnly" in header
    assert f"Max-Age={flash.MAX_AGE_SECONDS}" in header
    assert "samesite=lax" in header.lower()
    assert flash.unpack(client.cookies.get(flash.COOKIE)) == flash.Flash("Comment added.", "")


@pytest.mark.parametrize(
    "forge",
    [
        lambda good: flash.pack(flash.Flash(LURE, LURE)).rpartition(".")[0] + "." + good.rpartition(".")[2],
        lambda good: good[:-1] + ("0" if good[-1] != "0" else "1"),
        lambda _good: "not-a-flash-cookie",
        lambda good: good.rpartition(".")[0],
    ],
    ids=["other payload", "altered signature", "garbage", "unsigned"],
)
def test_a_forged_cookie_shows_nothing(client: TestClient, world: SupportWorld, forge) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, world.east_standard)
    good = flash.pack(flash.Flash("Comment added.", ""))
    client.cookies.set(flash.COOKIE, forge(good), domain="testserver.local")
    page = client.get("/")
    assert LURE not in page.text
    assert 'class="flash"' not in page.text
    assert client.cookies.get(flash.COOKIE) is None  # a bad cookie is cleared too


def test_a_warning_of_an_admin_page_travels_the_same_way(client: TestClient, world: SupportWorld) -> None:
    token = sign_in(client, world.operator)
    granted = client.post(
        "/support/admin/licences",
        data={"csrf_token": token, "institution": "EAST", "primary_id": "east-sam"},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    assert granted.headers["location"] == "/support/admin/licences"
    page = client.get("/support/admin/licences").text
    assert 'id="warning"' in page
    assert "no more than one" in page
    assert "east-jane" in page  # the warning names the licence already there


def test_htmx_fragments_leave_the_message_for_the_page(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    location = _comment(client, token, case.number)
    fragment = client.get("/", headers={"HX-Request": "true"})
    assert "Comment added." not in fragment.text
    assert client.cookies.get(flash.COOKIE)
    assert "Comment added." in client.get(location).text


def test_messages_are_limited_in_length() -> None:
    packed = flash.pack(flash.Flash("x" * 10_000, "y" * 10_000))
    assert len(packed) < 4000
    assert flash.unpack(packed) == flash.Flash("x" * flash.MAX_CHARS, "y" * flash.MAX_CHARS)

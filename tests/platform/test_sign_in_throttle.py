"""Sign-in throttling (P-5, R-7): failures are counted per account however its institution code and name are
spelt, and per normalised name for names that are no account; while a counter waits, even the right
password is refused; when the wait is over the right password signs in and clears the count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from consortia.db import utcnow
from consortia.http.deps import SESSION_COOKIE
from consortia.platform.auth import FREE_FAILURES
from consortia.platform.models import SignInFailure
from tests.factories import PASSWORD, Factory

WRONG = "not the password"
# Every spelling of one account's institution code the sign-in accepts, and none at all.
SPELLINGS = ["EAST ", " east", "\tEAST", "", "east", "East\t"]


def _attempt(client: TestClient, username: str, password: str, institution: str) -> int:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "institution": institution},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def east(factory: Factory) -> None:
    institution = factory.institution("EAST")
    factory.user(institution, "thr-user")
    factory.session.commit()


def _pass_the_wait(factory: Factory) -> None:
    """Move every counter's last failure far enough back that no wait is left."""
    factory.session.execute(update(SignInFailure).values(last_failure_at=utcnow() - dt.timedelta(hours=1)))
    factory.session.commit()


@pytest.mark.usefixtures("east")
def test_spellings_of_the_institution_share_one_counter(client: TestClient, factory: Factory) -> None:
    statuses = [_attempt(client, "thr-user", WRONG, SPELLINGS[n % len(SPELLINGS)]) for n in range(FREE_FAILURES)]
    assert statuses == [401] * FREE_FAILURES
    for spelling in SPELLINGS:
        assert _attempt(client, "thr-user", WRONG, spelling) == 429, repr(spelling)
    # The right password waits too, in every spelling, and no session is opened.
    for spelling in SPELLINGS:
        assert _attempt(client, "thr-user", PASSWORD, spelling) == 429, repr(spelling)
    assert client.cookies.get(SESSION_COOKIE) is None


@pytest.mark.usefixtures("east")
def test_spellings_of_the_name_share_one_counter(client: TestClient, factory: Factory) -> None:
    names = ["thr-user", "THR-USER", " thr-user", "Thr-User\t"]
    for n in range(FREE_FAILURES):
        assert _attempt(client, names[n % len(names)], WRONG, "EAST") == 401
    for name in names:
        assert _attempt(client, name, PASSWORD, "") == 429


@pytest.mark.usefixtures("east")
def test_after_the_wait_the_right_password_signs_in_and_clears_the_count(client: TestClient, factory: Factory) -> None:
    for spelling in SPELLINGS[:FREE_FAILURES]:
        assert _attempt(client, "thr-user", WRONG, spelling) == 401
    assert _attempt(client, "thr-user", PASSWORD, "EAST") == 429
    _pass_the_wait(factory)
    assert _attempt(client, "thr-user", PASSWORD, " east ") == 303
    assert client.cookies.get(SESSION_COOKIE)
    # The count starts again from zero: five free failures before the next wait.
    client.cookies.clear()
    assert [_attempt(client, "thr-user", WRONG, "") for _ in range(FREE_FAILURES)] == [401] * FREE_FAILURES
    assert _attempt(client, "thr-user", WRONG, "") == 429


@pytest.mark.usefixtures("east")
def test_the_wait_grows_with_each_failure_after_it(client: TestClient, factory: Factory) -> None:
    for _ in range(FREE_FAILURES):
        assert _attempt(client, "thr-user", WRONG, "EAST") == 401
    _pass_the_wait(factory)
    assert _attempt(client, "thr-user", WRONG, "east") == 401  # one more try after the wait, and a longer wait
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    refused = client.post(
        "/login", data={"username": "thr-user", "password": PASSWORD, "csrf_token": token.group(1), "institution": ""}
    )
    assert refused.status_code == 429
    seconds = re.search(r"Try again in (\d+) seconds", refused.text)
    assert seconds
    assert int(seconds.group(1)) > 15


@pytest.mark.usefixtures("east")
def test_unknown_names_are_counted_whatever_their_spelling(client: TestClient, factory: Factory) -> None:
    """A name that is no account gets no fresh tries from respelling it."""
    spellings = [("nobody", "EAST"), ("NOBODY ", " east"), ("\tnobody", "EAST\t"), ("Nobody", "east")]
    for n in range(FREE_FAILURES):
        name, code = spellings[n % len(spellings)]
        assert _attempt(client, name, WRONG, code) == 401
    for name, code in spellings:
        assert _attempt(client, name, WRONG, code) == 429
    # Unknown without a code is a name of its own: counted the same way across its spellings.
    for n in range(FREE_FAILURES):
        assert _attempt(client, ["nobody", " NOBODY", "nobody\t"][n % 3], WRONG, ["", " ", "\t"][n % 3]) == 401
    assert _attempt(client, "Nobody", WRONG, "") == 429
    # Another account's failures hold this one back in no spelling.
    assert _attempt(client, "thr-user", PASSWORD, "EAST ") == 303

"""The main navigation shows each page to whoever the permission map lets use it, and every entry
shown opens: the Support contacts page for a General System Administrator without a Support Center
level of their own, the mail outbox for the operator only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from consortia.access import roles as R
from tests.factories import Factory
from tests.web.test_sign_in import sign_in

NAV_LINK = re.compile(r'<li><a href="([^"]+)"')


@pytest.fixture
def people(factory: Factory) -> None:
    consortium = factory.consortium("NAVC", "Navigation Consortium", case_sharing_enabled=True)
    institution = factory.institution("NAVI", consortium)
    factory.user(institution, "navi-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="NONE")
    factory.user(institution, "navi-ua", roles=(R.USER_ADMINISTRATOR,), support_level="NONE")
    factory.user(institution, "navi-standard", roles=(R.CIRCULATION_DESK_OPERATOR,), support_level="STANDARD")
    factory.operator("navi-operator")
    factory.session.commit()


def _nav(client: TestClient) -> list[str]:
    home = client.get("/").text
    menu = home[home.index('<nav aria-label="Main">') : home.index("</nav>")]
    return NAV_LINK.findall(menu)


@pytest.mark.parametrize(
    ("username", "shown", "hidden"),
    [
        ("navi-gsa", ["/support/contacts", "/admin/users", "/admin/parameters"], ["/support/cases", "/operator/mail"]),
        ("navi-ua", ["/admin/users"], ["/support/contacts", "/operator/mail"]),
        ("navi-standard", ["/support/cases"], ["/support/contacts", "/operator/mail"]),
        ("navi-operator", ["/support/contacts", "/support/admin", "/operator/mail"], []),
    ],
)
def test_each_entry_shows_to_those_allowed_and_opens(
    client: TestClient, people: None, username: str, shown: list[str], hidden: list[str]
) -> None:
    assert sign_in(client, username) == 303
    links = _nav(client)
    for href in shown:
        assert href in links, f"{username} should see {href}: {links}"
    for href in hidden:
        assert href not in links, f"{username} should not see {href}"
    for href in links:
        assert client.get(href).status_code == 200, f"{username}: {href}"
    for href in hidden:
        assert client.get(href).status_code in {403, 404}, f"{username}: {href}"


def test_a_general_system_administrator_without_support_level_reaches_the_contacts(
    client: TestClient, people: None
) -> None:
    assert sign_in(client, "navi-gsa") == 303
    assert client.get("/support/cases").status_code == 403  # no Support Center level of their own
    page = client.get("/support/contacts")
    assert page.status_code == 200
    assert 'id="contact-navi-standard"' in page.text
    assert '<a href="/support/contacts" aria-current="page">Support contacts</a>' in page.text

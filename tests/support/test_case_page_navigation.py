"""The case pages as people move through them: back to the list a case was opened from, a History in
the page's own words, what a person without Support Center access is told, the way back to sign-in."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.support.conftest import SupportWorld, error_message, sign_in


def _hrefs(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]*)"', page)]


def _back_link(page: str) -> str:
    found = re.search(r'<a href="([^"]*)" id="back-to-cases">', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def test_back_to_the_list_the_case_was_opened_from(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.east_standard, share_with="CONSORTIUM", subject="Shared by EAST")
    sign_in(client, world.west_consortia)
    listing = client.get("/support/cases?view=partner-cases&sort=number&dir=asc")
    assert listing.status_code == 200
    link = f"/support/cases/{shared.number}?view=partner-cases&sort=number&dir=asc"
    assert link in _hrefs(listing.text)

    case_page = client.get(link)

    assert case_page.status_code == 200
    assert _back_link(case_page.text) == "/support/cases?view=partner-cases&sort=number&dir=asc"
    # the default view of a Consortia user is another one: the link does not fall back to it
    assert "view=partner-cases" not in _back_link(client.get(f"/support/cases/{shared.number}").text)


def test_only_known_list_parameters_are_carried(client: TestClient, world: SupportWorld) -> None:
    own = world.case(world.east_standard)
    sign_in(client, world.east_standard)
    for query in (
        "view=https://evil.example/&sort=subject;drop&dir=up&page=abc&next=//evil.example",
        "view=all-cases",  # a view this user may not use
        "view=99999&page=0",
        "page=" + "9" * 50,
    ):
        page = client.get(f"/support/cases/{own.number}?{query}")
        assert page.status_code == 200, query
        assert _back_link(page.text) == "/support/cases", query
        assert "evil" not in page.text
    page = client.get(f"/support/cases/{own.number}?view=my-cases&sort=priority&dir=asc&page=2&colour=red")
    assert _back_link(page.text) == "/support/cases?view=my-cases&sort=priority&dir=asc&page=2"


def test_the_case_forms_keep_the_list(client: TestClient, world: SupportWorld) -> None:
    own = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    query = "view=my-institution&sort=subject&dir=asc&page=2"
    page = client.get(f"/support/cases/{own.number}?{query}").text
    assert f'action="/support/cases/{own.number}/comments?{html.escape(query)}"' in page

    response = client.post(
        f"/support/cases/{own.number}/comments?{query}",
        data={"csrf_token": token, "text": "More detail"},
        follow_redirects=False,
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/support/cases/{own.number}?{query}#comments"
    shared = client.post(
        f"/support/cases/{own.number}/sharing?{query}&next=//evil.example",
        data={"csrf_token": token, "share_with": "CONSORTIUM"},
        follow_redirects=False,
    )
    assert shared.headers["location"] == f"/support/cases/{own.number}?{query}"


def _history_table(page: str) -> str:
    return page[page.index('id="history-heading"') :]


def test_case_history_speaks_the_pages_language(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = client.post("/api/v1/support/cases", json={"subject": "Renewals fail"}, headers=headers).json()["number"]
    assert (
        client.put(
            f"/api/v1/support/cases/{number}/sharing", json={"share_with": "CONSORTIUM"}, headers=headers
        ).status_code
        == 200
    )
    sign_in(client, world.east_standard)

    history = _history_table(client.get(f"/support/cases/{number}").text)

    cells = re.findall(r"<td>(.*?)</td>", history)
    assert "<td>Share with</td>" in history
    assert "<td>Status</td>" in history
    assert "share_with" not in history
    assert "CONSORTIUM" not in history
    assert "INSTITUTION" not in history
    assert "My Institution" in cells
    assert "Northern Libraries Consortium" in cells
    headings = re.findall(r'<th scope="col">(.*?)</th>', history)
    assert headings == ["When", "Field", "Old value", "New value", "By"]  # no job wrote any of it


def test_a_fresh_case_has_no_old_values_to_show(client: TestClient, world: SupportWorld) -> None:
    headers = world.key(world.east_standard)
    number = client.post("/api/v1/support/cases", json={"subject": "Renewals fail"}, headers=headers).json()["number"]
    sign_in(client, world.east_standard)
    history = _history_table(client.get(f"/support/cases/{number}").text)
    assert re.findall(r'<th scope="col">(.*?)</th>', history) == ["When", "Field", "New value", "By"]


def test_without_a_support_level_the_list_says_what_is_missing(client: TestClient, world: SupportWorld) -> None:
    staff = world.factory.user(world.east, "east-nolevel", support_level="NONE")
    world.factory.session.commit()
    api = client.get("/api/v1/support/cases", headers=world.key(staff))
    sign_in(client, staff)

    page = client.get("/support/cases")

    assert page.status_code == 403
    assert "This case is not visible to you" not in page.text
    for words in ("Support Center level", "General System Administrator", "operator", "Standard", "Basic"):
        assert words in page.text, words
    assert api.status_code == 403
    assert "General System Administrator" in error_message(api.json())


def test_the_registration_page_leads_back_to_sign_in(client: TestClient, world: SupportWorld) -> None:
    page = client.get("/support/register")
    assert page.status_code == 200
    assert "/login" in _hrefs(page.text)
    assert re.search(r'<a href="/login" id="sign-in-link">Sign in</a>', page.text)

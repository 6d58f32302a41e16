"""The collaborative-network pages in a real browser under the pages' content security policy: the walk-in
desk finds a patron of a partner with the rule preview, and deleting a linked account rule asks first
(the question comes from /static/network.js, not from an inline handler)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import open_navigation_link, sign_in
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(page: Any) -> Any:
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def test_the_desk_finds_a_walk_in_patron(watched: Any) -> None:
    page = watched
    sign_in(page, "east-desk")
    open_navigation_link(page, "Walk-in desk")
    page.wait_for_url("**/network/walk-in")
    page.get_by_label("Identifier", exact=True).fill("WEST00002")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/network/walk-in?identifier=WEST00002*")
    card = page.locator("article.walk-in").first
    assert "Western Tech" in card.locator("h3").inner_text()
    assert "West walk-ins" in card.locator(".preview").inner_text()
    assert card.get_by_role("button", name="Refresh").count() == 1  # a linked account already exists
    assert violations(page) == []


def test_deleting_a_rule_asks_first(watched: Any) -> None:
    page = watched
    sign_in(page, "east-users")
    open_navigation_link(page, "Collaborative networks")
    page.wait_for_url("**/network/rules")
    assert page.locator("script[src='/static/network.js']").count() == 1
    page.get_by_role("button", name="Duplicate North visitors").click()
    page.wait_for_url("**/network/rules/*")
    page.goto("/network/rules")
    copy = "North visitors (copy)"
    assert page.locator("#rules").get_by_text(copy).count() == 1

    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name=f"Delete {copy}").click()
    page.wait_for_timeout(300)
    assert asked == [f"Delete the rule {copy}?"]
    assert page.locator("#rules").get_by_text(copy).count() == 1  # dismissed: nothing was sent

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete {copy}").click()
    page.wait_for_load_state()
    page.locator("#rules").get_by_text(copy).wait_for(state="detached")
    assert violations(page) == []

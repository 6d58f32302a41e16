"""The collaborative-network pages in a real browser under the pages' content security policy: the walk-in
desk finds a patron of a partner with the rule preview, links them and refreshes the linked account (from
the desk and from the account page); deleting a linked account rule asks first, and rules are reordered
with Up and Down and by drag-and-drop (the question and the dragging come from /static/network.js, not
from inline handlers).

The demo server lives for the whole session: a test that changes the demo puts it back or uses data no
other test reads (west-patron-08 is linked only here)."""

from __future__ import annotations

import datetime as dt
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


def _flash(page: Any) -> str:
    return str(page.locator("p.flash").inner_text())


def _search(page: Any, identifier: str) -> Any:
    page.goto("/network/walk-in")
    page.get_by_label("Identifier", exact=True).fill(identifier)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/network/walk-in?identifier={identifier}*")
    return page.locator("article.walk-in").first


def test_the_desk_links_a_walk_in_patron_and_refreshes_the_account(watched: Any) -> None:
    page = watched
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "east-desk")

    card = _search(page, "WEST00008")
    assert "Western Tech" in card.locator("h3").inner_text()
    assert card.locator("dd.linked").inner_text() == "none"
    facts = dict(zip(card.locator("dt").all_inner_texts(), card.locator("dd").all_inner_texts(), strict=True))
    source_expiry = dt.date.fromisoformat(facts["Expiry"])
    preview = card.locator(".preview").inner_text()
    # "West walk-ins" (Source Institution = WEST): WALKIN, the source's expiry, purge one week after it.
    assert "West walk-ins: Rule 1 holds: Source Institution = WEST." in preview
    assert f"expiry {source_expiry.isoformat()}" in preview
    assert f"purge {(source_expiry + dt.timedelta(weeks=1)).isoformat()}" in preview
    assert "User group" in preview
    assert "resource sharing library" in preview

    card.get_by_role("button", name="Link", exact=True).click()
    page.wait_for_load_state()
    assert _flash(page) == "Linked account west-patron-08.west created by West walk-ins."

    card = _search(page, "WEST00008")
    linked = card.locator("dd.linked").get_by_role("link", name="west-patron-08.west")
    assert linked.count() == 1
    card.get_by_role("button", name="Refresh", exact=True).click()  # linking again refreshes (CN-9)
    page.wait_for_load_state()
    assert _flash(page) == "Linked account west-patron-08.west refreshed (West walk-ins)."

    card = _search(page, "WEST00008")
    card.locator("dd.linked").get_by_role("link", name="west-patron-08.west").click()
    page.wait_for_url("**/admin/users/west-patron-08.west")
    assert page.locator(".badge", has_text="Linked account").count() == 1
    assert "Linked account (from WEST)" in page.locator("main").inner_text()
    page.get_by_role("button", name="Refresh from the source institution").click()
    page.wait_for_url("**/admin/users/west-patron-08.west")
    assert _flash(page) == "Linked account west-patron-08.west refreshed (West walk-ins)."
    assert errors == []
    assert violations(page) == []


RULE_NAMES = "#rules tbody tr[data-rule] td:nth-child(2) a"


def _rule_order(page: Any) -> list[str]:
    return [name.strip() for name in page.locator(RULE_NAMES).all_inner_texts()]


def _row(page: Any, name: str) -> Any:
    return page.locator("#rules tbody tr[data-rule]").filter(has=page.get_by_role("link", name=name, exact=True))


def _drop(page: Any, name: str, target: Any) -> None:
    with page.expect_navigation():
        _row(page, name).drag_to(target)
    page.wait_for_load_state()


def test_rules_are_reordered_with_up_and_down_and_by_dragging(watched: Any) -> None:
    page = watched
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "east-users")
    page.goto("/network/rules")
    west, north = "West walk-ins", "North visitors"
    assert _rule_order(page) == [west, north]
    default = page.locator("#rules tbody tr.default-rule")
    assert default.get_attribute("draggable") is None
    assert page.locator("#rules tbody tr").last.get_attribute("class") == "default-rule"
    assert _row(page, west).get_attribute("draggable") == "true"

    # Without JavaScript's help: Down, one place.
    page.get_by_role("button", name=f"Move {west} down").click()
    page.wait_for_load_state()
    assert _flash(page) == f"Rule {west} moved."
    page.reload()
    assert _rule_order(page) == [north, west]

    # Dragged up onto the first rule, it takes its place.
    _drop(page, west, _row(page, north))
    assert _flash(page) == "The rules were reordered."
    page.reload()
    assert _rule_order(page) == [west, north]

    # Dropped on the default rule, it goes just before it: the default rule stays last.
    _drop(page, west, default)
    assert _flash(page) == "The rules were reordered."
    page.reload()
    assert _rule_order(page) == [north, west]
    assert page.locator("#rules tbody tr").last.get_attribute("class") == "default-rule"

    # The default rule cannot be dragged: nothing is sent.
    url = page.url
    default.drag_to(_row(page, north))
    page.wait_for_timeout(300)
    assert page.url == url
    assert _rule_order(page) == [north, west]

    # Up puts the demo's order back.
    page.get_by_role("button", name=f"Move {west} up").click()
    page.wait_for_load_state()
    page.reload()
    assert _rule_order(page) == [west, north]

    # The rule's history has every move: 1 → 2 (Down), 2 → 1 (dragged), 1 → 2 (dropped last), 2 → 1 (Up).
    page.get_by_role("link", name=west, exact=True).click()
    page.wait_for_url("**/network/rules/*")
    rows = page.locator("section.history tbody tr").filter(has=page.locator("td", has_text="position"))
    moves = [tuple(cell.strip() for cell in row.locator("td").all_inner_texts()[2:4]) for row in rows.all()]
    assert moves[-4:] == [("1", "2"), ("2", "1"), ("1", "2"), ("2", "1")]
    assert errors == []
    assert violations(page) == []

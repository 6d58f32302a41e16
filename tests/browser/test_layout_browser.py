"""The header in a real browser: one row at common laptop and desktop widths for every kind of user
(the operator has a dozen pages), with every page reachable through its menus by mouse, by keyboard
and without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DEMO_PASSWORD, main_navigation, navigation_labels, open_navigation_link, sign_in

pytestmark = pytest.mark.browser

# What a header row is made of: the brand, each entry of the main navigation, and the signed-in person.
ROW_BOXES = """() => {
  const header = document.querySelector("header.topbar");
  const entries = header.querySelectorAll("nav > ul > li");
  const parts = [header.querySelector(".brand"), ...entries, header.querySelector(".who")];
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, height: r.height};
  };
  return {header: box(header), parts: parts.map(box)};
}"""


def _assert_one_row(page: Any, where: str) -> float:
    """Every part of the header crosses one horizontal line, and the header is no taller than one part
    and its padding; answers the header's height."""
    boxes = page.evaluate(ROW_BOXES)
    parts = boxes["parts"]
    assert len(parts) >= 3, where
    lowest_top = max(part["top"] for part in parts)
    highest_bottom = min(part["bottom"] for part in parts)
    assert lowest_top < highest_bottom, f"{where}: the header wraps: {parts}"
    tallest = max(part["height"] for part in parts)
    assert boxes["header"]["height"] < tallest + 24, f"{where}: header {boxes['header']} for parts {parts}"
    return float(boxes["header"]["height"])


PEOPLE = [
    # user name, pages they must reach, menus their header has
    (
        "operator",
        ["Consortia", "Institutions", "Fulfillment networks", "Mail outbox", "Users", "Support admin", "My account"],
        ["Operator", "Administration", "Support"],
    ),
    (
        "east-admin",
        ["Users", "Parameters", "Collaborative networks", "Monitor Jobs", "Walk-in desk", "Support contacts"],
        ["Administration"],
    ),
    ("east-consortia", ["Support cases", "My account"], []),
    ("east-desk", ["Users", "Collaborative networks", "Monitor Jobs", "Walk-in desk"], ["Administration"]),
]


@pytest.mark.parametrize("width", [1366, 1920])
@pytest.mark.parametrize(("username", "pages", "menus"), PEOPLE)
def test_the_header_is_one_row_and_every_page_is_reachable(
    page: Any, username: str, pages: list[str], menus: list[str], width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, username)
    height = _assert_one_row(page, f"{username} at {width}px, home")
    nav = main_navigation(page)
    assert [label.strip() for label in nav.locator("summary").all_inner_texts()] == menus
    labels = navigation_labels(page)
    for label in pages:
        assert label in labels, f"{username} should reach {label}: {labels}"

    # Opening a menu drops its list over the page: the header keeps its height, the list fits the window.
    for summary in nav.locator("summary").all():
        summary.click()
        menu = summary.locator("xpath=..").locator("ul")
        assert menu.is_visible()
        box = menu.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert _assert_one_row(page, f"{username} at {width}px, menu open") == height
    page.keyboard.press("Escape")

    for label in labels:
        page.goto("/")
        href = nav.get_by_role("link", name=label, exact=True, include_hidden=True).get_attribute("href")
        open_navigation_link(page, label)
        page.wait_for_url(f"**{href}")
        page.wait_for_load_state()
        heading = page.get_by_role("heading", level=1).first.inner_text()
        assert heading.strip() not in {"Not permitted", "Not found", "Error"}, f"{username}: {label}"
        _assert_one_row(page, f"{username} at {width}px, {label}")
        current = nav.locator('a[aria-current="page"]')
        assert current.count() == 1
        assert current.text_content() == label


def test_menus_work_with_the_keyboard(page: Any) -> None:
    sign_in(page, "operator")
    nav = main_navigation(page)
    operator_menu = nav.locator("details").filter(has=page.locator("summary", has_text="Operator"))
    operator_menu.locator("summary").focus()
    page.keyboard.press("Enter")
    assert operator_menu.get_attribute("open") is not None
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Consortia"
    page.keyboard.press("Escape")
    assert operator_menu.get_attribute("open") is None
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    # Space opens the next menu too, and closes the one open before (one menu open at a time).
    support = nav.locator("details").filter(has=page.locator("summary", has_text="Support"))
    operator_menu.locator("summary").focus()
    page.keyboard.press("Enter")
    support.locator("summary").focus()
    page.keyboard.press("Space")
    assert support.get_attribute("open") is not None
    assert operator_menu.get_attribute("open") is None
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Support contacts"
    page.keyboard.press("Enter")
    page.wait_for_url("**/support/contacts")
    assert page.get_by_role("heading", level=1).first.inner_text().startswith("Support")


def test_menus_work_without_javascript(browser: Any, live_server: str) -> None:
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1366, "height": 800}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("User name", exact=True).fill("operator")
        page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        _assert_one_row(page, "without JavaScript")
        open_navigation_link(page, "Fulfillment networks")
        page.wait_for_url("**/operator/networks")
        open_navigation_link(page, "Support admin")
        page.wait_for_url("**/support/admin")
        _assert_one_row(page, "without JavaScript, Support admin")
    finally:
        context.close()

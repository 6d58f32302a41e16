"""Signing in and walking the main navigation in a real browser, as people of different places."""

from __future__ import annotations

import pytest

from tests.browser.conftest import navigation_labels, open_navigation_link, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("username", "expected", "absent"),
    [
        ("operator", ["Consortia", "Institutions", "Fulfillment networks", "Monitor Jobs"], []),
        ("east-admin", ["Users", "Parameters", "Monitor Jobs", "My account"], ["Consortia", "Institutions"]),
        ("east-desk", ["Users", "My account"], ["Parameters", "Consortia"]),
    ],
)
def test_sign_in_and_walk_the_navigation(page, username: str, expected: list[str], absent: list[str]) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, username)
    labels = navigation_labels(page)
    for label in expected:
        assert label in labels, f"{username} should see {label}: {labels}"
    for label in absent:
        assert label not in labels, f"{username} should not see {label}"
    for label in labels:
        open_navigation_link(page, label)
        page.wait_for_load_state()
        heading = page.get_by_role("heading", level=1)
        assert heading.count() >= 1, f"{label} has no heading"
        assert "Not permitted" not in heading.first.inner_text()
        assert heading.first.inner_text().strip() != "Error"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_keyboard_sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.keyboard.type("east-admin")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("consortia-demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")

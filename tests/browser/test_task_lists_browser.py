"""The Community Zone Updates Task List in a real browser, on the demo (ER-14): out-of-scope items have
disabled selection boxes and no Dismiss, and "Dismiss All" handles the items in scope only and says how many
it skipped.

east-eio-law holds the Electronic Inventory Operator role for EAST_LAW (and Extended for EAST_SCI, which does
not edit): of the demo's five CZ update items, those of Harvard Law Review and the Law Journals Package are in
its scope; Journal of Chemical Physics (EAST_SCI), Open Everything and Pride and Prejudice (institution level)
are not. The test dismisses the two: no other browser test reads this list.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def rows(page: Any) -> dict[str, Any]:
    return {row.locator("td").nth(2).inner_text(): row for row in page.locator("#task-table tbody tr").all()}


def test_dismiss_all_handles_only_items_in_scope_and_reports_the_skipped(page: Any) -> None:
    sign_in(page, "east-eio-law")
    page.goto("/eresources/portfolios")
    page.get_by_role("link", name="Community Zone Updates Task List").click()
    page.wait_for_load_state()
    before = rows(page)
    assert before["Harvard Law Review"].locator("input[type=checkbox]").is_enabled()
    assert before["Harvard Law Review"].get_by_role("button", name="Dismiss").count() == 1
    for title in ("Journal of Chemical Physics", "Open Everything", "Pride and Prejudice"):
        assert before[title].locator("input[type=checkbox]").is_disabled(), title
        assert before[title].get_by_role("button", name="Dismiss").count() == 0, title
        assert before[title].get_by_role("link", name="Edit").count() == 0, title
    page.get_by_role("button", name="Dismiss All").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").first.inner_text() == "2 items dismissed; 3 skipped (out of your role scope)."
    after = rows(page)
    assert set(after) == {"Journal of Chemical Physics", "Open Everything", "Pride and Prejudice"}
    page.get_by_role("link", name="Dismissed").click()
    page.wait_for_load_state()
    dismissed = rows(page)
    assert set(dismissed) == {"Harvard Law Review", "Law Journals Package"}
    assert "Lena Lawson" in dismissed["Harvard Law Review"].locator("td").nth(6).inner_text()

"""Electronic resources in a real browser, on the demo (EAST has the scope switch on): View mode (ER-13),
setting a collection's library through the confirmation with the job's link to Monitor Jobs (ER-7), and the
service editor's actions limited to the scope (ER-12).

Each test leaves the demo as it found it (a library it sets on a collection is set back).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

VIEW = "The resource was opened in View mode due to insufficient editing privileges for this resource"
CONFIRMATION = (
    "Setting a library to the electronic collection will delete any existing library value from all its portfolios, "
    "and they will inherit the collection's library definition. This action will be done by a background process "
    "and cannot be reversed."
)


def open_collection(page: Any, name: str) -> None:
    page.goto("/eresources/collections")
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_load_state()


def test_view_mode_out_of_scope_and_edit_mode_in_scope(page: Any) -> None:
    sign_in(page, "east-eio-law")
    open_collection(page, "Science Select")
    assert page.locator("#view-mode-message").inner_text() == VIEW
    assert page.locator("#library-select").count() == 0
    open_collection(page, "Law Journals Package")
    assert page.locator("#view-mode-message").count() == 0
    # A library-scoped user chooses among the libraries of their scope: "None" would take the collection
    # out of it (the seed: "you can select only from libraries defined on user role(s)").
    options = page.locator("#library-select option").all_inner_texts()
    assert options == ["Law Library (EAST_LAW)"]


def set_library(page: Any, label: str) -> str:
    """Choose a library, confirm the pop-up, and answer the flash message."""
    page.get_by_label("Library", exact=True).select_option(label=label)
    page.get_by_role("button", name="Set library").click()
    dialog = page.get_by_role("dialog")
    assert dialog.locator("#library-confirm-text").inner_text() == CONFIRMATION
    dialog.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    return str(page.get_by_role("status").first.inner_text())


def test_setting_a_collection_library_through_the_confirmation(page: Any) -> None:
    sign_in(page, "east-eio")
    open_collection(page, "Science Select")
    message = set_library(page, "Main Library (EAST_MAIN)")
    assert "Set Electronic Collection Library" in message
    assert page.locator("#collection-library").inner_text() == "Main Library (EAST_MAIN)"
    page.locator("#library-job-link").click()
    page.wait_for_load_state()
    assert "Set Electronic Collection Library" in page.content()
    open_collection(page, "Science Select")
    set_library(page, "Science Library (EAST_SCI)")
    assert page.locator("#collection-library").inner_text() == "Science Library (EAST_SCI)"


def test_the_service_editor_enables_only_actions_in_scope(page: Any) -> None:
    sign_in(page, "east-eio-law")
    open_collection(page, "Open Access Aggregator")
    page.locator("#services-table a").first.click()
    page.wait_for_load_state()
    assert page.locator("#collection-library").inner_text() == ""
    # the collection is at institution level: no table action for a library-scoped user
    assert page.locator("#table-actions button:enabled").count() == 0
    assert page.locator("#column-library").count() == 0  # hidden by default
    page.get_by_label("Show the Library column").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.locator("#column-library").count() == 1
    # each row: its title (the cell after the selection box) and its enabled actions (links and buttons)
    rows = {
        row.locator("td").nth(1).inner_text(): [
            a.inner_text() for a in row.locator("td.actions a, td.actions button:enabled").all()
        ]
        for row in page.locator("#portfolio-list tbody tr").all()
    }
    assert rows["Open Law Quarterly"] == ["Edit", "Move", "Remove", "Duplicate", "Deactivate"]
    assert rows["Open Science Letters"] == ["Delete"]  # Extended for EAST_SCI, no editing role there
    assert rows["Open Everything"] == []
    page.get_by_label("Library", exact=True).select_option(label="Law Library")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.locator("#portfolio-list tbody tr").count() == 1

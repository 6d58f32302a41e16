"""The Support Center in a real browser, on the demo consortia (SC-5 .. SC-9): the Share Case pop-up,
the Consortium/Partner Cases list as a Consortia user sees it, a custom view cloned from it, and the
operator resolving SOUTH's request to enable case sharing (SC-10).

Each test leaves the demo as it found it (a case it shares is set back, a view it makes is deleted,
sharing it enables is disabled again), because the tests of a run share one demo server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from consortia.support.models import OPEN_STATUSES
from tests.browser.conftest import open_navigation_link, sign_in

pytestmark = pytest.mark.browser

PARTNER_VIEW = "Consortium/Partner Cases (Support Center)"
CONSORTIUM = "Northern Libraries Consortium"
MY_INSTITUTION = "My Institution"
EAST_UNSHARED_CASE = "Overdue notices are sent twice to faculty"  # EAST, kept with the institution


@pytest.fixture
def second_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a browser context of its own: a second person signed in at the same time."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 800})
    yield context.new_page()
    context.close()


def open_view(page: Any, name: str) -> None:
    """Pick a list view in the view picker, as a person does: choose it, then Show."""
    page.goto("/support/cases")
    page.get_by_label("List view").select_option(label=name)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == name


def case_rows(page: Any) -> list[dict[str, str]]:
    """The rows of the case table on the page, as {column header: cell text}, plus the row's number."""
    table = page.get_by_role("table")
    if table.count() == 0:
        return []
    headers = [re.sub(r"\s*[▲▼]$", "", h.strip()) for h in table.locator("thead th").all_inner_texts()]
    rows = []
    for row in table.locator("tbody tr").all():
        cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
        values = dict(zip(headers, cells, strict=True))
        values["row id"] = row.get_attribute("id") or ""
        rows.append(values)
    return rows


def all_case_rows(page: Any) -> list[dict[str, str]]:
    """Every row of the current view, following the pager's Next link."""
    rows = case_rows(page)
    while page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").count():
        page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
        page.wait_for_load_state()
        rows.extend(case_rows(page))
    return rows


def shown_count(page: Any) -> int:
    text = page.locator("#case-count").inner_text()
    found = re.match(r"\s*(\d+) cases?", text)
    assert found, text
    return int(found.group(1))


def share_case(page: Any, choice: str) -> None:
    """Share Case: open the pop-up, choose in its drop-down, confirm."""
    page.get_by_role("button", name="Share Case").click()
    dialog = page.get_by_role("dialog", name="Share Case")
    dialog.wait_for()
    assert page.locator("#share-case-dialog").is_visible()
    dialog.get_by_label("Share with").select_option(label=choice)
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_load_state()


# --- (a) the Share Case pop-up, partner visibility and unsharing ----------------------------------------


def test_share_case_pop_up_shows_the_case_to_partners_until_it_is_set_back(page: Any, second_page: Any) -> None:
    east, west = page, second_page
    sign_in(east, "east-standard")
    east.goto("/support/cases")
    assert east.get_by_role("heading", level=1).inner_text() == "My Institution's Cases"
    number = open_case(east, EAST_UNSHARED_CASE)
    case_url = f"/support/cases/{number}"
    assert east.locator("#share-with-value").inner_text() == MY_INSTITUTION
    history_before = sharing_history(east)
    assert history_before[0] == ["Share with", "", MY_INSTITUTION, "Stan Standard"]
    # The pop-up opens on the page, with the drop-down focused, and Cancel closes it again.
    east.get_by_role("button", name="Share Case").click()
    dialog = east.get_by_role("dialog", name="Share Case")
    dialog.wait_for()
    assert focused_id(east) == "share-case-select"
    options = dialog.get_by_label("Share with").locator("option").all_inner_texts()
    assert options == [MY_INSTITUTION, CONSORTIUM]
    dialog.get_by_role("link", name="Cancel").click()
    assert not east.locator("#share-case-dialog").is_visible()
    assert re.search(rf"{case_url}\?view=my-institution$", east.url), east.url

    share_case(east, CONSORTIUM)
    try:
        assert east.locator("#share-with-value").inner_text() == CONSORTIUM
        assert f"shared with: {CONSORTIUM}" in east.get_by_role("status").first.inner_text()

        # west-consortia, signed in elsewhere, finds it among the partner cases with its institution.
        sign_in(west, "west-consortia")
        open_view(west, PARTNER_VIEW)
        rows = {row["Case number"]: row for row in all_case_rows(west)}
        assert number in rows
        assert rows[number]["Institution"] == "EAST"
        assert rows[number]["row id"] == f"case-row-{number}"
        assert rows[number]["Subject"] == EAST_UNSHARED_CASE
        west.goto(case_url)
        assert west.get_by_role("heading", level=1).inner_text() == f"Case {number}: {EAST_UNSHARED_CASE}"
        assert "you can read this case but not change it" in west.locator("#partner-read-only").inner_text()
        assert west.get_by_role("button", name="Share Case").count() == 0
        assert west.locator("#share-case-dialog").count() == 0
        assert west.locator("#comment-form").count() == 0
        assert west.get_by_label("Add a comment").count() == 0
        assert west.locator("#update-case-form").count() == 0
        assert west.get_by_label("Status").count() == 0
        assert west.locator("#attachment-form").count() == 0
        # The Share Case page itself answers as a denial, not as a form.
        west.goto(f"{case_url}/share")
        assert west.get_by_role("heading", level=1).inner_text() == "Not permitted"
    finally:
        east.goto(case_url)
        share_case(east, MY_INSTITUTION)

    assert east.locator("#share-with-value").inner_text() == MY_INSTITUTION
    # Both changes are in the case's History tab, by the person who made them.
    assert sharing_history(east)[len(history_before) :] == [
        ["Share with", MY_INSTITUTION, CONSORTIUM, "Stan Standard"],
        ["Share with", CONSORTIUM, MY_INSTITUTION, "Stan Standard"],
    ]
    open_view(west, PARTNER_VIEW)
    assert number not in {row["Case number"] for row in all_case_rows(west)}
    west.goto(case_url)
    assert west.get_by_role("heading", level=1).inner_text() == "Not found"
    assert EAST_UNSHARED_CASE not in west.content()


def test_share_case_pop_up_works_from_the_keyboard(page: Any) -> None:
    sign_in(page, "east-standard")
    number = open_case(page, EAST_UNSHARED_CASE)
    share = page.get_by_role("button", name="Share Case")
    share.focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Share Case").wait_for()
    assert focused_id(page) == "share-case-select"
    page.keyboard.press("Escape")
    assert not page.locator("#share-case-dialog").is_visible()
    assert focused_id(page) == "share-case-button"

    page.keyboard.press("Space")
    page.get_by_role("dialog", name="Share Case").wait_for()
    page.keyboard.type("N")  # type-ahead: from My Institution to Northern Libraries Consortium
    page.keyboard.press("Tab")
    assert focused_id(page) == "share-case-save"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    try:
        assert page.locator("#share-with-value").inner_text() == CONSORTIUM
    finally:
        page.goto(f"/support/cases/{number}")
        share_case(page, MY_INSTITUTION)
    assert page.locator("#share-with-value").inner_text() == MY_INSTITUTION


def test_share_case_without_javascript_opens_the_same_form(browser: Any, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "east-standard")
        number = open_case(page, EAST_UNSHARED_CASE)
        assert not page.locator("#share-case-dialog").is_visible()
        page.get_by_role("button", name="Share Case").click()
        page.wait_for_url(re.compile(rf"/support/cases/{number}/share\?view=my-institution$"))
        dialog = page.get_by_role("dialog", name="Share Case")
        assert dialog.get_by_label("Share with").input_value() == "INSTITUTION"
        dialog.get_by_role("link", name="Cancel").click()
        page.wait_for_url(re.compile(rf"/support/cases/{number}\?view=my-institution$"))  # the list is kept
        assert page.locator("#share-with-value").inner_text() == MY_INSTITUTION
    finally:
        context.close()


def open_case(page: Any, subject: str) -> str:
    """Open a case from the default list by its subject; answers its number."""
    page.goto("/support/cases")
    page.get_by_role("link", name=subject).click()
    page.wait_for_url(re.compile(r"/support/cases/\d{8}(\?[^/]*)?$"))  # with the list it was opened from
    found = re.search(r"/support/cases/(\d{8})", page.url)
    assert found, page.url
    return found.group(1)


def sharing_history(page: Any) -> list[list[str]]:
    """The Share with rows of the case's History tab: field, old value, new value, by."""
    history = page.get_by_role("region", name="History")
    headers = [h.strip() for h in history.locator("thead th").all_inner_texts()]
    rows = []
    for row in history.locator("tbody tr").all():
        values = dict(zip(headers, (cell.strip() for cell in row.locator("td").all_inner_texts()), strict=True))
        if values["Field"] == "Share with":
            rows.append([values["Field"], values["Old value"], values["New value"], values["By"]])
    return rows


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


# --- (b) the partner list of a CONSORTIA user -------------------------------------------------------------


def test_partner_list_shows_several_institutions_pages_and_sorts(page: Any) -> None:
    sign_in(page, "west-consortia")
    open_view(page, PARTNER_VIEW)
    table = page.get_by_role("table", name=PARTNER_VIEW)
    headers = table.get_by_role("columnheader").all_inner_texts()
    assert [h.strip().rstrip("▲▼ ") for h in headers] == [
        "Case number",
        "Institution",
        "Subject",
        "Status",
        "Priority",
        "Last updated",
    ]
    total = shown_count(page)
    first_page = case_rows(page)
    assert len(first_page) == 25
    assert total > 25, "the demo shares more cases than one page holds"
    pager = page.get_by_role("navigation", name="Pages")
    assert pager.get_by_role("link", name="Previous").count() == 0
    pager.get_by_role("link", name="Next").click()
    page.wait_for_load_state()
    assert "Page 2" in page.get_by_role("navigation", name="Pages").inner_text()
    second = case_rows(page)
    assert len(first_page) + len(second) == total
    assert not {r["Case number"] for r in first_page} & {r["Case number"] for r in second}
    institutions = {row["Institution"] for row in first_page + second}
    assert institutions == {"EAST", "WEST", "NORTH"}
    # Each institution code carries the institution's name.
    names = page.get_by_role("table").get_by_title(
        re.compile("^(Eastern State University|Western Tech|Northern College)$")
    )
    assert names.count() == len(second)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Previous").click()
    page.wait_for_load_state()
    assert [r["Case number"] for r in case_rows(page)] == [r["Case number"] for r in first_page]

    # Sorting by institution, one way then the other, across every page; then by case number.
    directions = []
    for column in ("Institution", "Institution", "Case number"):
        sort_by(page, column)
        direction = page.get_by_role("columnheader", name=re.compile(column)).get_attribute("aria-sort")
        assert direction in {"ascending", "descending"}
        values = [row[column] for row in all_case_rows(page)]
        assert len(values) == total
        assert values == sorted(values, reverse=direction == "descending"), (column, direction)
        directions.append(direction)
    assert directions[0] != directions[1]


def sort_by(page: Any, column: str) -> None:
    """Click a column's heading link (the first click sorts one way, the next the other)."""
    page.get_by_role("columnheader", name=re.compile(column)).get_by_role("link").click()
    page.wait_for_load_state()


def test_partner_cases_are_not_offered_to_standard_users(page: Any) -> None:
    sign_in(page, "south-standard")
    page.goto("/support/cases")
    options = page.get_by_label("List view").locator("option").all_inner_texts()
    assert PARTNER_VIEW not in options
    rows = case_rows(page)
    assert rows
    page.goto("/support/cases?view=partner-cases")
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"


# --- (c) cloning a view -------------------------------------------------------------------------------------


def test_clone_the_partner_view_and_limit_it_to_open_cases(page: Any) -> None:
    sign_in(page, "west-consortia")
    open_view(page, PARTNER_VIEW)
    shared = all_case_rows(page)
    open_shared = {row["Case number"] for row in shared if row["Status"] in OPEN_STATUSES}
    assert open_shared
    assert len(open_shared) < len(shared)

    # Built-in views offer no edit, only a clone.
    open_view(page, PARTNER_VIEW)
    assert page.get_by_role("link", name="Edit this view").count() == 0
    assert "cannot be changed" in page.locator("#built-in-view-note").inner_text()
    clone = page.get_by_role("region", name="Clone this view")
    clone.get_by_label("Name of the new view").fill("Open partner cases")
    clone.get_by_role("button", name="Clone view").click()
    page.wait_for_url(re.compile(r"/support/views/\d+/edit$"))
    found = re.search(r"/support/views/(\d+)/edit", page.url)
    assert found, page.url
    view_id = found.group(1)
    assert "created from" in page.get_by_role("status").first.inner_text()
    try:
        editor = page.get_by_role("form", name="Edit view")
        assert editor.get_by_label("Name", exact=True).input_value() == "Open partner cases"
        editor.get_by_label("Name", exact=True).fill("Open cases of our partners")
        statuses = editor.get_by_role("group", name="Status")
        for status in OPEN_STATUSES:
            statuses.get_by_label(status, exact=True).check()
        editor.get_by_role("button", name="Save view").click()
        page.wait_for_url(re.compile(rf"/support/cases\?view={view_id}$"))

        assert page.get_by_role("heading", level=1).inner_text() == "Open cases of our partners"
        assert "View Open cases of our partners saved." in page.get_by_role("status").first.inner_text()
        rows = all_case_rows(page)
        assert {row["Case number"] for row in rows} == open_shared
        assert all(row["Status"] in OPEN_STATUSES for row in rows)
        assert {row["Institution"] for row in rows} <= {"EAST", "WEST", "NORTH"}
        assert shown_count(page) == len(open_shared)
        # The custom view is in the picker and can be edited; the built-in one still cannot.
        options = page.get_by_label("List view").locator("option").all_inner_texts()
        assert "Open cases of our partners (custom)" in options
        assert PARTNER_VIEW in options
        assert page.get_by_role("link", name="Edit this view").count() == 1
        page.goto("/support/views/partner-cases/edit")
        assert page.get_by_role("form", name="Edit view").count() == 0
    finally:
        page.goto(f"/support/views/{view_id}/edit")
        page.get_by_role("button", name="Delete this view").click()
        page.wait_for_url(re.compile(r"/support/cases"))
    options = page.get_by_label("List view").locator("option").all_inner_texts()
    assert "Open cases of our partners (custom)" not in options


# --- (d) the operator resolves the pending request of SOUTH -------------------------------------------------


def test_operator_resolves_the_sharing_request_from_the_case(page: Any, second_page: Any) -> None:
    operator, south = page, second_page
    sign_in(operator, "operator")
    open_navigation_link(operator, "Support admin")
    requests = operator.get_by_role("region", name="Requests to enable case sharing")
    request_row = requests.get_by_role("row", name=re.compile("Southern Colleges Consortium"))
    number = request_row.get_by_role("link").inner_text().strip()
    assert "Sol Standard (SOUTH/south-standard)" in request_row.inner_text()
    request_row.get_by_role("link", name=number).click()
    operator.wait_for_url(f"**/support/cases/{number}")
    assert (
        operator.get_by_role("heading", level=1)
        .inner_text()
        .endswith("Set up case sharing for Southern Colleges Consortium")
    )
    assert "SCC Parent Account" in operator.locator("#case-description").inner_text()

    # The form redirects back to the case's own address (the message travels in the flash cookie).
    resolve = operator.get_by_role("button", name="Enable sharing for Southern Colleges Consortium and grant licences")
    with operator.expect_navigation(url=re.compile(rf"/support/cases/{number}$")):
        resolve.click()
    try:
        assert "Licences granted to: south-standard" in operator.get_by_role("status").first.inner_text()
        assert operator.locator("#case-status").inner_text() == "Solved"
        assert operator.get_by_role("button", name=re.compile("Enable sharing for")).count() == 0
        assert (
            "Case sharing is enabled for Southern Colleges Consortium" in operator.locator("#comment-list").inner_text()
        )

        # south-standard is a Consortia user now, and SOUTH's cases can be shared.
        sign_in(south, "south-standard")
        south.goto("/support/cases")
        assert PARTNER_VIEW in south.get_by_label("List view").locator("option").all_inner_texts()
        open_case(south, "Printing of fulfillment slips is very slow")
        assert south.get_by_role("button", name="Share Case").count() == 1
    finally:
        # Put the demo back: sharing off for SCC, south-standard's licence removed (STANDARD again).
        operator.goto("/support/admin")
        switch = operator.get_by_role("button", name="Disable case sharing for Southern Colleges Consortium")
        if switch.count():
            with operator.expect_navigation(url="**/support/admin"):
                switch.click()
        operator.goto("/support/admin/licences")
        remove = operator.get_by_role("button", name="Remove licence of south-standard (SOUTH)")
        if remove.count():
            with operator.expect_navigation(url="**/support/admin/licences"):
                remove.click()
    assert "south-standard (SOUTH) is STANDARD now" in operator.get_by_role("status").first.inner_text()
    assert operator.get_by_role("button", name=re.compile("Remove licence of south-standard")).count() == 0
    operator.goto("/support/admin")
    assert (
        operator.get_by_role("row", name=re.compile("Southern Colleges Consortium")).filter(has_text="Disabled").count()
        == 1
    )
    assert operator.locator(f"#request-{number}").count() == 0
    south.goto("/support/cases")
    assert PARTNER_VIEW not in south.get_by_label("List view").locator("option").all_inner_texts()


# --- (e) coming back to the list, and the contact rows of a case-sharing request ----------------------------


def test_back_to_cases_returns_to_the_partner_view_and_its_order(page: Any) -> None:
    sign_in(page, "west-consortia")
    open_view(page, PARTNER_VIEW)
    sort_by(page, "Case number")
    listed_url = page.url
    first = case_rows(page)[0]
    page.locator(f"#{first['row id']}").get_by_role("link", name=first["Subject"], exact=True).click()
    page.wait_for_url(re.compile(rf"/support/cases/{first['Case number']}\?"))
    page.get_by_role("link", name="← Cases").click()
    page.wait_for_load_state()
    assert page.url == listed_url
    assert page.get_by_role("heading", level=1).inner_text() == PARTNER_VIEW
    assert case_rows(page)[0]["Case number"] == first["Case number"]


def test_sharing_request_contact_rows_from_the_keyboard(page: Any) -> None:
    sign_in(page, "south-standard")
    page.goto("/support/sharing-request")
    form = page.get_by_role("group", name="Contacts who should see shared cases")
    assert form.get_by_label("Contact 1: institution").input_value() == "SOUTH"
    assert form.get_by_label(re.compile(r"Contact \d: institution")).count() == 1  # SCC has one member

    add = page.get_by_role("button", name="Add a contact")
    add.focus()
    page.keyboard.press("Enter")
    assert focused_id(page) == "contact-institution-2"
    assert "Contact 2 added." in page.locator("#contact-rows-status").inner_text()
    page.keyboard.press("Tab")
    assert focused_id(page) == "contact-primary-id-2"
    page.keyboard.type("nobody-at-all")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Remove contact 2"
    page.keyboard.press("Enter")
    assert form.get_by_label(re.compile(r"Contact \d: user name")).count() == 1
    assert focused_id(page) == "contact-primary-id-1"

    # A contact who cannot be named is refused, and the form keeps what was typed (nothing is opened).
    form.get_by_label("Contact 1: user name").fill("nobody-at-all")
    with page.expect_navigation():
        page.get_by_role("button", name="Open the request case").click()
    assert "These contacts cannot be named: SOUTH/nobody-at-all." in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Contact 1: user name").input_value() == "nobody-at-all"

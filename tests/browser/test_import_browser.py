"""The Repository Import (ER-22) in a real browser, on the demo: a small MARC file uploaded on the page of
the profile "Repository: Law Journals Package" (library from 910 $a; the collection's library is
EAST_LAW), then the job's page follows the progress to completion and shows the counters, the library
conflict among them.

The records' control numbers are new on every run, so the test imports them whatever ran before.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pymarc
import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

CONFLICT = "Electronic portfolio skipped due to library conflict with the electronic collection library"


def marc_record(control: str, title: str, library: str | None) -> bytes:
    record = pymarc.Record(leader="00000nas a2200000 a 4500")
    fields = [
        pymarc.Field(tag="001", data=control),
        pymarc.Field(tag="245", indicators=pymarc.Indicators("0", "0"), subfields=[pymarc.Subfield("a", title)]),
    ]
    if library is not None:
        fields.append(
            pymarc.Field(tag="910", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("a", library)])
        )
    record.add_field(*fields)  # type: ignore[no-untyped-call]
    data: bytes = record.as_marc()
    return data


def counters(page: Any) -> dict[str, str]:
    rows = page.locator("#job-status table").first.locator("tbody tr").all()
    return {row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text() for row in rows}


def test_uploading_a_marc_file_and_following_the_import_to_its_counters(page: Any, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    upload = tmp_path / "law-journals.mrc"
    upload.write_bytes(
        marc_record(f"law-{run}-1", "Browser Law Review", "EAST_LAW")
        + marc_record(f"law-{run}-2", "Browser Science Letters", "EAST_SCI")  # another library: a conflict
        + marc_record(f"law-{run}-3", "Browser Journal Without Library", None)
    )
    sign_in(page, "east-repo")
    page.goto("/eresources/import-profiles")
    page.get_by_role("link", name="Repository: Law Journals Package", exact=True).click()
    page.wait_for_load_state()
    page.locator("#upload-file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url("**/jobs/*")
    assert "Repository Import" in page.get_by_role("status").first.inner_text()
    deadline = time.monotonic() + 90
    badge = page.locator("#job-status .badge")
    while badge.inner_text() not in ("Completed Successfully", "Completed with Errors", "Failed"):
        assert time.monotonic() < deadline, f"the import did not end: {badge.inner_text()}"
        page.wait_for_timeout(500)  # the status section polls itself (htmx) every 2 s
    assert badge.inner_text() == "Completed Successfully"
    assert page.get_by_label("Progress").get_attribute("value") == "100"
    found = counters(page)
    assert found["Records imported"] == "2"
    assert found["Electronic portfolios created"] == "2"
    assert found[CONFLICT] == "1"
    assert found["Records not imported (malformed)"] == "0"
    events = page.locator("#job-status table").nth(1).inner_text()
    assert f"Record 2: {CONFLICT}" in events

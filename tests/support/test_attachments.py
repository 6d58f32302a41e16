"""Attachments with names of any script (R-2): uploaded through the API and the case page, downloaded with the
name as RFC 6266 gives it (`filename*` in UTF-8, an ASCII `filename` beside it); control characters never
reach the stored name; an attachment id out of every range answers 4xx."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.support.conftest import SupportWorld, sign_in

UNICODE_NAME = "Отчёт — 日本.pdf"
DISPOSITION = re.compile(r"""^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9%!#$&+.^_`|~-]+)$""")


def disposition_names(header: str) -> tuple[str, str]:
    """(the ASCII `filename`, the decoded `filename*`) of a Content-Disposition header, which must be the one
    form this server sends."""
    found = DISPOSITION.match(header)
    assert found is not None, header
    assert '"' not in found[1]
    assert "\\" not in found[1]
    return found[1], unquote(found[2], encoding="utf-8", errors="strict")


def test_unicode_name_through_the_api(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    headers = world.key(world.east_standard)
    files = {"file": (UNICODE_NAME, b"%PDF-1.4 report", "application/pdf")}
    uploaded = client.post(f"/api/v1/support/cases/{case.number}/attachments", files=files, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["name"] == UNICODE_NAME

    download = client.get(uploaded.json()["link"], headers=headers)
    assert download.status_code == 200, download.text
    assert download.content == b"%PDF-1.4 report"
    assert download.headers["x-content-type-options"] == "nosniff"
    fallback, name = disposition_names(download.headers["content-disposition"])
    assert name == UNICODE_NAME
    assert fallback.endswith(".pdf")
    assert fallback.isascii()


def test_unicode_name_through_the_case_page(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    upload = client.post(
        f"/support/cases/{case.number}/attachments",
        data={"csrf_token": token},
        files={"file": (UNICODE_NAME, b"%PDF-1.4 page", "application/pdf")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    page = client.get(f"/support/cases/{case.number}")
    assert UNICODE_NAME in page.text
    link = re.search(rf'href="(/support/cases/{case.number}/attachments/\d+)"', page.text)
    assert link is not None

    download = client.get(link[1])
    assert download.status_code == 200, download.text
    assert download.content == b"%PDF-1.4 page"
    assert disposition_names(download.headers["content-disposition"])[1] == UNICODE_NAME


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("bell\x07 and\ttab.txt", "bell_ and_tab.txt"),
        ("line\nbreak\r.log", "line_break_.log"),
        ("nul\x00.bin", "nul_.bin"),
        ("del\x7f c1\x85.txt", "del_ c1_.txt"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),  # a right-to-left override would show "invoiceexe.pdf"
        ("para\u2029graph.txt", "para_graph.txt"),
        ('quote" and back\\slash.txt', 'quote" and back_slash.txt'),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("\x01\x02", "__"),
        ("   ", "attachment"),
    ],
)
def test_control_characters_never_reach_the_name(
    client: TestClient, world: SupportWorld, given: str, kept: str
) -> None:
    case = world.case(world.east_standard)
    headers = world.key(world.east_standard)
    uploaded = client.post(
        f"/api/v1/support/cases/{case.number}/attachments",
        data={"name": given},
        files={"file": ("ignored.txt", b"content", "text/plain")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["name"] == kept

    download = client.get(uploaded.json()["link"], headers=headers)
    assert download.status_code == 200, download.text
    fallback, name = disposition_names(download.headers["content-disposition"])
    assert name == kept
    assert all(" " <= c <= "~" for c in fallback)

    history = client.get(f"/api/v1/support/cases/{case.number}/history", headers=headers).json()["event"]
    assert [e["new"] for e in history if e["field"] == "attachment"] == [kept]


@pytest.mark.parametrize("attachment_id", ["9223372036854775808", "2147483648", "0", "-1", "1e3", "x"])
def test_attachment_ids_out_of_range_answer_4xx(client: TestClient, world: SupportWorld, attachment_id: str) -> None:
    case = world.case(world.east_standard)
    headers = world.key(world.east_standard)
    api = client.get(f"/api/v1/support/cases/{case.number}/attachments/{attachment_id}", headers=headers)
    assert api.status_code in {400, 404}, api.text
    sign_in(client, world.east_standard)
    page = client.get(f"/support/cases/{case.number}/attachments/{attachment_id}")
    assert page.status_code in {400, 404}, page.text[:500]

"""The favicon: the pages link an SVG in /static, and /favicon.ico (which browsers ask for on their own)
answers an icon instead of a 404."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_favicon_ico_is_an_icon(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)
    assert "max-age" in response.headers["cache-control"]


def test_pages_link_the_svg_favicon(client: TestClient) -> None:
    page = client.get("/login")
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page.text)
    assert link, "the layout links no favicon"
    icon = client.get(link.group(1))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")

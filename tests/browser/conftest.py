"""Browser tests: `consortia demo` runs as a real server process on a fresh SQLite file, and
Playwright drives Debian's chromium (never a downloaded browser) headless against it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "CONSORTIA_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'demo.db'}",
            "CONSORTIA_QUEUE_URL": f"sqlite:///{var / 'queue.db'}",
        }
    )
    log = (var / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "consortia", "demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the demo server stopped: " + Path(log.name).read_text()[-3000:])
        try:
            if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("the demo server did not start: " + Path(log.name).read_text()[-3000:])
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required under CI=true (make test installs it)")
        pytest.skip("chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


DEMO_PASSWORD = "consortia-demo"


def sign_in(page: object, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_label("User name", exact=True).fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/")  # type: ignore[attr-defined]


def main_navigation(page: object) -> object:
    return page.get_by_role("navigation", name="Main")  # type: ignore[attr-defined]


def navigation_labels(page: object) -> list[str]:
    """Every link of the main navigation, those inside closed menus too, in the order shown."""
    links = main_navigation(page).get_by_role("link", include_hidden=True)  # type: ignore[attr-defined]
    return [label.strip() for label in links.all_text_contents()]


def open_navigation_link(page: object, label: str) -> None:
    """Click the main navigation's link `label`, opening the menu that holds it first."""
    nav = main_navigation(page)
    # `has` is matched inside each menu, so it names the link from the page, not from the navigation.
    inside = page.get_by_role("link", name=label, exact=True, include_hidden=True)  # type: ignore[attr-defined]
    menu = nav.locator("details").filter(has=inside)  # type: ignore[attr-defined]
    if menu.count() and menu.get_attribute("open") is None:
        menu.locator("summary").click()
    nav.get_by_role("link", name=label, exact=True).click()  # type: ignore[attr-defined]

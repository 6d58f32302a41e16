"""The pages under their content security policy in a real browser: nothing is refused (no inline script
or style, htmx without eval or its inline indicator style), and the scripts that were inline still work
from /static (the Share Case dialog). A page in a frame is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile);
});
"""


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


@pytest.fixture
def watched(page: Any) -> Any:
    """The page, recording every policy violation and every console message about the policy."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.console_messages = []
    page.on(
        "console",
        lambda message: (
            page.console_messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


def test_pages_run_under_the_policy_without_violations(watched: Any) -> None:
    page = watched
    response = page.goto("/login")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    sign_in(page, "east-admin")
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx added no indicator style
    seen = {"/": violations(page)}
    for path in ("/jobs", "/admin/users", "/account", "/support/cases"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        seen[path] = violations(page)
    assert all(found == [] for found in seen.values()), seen
    assert page.console_messages == []


def test_the_share_dialog_script_runs_from_static(watched: Any) -> None:
    page = watched
    sign_in(page, "east-standard")
    page.goto("/support/cases")
    page.get_by_role("link", name="Overdue notices are sent twice to faculty").click()  # an EAST case
    page.wait_for_url("**/support/cases/*")
    assert page.locator("script[src='/static/share-case.js']").count() == 1
    page.get_by_role("button", name="Share Case").click()
    page.get_by_role("dialog", name="Share Case").wait_for()
    assert page.evaluate("document.getElementById('share-case-dialog').matches(':modal')") is True
    page.locator("#share-case-cancel").click()
    assert not page.locator("#share-case-dialog").is_visible()
    assert violations(page) == []
    assert page.console_messages == []


def test_the_favicon_loads(watched: Any) -> None:
    page = watched
    page.goto("/login")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(href).status == 200
    assert page.request.get("/favicon.ico").status == 200


@pytest.fixture
def framing_site(live_server: str) -> Iterator[str]:
    """Another site (another port of this machine) whose page frames the sign-in page."""
    page = f'<!doctype html><title>framing</title><iframe id="framed" src="{live_server}/login"></iframe>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_page_in_a_frame_is_refused(watched: Any, framing_site: str) -> None:
    page = watched
    page.goto(framing_site)
    page.wait_for_timeout(1500)
    framed = [frame for frame in page.frames if frame != page.main_frame]
    assert len(framed) == 1
    assert not framed[0].url.endswith("/login")  # the browser shows its error page instead
    assert page.frame_locator("#framed").locator("form[action='/login']").count() == 0

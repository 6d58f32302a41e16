"""R-7: the logs of a real `consortia serve` never hold a secret. Alma clients send their key as
`?apikey=`, the confirmation link carries its token in the path, the registration link in the query, a
sign-in form carries the password, and the session lives in a cookie: none of them may reach the log,
with one server process (access log on) or several (`--workers 2`)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

OPERATOR_KEY = "operator-key-K-7f3a9c1e5b2d4a6f8e0c"
OPERATOR_PASSWORD = "Operator-Pass-2b7e91d4"
WRONG_PASSWORD = "Wrong-Pass-c4e8a1f93b"
WRONG_KEY = "wrong-key-0d9e8f7a6b5c4d3e2f1a"
CONFIRMATION_TOKEN = "confirm-token-5a4b3c2d1e0f9a8b7c6d"
REGISTRATION_TOKEN = "registration-token-9e8d7c6b5a4f3e2d"


@dataclass
class Server:
    base: str
    log: Path
    process: subprocess.Popen[bytes]
    workers: int

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(tmp_path: Path, workers: int) -> Server:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH")) if p
            ),
            "CONSORTIA_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "CONSORTIA_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        }
    )
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "consortia",
            "init",
            "--operator-key",
            OPERATOR_KEY,
            "--operator-password",
            OPERATOR_PASSWORD,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    port = _free_port()
    log = tmp_path / f"server-{workers}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "consortia", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", log, process, workers)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server stopped: " + log.read_text()[-3000:])
        try:
            if httpx2.get(server.base + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx2.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError("the server did not start: " + log.read_text()[-3000:])


@pytest.fixture(params=[1, 2], ids=["one-process", "two-workers"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    started = _start(tmp_path, request.param)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.stop()


def _csrf(client: httpx2.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_no_secret_reaches_the_log(server: Server) -> None:
    with httpx2.Client(base_url=server.base, timeout=10) as client:
        assert client.get(f"/almaws/v1/conf/libraries?apikey={OPERATOR_KEY}&institution=NONE").status_code == 404
        assert client.get(f"/api/v1/consortia?format=json&apikey={OPERATOR_KEY}").status_code == 200
        assert client.get(f"/almaws/v1/users?apikey={WRONG_KEY}").status_code == 401
        assert client.get(f"/support/register?token={REGISTRATION_TOKEN}").status_code == 200
        assert client.get(f"/support/confirm/{CONFIRMATION_TOKEN}").status_code == 200
        assert client.post(f"/api/v1/support/registrations/{CONFIRMATION_TOKEN}/confirm").status_code == 404

        token = _csrf(client, "/login")
        failed = client.post("/login", data={"username": "operator", "password": WRONG_PASSWORD, "csrf_token": token})
        assert failed.status_code == 401
        token = _csrf(client, "/login")
        signed_in = client.post(
            "/login", data={"username": "operator", "password": OPERATOR_PASSWORD, "csrf_token": token}
        )
        assert signed_in.status_code == 303, signed_in.text
        session_cookie = client.cookies.get("consortia_session")
        assert session_cookie
        # A page POST without its CSRF token: refused, and the refusal is logged (with who and where).
        assert client.post(f"/logout?token={REGISTRATION_TOKEN}", data={}).status_code == 403
    text = server.stop()

    for secret in (
        OPERATOR_KEY,
        WRONG_KEY,
        OPERATOR_PASSWORD,
        WRONG_PASSWORD,
        CONFIRMATION_TOKEN,
        REGISTRATION_TOKEN,
        session_cookie,
    ):
        assert secret not in text, f"{secret} is in the log:\n{text}"
    # The log is not empty: the refusal is there, written by the application's logger in each process.
    assert re.search(r"consortia\.\w+: denied: actor=operator action=POST /logout", text), text
    if server.workers == 1:
        # One process logs every request: the lines are there, with the secrets taken out.
        assert '"GET /api/v1/consortia?format=json&apikey=[redacted] HTTP/1.1" 200' in text, text
        assert '"GET /support/confirm/[redacted] HTTP/1.1" 200' in text, text
        assert '"POST /api/v1/support/registrations/[redacted]/confirm HTTP/1.1" 404' in text, text
        assert '"GET /support/register?token=[redacted] HTTP/1.1" 200' in text, text

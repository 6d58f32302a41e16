"""R-4 under load: simultaneous writers on a real server and a real database all succeed, and nothing is lost.

A comment or an attachment is an append: it never conflicts with another, nor with an edit of the case
made against the case's version. Only a change that carries the version it was made against may answer
409, and here every change carries the right one. On SQLite a request that changes something takes the
write lock when its transaction begins and waits for it (`consortia.db`), so writers queue instead of
answering 503 "database is locked"; reads run beside them, and what they write on the side (a key's first
use, a partner's view of a case) never makes them fail.

The server is `consortia serve` in a process of its own with two worker processes, on a fresh database
(an SQLite file, or a new PostgreSQL database with CONSORTIA_TEST_DATABASE_URL=postgresql); the requests
of a round are held at a barrier and let go together. The rows are counted afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from consortia.access import roles as R
from consortia.audit.models import HistoryEvent
from consortia.db import Database
from consortia.platform.models import User
from consortia.support.models import CaseAttachment, CaseComment, ListView, SupportCase
from tests.bench.databases import fresh_database
from tests.factories import PASSWORD, Factory
from tests.support.conftest import build_world, make_case

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
COMMENTERS = 8
ATTACHERS = 2
PAGE_COMMENTERS = 2
EDITED_CASES = 4  # the commented case and three others, each edited once a round with its version
PATRONS = 3  # each updated once a round (PUT with If-Match)
CLONERS = 2
READERS = 2  # of the list of cases, and as many partners reading a shared case (each with a key new to them)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PRIORITY_BY_ROUND = ("High", "Low", "Critical")


@dataclass
class Served:
    database: Database
    base_url: str
    keys: dict[str, dict[str, str]]
    case_numbers: list[str]  # [0] is the case everyone comments on
    patrons: list[str]
    shared_case: str  # a case of EAST shared with the consortium, which WEST reads


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _build(database: Database) -> tuple[dict[str, dict[str, str]], list[str], list[str], str]:
    with database.session() as session:
        factory = Factory(session)
        world = build_world(factory)
        admin = factory.user(world.east, "east-admin", roles=(R.USER_ADMINISTRATOR,))
        patrons = [
            factory.user(world.east, f"east-patron-{n}", record_type="PUBLIC", user_group="UNDERGRAD")
            for n in range(PATRONS)
        ]
        cases = [make_case(session, world.east_standard, subject=f"Case {n}") for n in range(EDITED_CASES)]
        keys = {
            "standard": factory.key(world.east_standard),
            "consortia": factory.key(world.east_consortia),
            "admin": factory.key(admin),
        }
        # Every commenter a key of its own: the first use of a key is noted on the key's row (a write too).
        for n in range(COMMENTERS):
            keys[f"commenter-{n}"] = factory.key(world.east_consortia if n % 2 else world.east_standard)
        # Readers too: a read notes a key's first use, and a partner's view of a case, on the side.
        for round_no in range(ROUNDS):
            for n in range(READERS):
                keys[f"reader-{round_no}-{n}"] = factory.key(world.east_standard)
                keys[f"partner-{round_no}-{n}"] = factory.key(world.west_consortia)
        shared = make_case(session, world.east_standard, subject="Shared", share_with="CONSORTIUM")
        return keys, [case.number for case in cases], [patron.primary_id for patron in patrons], shared.number


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with fresh_database(tmp_path) as database:
        keys, numbers, patrons, shared = _build(database)
        port = _free_port()
        env = {
            **os.environ,
            "CONSORTIA_VAR_DIR": str(tmp_path / "var"),
            "CONSORTIA_EMBEDDED_WORKER": "0",
            "CONSORTIA_QUEUE_URL": "memory://",
            "CONSORTIA_SECRET_KEY": "concurrent-writes",
        }
        env.pop("DATABASE_URL", None)
        log_path = tmp_path / "server.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "consortia",
                    "serve",
                    "--db",
                    database.url,
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for(server, port, log_path)
            yield Served(database, f"http://127.0.0.1:{port}", keys, numbers, patrons, shared)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for(server: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}: {log_path.read_text(errors='replace')[-2000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    pytest.fail(f"the server did not start: {log_path.read_text(errors='replace')[-2000:]}")


def _page_client(base_url: str, primary_id: str) -> tuple[httpx.Client, str]:
    """A browser signed in as `primary_id`, and its CSRF token."""
    client = httpx.Client(base_url=base_url, timeout=60)
    login = client.get("/login")
    token = CSRF_FIELD.search(login.text)
    assert token is not None, login.text[:500]
    answer = client.post(
        "/login",
        data={"username": primary_id, "password": PASSWORD, "csrf_token": token.group(1), "institution": "EAST"},
    )
    assert answer.status_code in {200, 303}, answer.text[:500]
    home = client.get("/")
    token = CSRF_FIELD.search(home.text)
    assert token is not None, home.text[:500]
    return client, token.group(1)


Call = Callable[[httpx.Client], httpx.Response]


def _round_calls(served: Served, round_no: int, admin: httpx.Client, pages: list[tuple[str, str]]) -> list[Call]:
    """The requests of one round, built from what the server answers now (versions, ETags)."""
    keys = served.keys
    commented = served.case_numbers[0]
    calls: list[Call] = []

    def comment(key: dict[str, str], n: int) -> Call:
        return lambda c: c.post(
            f"/api/v1/support/cases/{commented}/comments", headers=key, json={"text": f"round {round_no} note {n}"}
        )

    calls.extend(comment(keys[f"commenter-{n}"], n) for n in range(COMMENTERS))

    def attach(n: int) -> Call:
        files = {"file": (f"log-{round_no}-{n}.txt", f"round {round_no} log {n}".encode(), "text/plain")}
        return lambda c: c.post(
            f"/api/v1/support/cases/{commented}/attachments", headers=keys["consortia"], files=files
        )

    calls.extend(attach(n) for n in range(ATTACHERS))

    def page_comment(token: str, n: int) -> Call:
        return lambda c: c.post(
            f"/support/cases/{commented}/comments", data={"text": f"round {round_no} page {n}", "csrf_token": token}
        )

    calls.extend(page_comment(token, n) for n, (_who, token) in enumerate(pages))

    for number in served.case_numbers:
        case = admin.get(f"/api/v1/support/cases/{number}", headers=keys["standard"])
        assert case.status_code == 200, case.text
        body = {"priority": PRIORITY_BY_ROUND[round_no], "version": case.json()["version"]}
        calls.append(
            lambda c, number=number, body=body: c.patch(
                f"/api/v1/support/cases/{number}", headers=keys["standard"], json=body
            )
        )

    for primary_id in served.patrons:
        record = admin.get(f"/almaws/v1/users/{primary_id}", headers={**keys["admin"], "Accept": "application/json"})
        assert record.status_code == 200, record.text
        changed = {**record.json(), "first_name": f"Round{round_no}"}
        headers = {
            **keys["admin"],
            "Accept": "application/json",
            "Content-Type": "application/json",
            "If-Match": record.headers["ETag"],
        }
        calls.append(
            lambda c, primary_id=primary_id, changed=changed, headers=headers: c.put(
                f"/almaws/v1/users/{primary_id}", headers=headers, content=json.dumps(changed).encode()
            )
        )

    def clone(n: int) -> Call:
        return lambda c: c.post(
            "/api/v1/support/list-views/my-institution/clone",
            headers=keys["consortia"],
            json={"name": f"Round {round_no} view {n}"},
        )

    calls.extend(clone(n) for n in range(CLONERS))

    def read(path: str, key: dict[str, str]) -> Call:
        return lambda c: c.get(path, headers=key)

    for n in range(READERS):
        calls.append(read("/api/v1/support/list-views/my-institution/cases", keys[f"reader-{round_no}-{n}"]))
        calls.append(read(f"/api/v1/support/cases/{served.shared_case}", keys[f"partner-{round_no}-{n}"]))
    return calls


def _fire(base_url: str, calls: list[Call], page_clients: dict[int, httpx.Client]) -> list[tuple[int, str]]:
    """Send every call at once (each on a connection of its own); answers (status, start of the body)."""
    barrier = threading.Barrier(len(calls))
    answers: list[tuple[int, str]] = [(0, "not sent")] * len(calls)

    def run(index: int, call: Call) -> None:
        client = page_clients.get(index) or httpx.Client(base_url=base_url, timeout=90)
        try:
            client.get("/healthz")  # the connection is open before the barrier lets go
            barrier.wait(timeout=60)
            answer = call(client)
            answers[index] = (answer.status_code, answer.text[:300])
        except Exception as exc:
            answers[index] = (-1, repr(exc))
        finally:
            if index not in page_clients:
                client.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_simultaneous_writers_all_succeed_and_nothing_is_lost(served: Served) -> None:
    signed_in = [_page_client(served.base_url, pid) for pid in ("east-sam", "east-jane")[:PAGE_COMMENTERS]]
    admin = httpx.Client(base_url=served.base_url, timeout=60)
    problems: list[str] = []
    writers = 0
    try:
        for round_no in range(ROUNDS):
            pages = [("page", token) for _client, token in signed_in]
            calls = _round_calls(served, round_no, admin, pages)
            first_page = COMMENTERS + ATTACHERS
            page_clients = {first_page + n: client for n, (client, _token) in enumerate(signed_in)}
            writers = len(calls) - 2 * READERS
            assert writers >= 16
            for index, (status, text) in enumerate(_fire(served.base_url, calls, page_clients)):
                expected = {303} if index in page_clients else {200, 201}
                if status not in expected:
                    problems.append(f"round {round_no}, request {index}: {status} {text}")
    finally:
        admin.close()
        for client, _token in signed_in:
            client.close()
    assert not problems, "\n".join(problems)

    with served.database.session() as session:
        commented = session.scalars(select(SupportCase).where(SupportCase.number == served.case_numbers[0])).one()
        comments = session.scalar(select(func.count()).where(CaseComment.case_id == commented.id))
        assert comments == ROUNDS * (COMMENTERS + PAGE_COMMENTERS)
        attachments = session.scalar(select(func.count()).where(CaseAttachment.case_id == commented.id))
        assert attachments == ROUNDS * ATTACHERS
        comment_history = session.scalar(
            select(func.count()).where(
                HistoryEvent.entity == "case",
                HistoryEvent.entity_id == commented.number,
                HistoryEvent.field.in_(["comment", "attachment"]),
            )
        )
        assert comment_history == ROUNDS * (COMMENTERS + PAGE_COMMENTERS + ATTACHERS)
        for case in session.scalars(select(SupportCase).where(SupportCase.number.in_(served.case_numbers))):
            # One edit a round, each against the version it read; the comments did not move it.
            assert (case.priority, case.version) == (PRIORITY_BY_ROUND[ROUNDS - 1], 1 + ROUNDS), case.number
        names = set(session.scalars(select(User.first_name).where(User.primary_id.in_(served.patrons))))
        assert names == {f"Round{ROUNDS - 1}"}
        views = session.scalar(select(func.count()).select_from(ListView))
        assert views == ROUNDS * CLONERS

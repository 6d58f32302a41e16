"""Platform benchmarks: N-7 (in-process permission decisions) and N-6 (GET one record through
`/almaws/v1` with API-key auth, from a real server run as in production).

N-6 names a portfolio: it measures `GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}` over the
generated portfolios, and beside it `GET /almaws/v1/users/{primary_id}` (the other hot read of Alma
clients), each against its own ceiling: a bare endpoint of the same server reading the same row with one
Core statement (`bench.n6_app`). The server is `consortia serve --workers 2` (uvicorn, one process per
core of the 2-core reference machine) on a free loopback port, with jobs left to separate workers as in
production; the load comes from another process (wrk, or `bench.load`): requests over keep-alive
connections, within a time limit.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bench.harness import HIGHER, LOWER, Result, failed, measured
from bench.load import KEY_VARIABLE, fill
from bench.n6_app import CEILING_PATH, PORTFOLIO_CEILING_PATH
from consortia.access.identity import Identity, identity_for_user_id
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows
from consortia.audit.models import SYSTEM
from consortia.db import Database
from consortia.eresources.models import Portfolio
from consortia.generate import load_context
from consortia.platform.auth import create_api_key, revoke_api_key
from consortia.platform.generate import GenerationContext, patron_id, staff_id
from consortia.platform.models import ApiKey, Consortium, FulfillmentNetwork, Institution, Library, User

ROOT = Path(__file__).resolve().parent.parent

# N-7
DECISIONS_PER_ROUND = 200_000
ROUNDS = 3
N7_TARGET = 100_000

# N-6
N6_RPS_TARGET = 1_000
N6_P99_TARGET_MS = 50
N6_SHARE_TARGET = 60  # % of the ceiling: the application's own work may take at most 40 %
# Requests (the Python load loop) and time of each endpoint's share of the timed phase, split into
# rounds that go through the endpoints in turn (each ceiling just before its real endpoint): at S (CI)
# N-6 takes about a minute.
N6_REQUESTS = {"XS": 600, "S": 3_000, "M": 15_000, "L": 30_000}
N6_SECONDS = {"XS": 6.0, "S": 12.0, "M": 30.0, "L": 60.0}
N6_ROUNDS = 3
N6_CONNECTIONS = 16
N6_WARMUP = 100
N6_IDS = 1_000  # distinct records requested in turn
SERVER_WORKERS = 2
SERVER_START_SECONDS = 45.0
SERVER = (
    f"uvicorn --workers {SERVER_WORKERS} as consortia serve runs it, app of bench.n6_app (create_app + the ceilings)"
)
WRK_SCRIPT = Path(__file__).resolve().parent / "n6.lua"


@dataclass(frozen=True)
class Endpoint:
    """One record N-6 reads: the real path and its ceiling (each `{id}` takes the next value of an ids
    line), the names of its four result lines, and what its note says."""

    key: str
    path: str
    ceiling: str
    throughput: str
    latency: str
    ceiling_name: str
    share: str
    what: str


PORTFOLIO = Endpoint(
    key="portfolio",
    path="/almaws/v1/bibs/{id}/portfolios/{id}",
    ceiling=PORTFOLIO_CEILING_PATH.replace("{mms_id}", "{id}").replace("{portfolio_id}", "{id}"),
    throughput="N-6 GET one portfolio: throughput",
    latency="N-6 GET one portfolio: p99 latency",
    ceiling_name="N-6 portfolio ceiling: bare endpoint, same server",
    share="N-6 portfolio endpoint / ceiling",
    what="GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}, the record SPEC N-6 names",
)
USER = Endpoint(
    key="user",
    path="/almaws/v1/users/{id}",
    ceiling=CEILING_PATH.replace("{user_id}", "{id}"),  # {institution_id} is filled in per run
    throughput="N-6 GET one user: throughput",
    latency="N-6 GET one user: p99 latency",
    ceiling_name="N-6 user ceiling: bare endpoint, same server",
    share="N-6 user endpoint / ceiling",
    what="GET /almaws/v1/users/{id}, the other hot read of Alma clients (SPEC's targets for comparison)",
)
ENDPOINTS = (PORTFOLIO, USER)


def run(database: Database, size: str) -> list[Result]:
    context = load_context(database, size)
    return [permission_decisions(database, context), *get_one_record(database, context, size)]


# --- N-7 -------------------------------------------------------------------------------------------


def decision_cases(database: Database, context: GenerationContext) -> list[tuple[Identity, P, Any]]:
    """(identity, permission, object) triples: staff of several roles in two institutions, asking about
    patrons, the institution, a library, the consortium, the network and institution-wide actions."""
    home, other = context.network_institutions[0], context.network_institutions[1]
    home_id = context.institutions[home]
    with database.session() as session:
        identities: list[Identity] = []
        for institution, suffix in (
            (home, "admin"),
            (home, "desk"),
            (home, "eio-lib"),
            (home, "standard"),
            (other, "admin"),
        ):
            identity = identity_for_user_id(session, context.staff[staff_id(institution, suffix)])
            if identity is None:
                raise RuntimeError(f"generated staff user {staff_id(institution, suffix)} cannot sign in")
            identities.append(identity)
        patron_home = session.scalars(select(User).where(User.primary_id_key == patron_id(home, 1))).one()
        patron_other = session.scalars(select(User).where(User.primary_id_key == patron_id(other, 1))).one()
        institution_row = session.get(Institution, home_id)
        library = session.get(Library, context.libraries[home][0][0])
        consortium = session.scalars(
            select(Consortium)
            .join(Institution, Institution.consortium_id == Consortium.id)
            .where(Institution.id == home_id)
        ).one()
        network = session.scalars(
            select(FulfillmentNetwork)
            .where(FulfillmentNetwork.code == context.network_code)
            .options(selectinload(FulfillmentNetwork.members))
        ).one()
    everywhere = InInstitution(home_id)
    pairs: list[tuple[P, Any]] = [
        (P.USER_READ, patron_home),
        (P.USER_READ, patron_other),
        (P.USER_EDIT, patron_home),
        (P.ROLE_GRANT, patron_home),
        (P.USER_CREDENTIALS, patron_home),
        (P.INSTITUTION_READ, institution_row),
        (P.LIBRARY_READ, library),
        (P.CONSORTIUM_READ, consortium),
        (P.NETWORK_READ, network),
        (P.CODE_TABLE_EDIT, everywhere),
        (P.USER_CREATE, everywhere),
        (P.JOB_READ, everywhere),
    ]
    return [(identity, permission, obj) for identity in identities for permission, obj in pairs]


def permission_decisions(database: Database, context: GenerationContext) -> Result:
    """N-7: `policy.allows` over the mix of `decision_cases`, median of `ROUNDS` rounds."""
    name = "N-7 permission decisions (policy.allows)"
    cases = decision_cases(database, context)
    work = (cases * (DECISIONS_PER_ROUND // len(cases) + 1))[:DECISIONS_PER_ROUND]
    granted = sum(1 for identity, permission, obj in cases if allows(identity, permission, obj))
    rates = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for identity, permission, obj in work:
            allows(identity, permission, obj)
        rates.append(len(work) / (time.perf_counter() - started))
    note = (
        f"{len(cases)} (identity, permission, object) cases, {granted / len(cases):.0%} allowed; "
        f"median of {ROUNDS} rounds of {len(work):,}"
    )
    return measured(name, statistics.median(rates), unit="/s", target=N7_TARGET, better=HIGHER, note=note)


# --- N-6 -------------------------------------------------------------------------------------------


class BenchProblem(Exception):
    """Why N-6 could not be measured, in words for the result line."""


def get_one_record(database: Database, context: GenerationContext, size: str) -> list[Result]:
    """N-6: throughput and p99 latency of `GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}` and of
    `GET /almaws/v1/users/{id}` against a 2-worker server, each beside the ceiling the same server gives a
    bare endpoint reading the same row (`bench.n6_app`), in turns."""
    home = context.network_institutions[0]
    home_id = context.institutions[home]
    count = context.patrons_per_institution
    step = max(1, count // N6_IDS)
    users = [patron_id(home, number) for number in range(1, count + 1, step)][:N6_IDS]
    with database.session() as session:
        staff = session.get(User, context.staff[staff_id(home, "admin")])
        if staff is None:
            raise RuntimeError(f"generated staff user {staff_id(home, 'admin')} is missing")
        portfolios = _portfolio_ids(session, home_id)
        key_row, key = create_api_key(session, staff, actor=SYSTEM, label="bench N-6")
        key_id = key_row.id
    plan = Plan(
        requests=N6_REQUESTS.get(size, N6_REQUESTS["S"]),
        seconds=N6_SECONDS.get(size, N6_SECONDS["S"]),
        ids={PORTFOLIO.key: portfolios, USER.key: users},
        institution_id=home_id,
    )
    note = SERVER
    if database.url.startswith("sqlite"):
        note += "; the target is set for PostgreSQL"
    try:
        if not portfolios:
            raise BenchProblem(f"no generated portfolio in {home}: run consortia generate for the size")
        with tempfile.TemporaryDirectory(prefix="consortia-bench-") as tmp:
            rounds = _measure_against_server(database.url, Path(tmp), key, plan)
    except BenchProblem as problem:
        return [line for endpoint in ENDPOINTS for line in _failed(endpoint, str(problem))]
    finally:
        with database.session() as session:
            key_row_again = session.get(ApiKey, key_id)
            if key_row_again is not None:
                revoke_api_key(session, key_row_again, actor=SYSTEM)
    return [
        line
        for endpoint in ENDPOINTS
        for line in n6_results(endpoint, rounds[endpoint.key], f"{endpoint.what}; {note}", plan.seconds)
    ]


def _portfolio_ids(session: Session, institution_id: int) -> list[str]:
    """Up to N6_IDS "mms_id portfolio_id" lines, spread over the institution's portfolios."""
    mine = Portfolio.institution_id == institution_id
    count = int(session.scalar(select(func.count()).select_from(Portfolio).where(mine)) or 0)
    step = max(1, count // N6_IDS)
    rows = session.execute(
        select(Portfolio.bib_id, Portfolio.id)
        .where(mine, Portfolio.id % step == 0)
        .order_by(Portfolio.id)
        .limit(N6_IDS)
    ).all()
    if not rows:
        rows = session.execute(select(Portfolio.bib_id, Portfolio.id).where(mine).limit(N6_IDS)).all()
    return [f"{bib_id} {portfolio_id}" for bib_id, portfolio_id in rows]


def _failed(endpoint: Endpoint, problem: str) -> list[Result]:
    return [
        failed(endpoint.throughput, problem, unit="req/s", target=N6_RPS_TARGET, better=HIGHER),
        failed(endpoint.latency, problem, unit="ms", target=N6_P99_TARGET_MS, better=LOWER),
        failed(endpoint.ceiling_name, problem, unit="req/s", target=N6_RPS_TARGET, better=HIGHER),
        failed(endpoint.share, problem, unit="%", target=N6_SHARE_TARGET, better=HIGHER),
    ]


@dataclass(frozen=True)
class Plan:
    """What the load asks for: per phase a request count (the Python loop) or a duration (wrk); the ids
    lines of each endpoint."""

    requests: int
    seconds: float
    ids: dict[str, list[str]]
    institution_id: int


Rounds = list[tuple[dict[str, Any], dict[str, Any]]]


def n6_results(endpoint: Endpoint, rounds: Rounds, note: str, seconds: float) -> list[Result]:
    """The four N-6 lines of one endpoint from (ceiling, real) pairs measured in turns: medians over the rounds."""
    ceiling = [pair[0] for pair in rounds]
    real = [pair[1] for pair in rounds]
    real_rps = statistics.median(r["requests_per_second"] for r in real)
    ceiling_rps = statistics.median(c["requests_per_second"] for c in ceiling)
    share = statistics.median(
        100 * r["requests_per_second"] / c["requests_per_second"] for c, r in rounds if c["requests_per_second"] > 0
    )
    tool = real[0].get("tool")
    load = (
        f"wrk, {len(rounds)} rounds of {seconds / N6_ROUNDS:.0f} s per endpoint over {N6_CONNECTIONS} connections"
        if tool == "wrk"
        else f"Python load loop (install wrk for a lighter client), {len(rounds)} rounds, {N6_CONNECTIONS} connections"
    )
    note = f"{note}; {load}; median of the rounds"
    errors = sum(r["errors"] for r in real)
    if errors:
        first = next(r["first_error"] for r in real if r["errors"])
        note += f"; {errors} failed requests, first: {first}"
    if any(r["timed_out"] for r in real):
        note += f"; a round stopped at the {seconds:.0f} s limit"
    each = _figures(r["requests_per_second"] for r in real)
    return [
        measured(
            endpoint.throughput,
            real_rps,
            unit="req/s",
            target=N6_RPS_TARGET,
            better=HIGHER,
            note=f"{note}; rounds: {each}",
        ),
        measured(
            endpoint.latency,
            statistics.median(r["p99_ms"] for r in real),
            unit="ms",
            target=N6_P99_TARGET_MS,
            better=LOWER,
            note=(
                f"p50 {statistics.median(r['p50_ms'] for r in real):.1f} ms, "
                f"p95 {statistics.median(r['p95_ms'] for r in real):.1f} ms; "
                f"rounds: {_figures(r['p99_ms'] for r in real)}"
            ),
        ),
        measured(
            endpoint.ceiling_name,
            ceiling_rps,
            unit="req/s",
            target=N6_RPS_TARGET,
            better=HIGHER,
            note=(
                f"{endpoint.ceiling} of the same server: the same row by one Core statement, as JSON, no auth; "
                f"p99 {statistics.median(c['p99_ms'] for c in ceiling):.1f} ms; "
                f"rounds: {_figures(c['requests_per_second'] for c in ceiling)}"
            ),
        ),
        measured(
            endpoint.share,
            share,
            unit="%",
            target=N6_SHARE_TARGET,
            better=HIGHER,
            note="the real endpoint's throughput over the ceiling's, round by round (holds better than either)",
        ),
    ]


def _figures(values: Iterable[float]) -> str:
    return ", ".join(f"{value:.1f}" if value < 100 else f"{value:.0f}" for value in values)


def _measure_against_server(url: str, tmp: Path, key: str, plan: Plan) -> dict[str, Rounds]:
    """Start the server, check every endpoint, then load each ceiling and its real endpoint in turns."""
    port = _free_port()
    log_path = tmp / "server.log"
    env = {**os.environ, "CONSORTIA_VAR_DIR": str(tmp / "var"), "CONSORTIA_EMBEDDED_WORKER": "0", "DATABASE_URL": url}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.n6_app:create_bench_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(SERVER_WORKERS),
                # as `consortia serve --workers N` runs uvicorn
                "--log-level",
                "warning",
                "--proxy-headers",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths = {
        endpoint.key: (endpoint.ceiling.replace("{institution_id}", str(plan.institution_id)), endpoint.path)
        for endpoint in ENDPOINTS
    }
    try:
        use_wrk = shutil.which("wrk") is not None
        ids_paths = {}
        for endpoint in ENDPOINTS:
            ceiling_path, path = paths[endpoint.key]
            first = plan.ids[endpoint.key][0]
            _check_record(server, port, path, key, first, log_path)
            _check_record(server, port, ceiling_path, key, first, log_path)
            ids_paths[endpoint.key] = tmp / f"ids-{endpoint.key}.txt"
            lines = plan.ids[endpoint.key]
            # wrk sends the values as they are written (bench.load quotes them itself)
            written = [" ".join(quote(v, safe="") for v in line.split(" ")) if use_wrk else line for line in lines]
            ids_paths[endpoint.key].write_text("\n".join(written) + "\n")
        seconds = plan.seconds / N6_ROUNDS
        rounds: dict[str, Rounds] = {endpoint.key: [] for endpoint in ENDPOINTS}
        for _ in range(N6_ROUNDS):
            for endpoint in ENDPOINTS:
                pair = []
                for path in paths[endpoint.key]:
                    ids_path = ids_paths[endpoint.key]
                    if use_wrk:
                        pair.append(_load_with_wrk(port, key, path, ids_path, seconds))
                    else:
                        pair.append(_load(port, key, path, ids_path, plan.requests // N6_ROUNDS, seconds))
                rounds[endpoint.key].append((pair[0], pair[1]))
        return rounds
    finally:
        _stop(server)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(log_path: Path, lines: int = 6) -> str:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _check_record(
    server: subprocess.Popen[bytes], port: int, template: str, key: str, line: str, log_path: Path
) -> None:
    """Wait for the server, then GET one record: anything but 200 with that record is a BenchProblem."""
    path = fill(template, line)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if server.poll() is not None:
            raise BenchProblem(f"the server exited with status {server.returncode}: {_log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise BenchProblem(f"the server did not answer within {SERVER_START_SECONDS:.0f} s: {_log_tail(log_path)}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path, headers={"Authorization": f"apikey {key}", "Accept": "application/json"})
            response = connection.getresponse()
            body = response.read()
            break
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
        finally:
            connection.close()
    if response.status != 200:
        raise BenchProblem(
            f"GET {template} answered {response.status} for {line}: {body[:200].decode(errors='replace')}"
        )
    try:
        record = json.loads(body)
    except ValueError as exc:
        raise BenchProblem(f"GET {template} answered 200 but not JSON: {body[:200].decode(errors='replace')}") from exc
    # the record's own id is the last value of the line: a user's primary id, a portfolio's id
    wanted = line.split(" ")[-1]
    if not isinstance(record, dict) or wanted not in {record.get("primary_id"), record.get("id")}:
        raise BenchProblem(f"GET {template} answered 200 but not the record {line}: {body[:200]!r}")


def _load(port: int, key: str, path: str, ids_path: Path, requests: int, seconds: float) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--port",
        str(port),
        "--path",
        path,
        "--ids-file",
        str(ids_path),
        "--requests",
        str(requests),
        "--seconds",
        str(seconds),
        "--threads",
        str(N6_CONNECTIONS),
        "--warmup",
        str(N6_WARMUP),
    ]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, KEY_VARIABLE: key},
            capture_output=True,
            text=True,
            timeout=2 * seconds + 30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchProblem(f"the load process did not finish within {exc.timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchProblem(f"the load process failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if summary["requests"] == 0 or summary["errors"] > max(10, summary["requests"] // 100):
        sent = summary["requests"] + summary["errors"]
        raise BenchProblem(f"{path}: {summary['errors']} of {sent} requests failed: {summary['first_error']}")
    summary["tool"] = "python"
    return summary


def _load_with_wrk(port: int, key: str, path: str, ids_path: Path, seconds: float) -> dict[str, Any]:
    """The load from wrk (a C load generator, so that the client takes little of the machine's two
    cores): a warm-up second, then `seconds` of requests over `N6_CONNECTIONS` keep-alive connections."""
    env = {
        **os.environ,
        KEY_VARIABLE: key,
        "CONSORTIA_BENCH_IDS_FILE": str(ids_path),
        "CONSORTIA_BENCH_PATH": path,
    }
    url = f"http://127.0.0.1:{port}/"

    def wrk(duration: float) -> dict[str, Any]:
        command = ["wrk", "-t2", f"-c{N6_CONNECTIONS}", f"-d{max(1, round(duration))}s", "-s", str(WRK_SCRIPT), url]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BenchProblem(f"wrk did not finish within {exc.timeout:.0f} s") from exc
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise BenchProblem(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    wrk(1)
    figures = wrk(seconds)
    elapsed = figures["microseconds"] / 1_000_000
    errors = int(figures["errors"])
    if figures["requests"] == 0 or errors > max(10, figures["requests"] // 100):
        raise BenchProblem(f"{path}: {errors} of {figures['requests']} requests failed (wrk counts non-2xx answers)")
    return {
        "requests": figures["requests"],
        "errors": errors,
        "first_error": f"{figures['status_errors']} answers were not 2xx" if errors else "",
        "seconds": elapsed,
        "requests_per_second": figures["requests"] / elapsed if elapsed > 0 else 0.0,
        "p50_ms": figures["p50_ms"],
        "p95_ms": figures["p95_ms"],
        "p99_ms": figures["p99_ms"],
        "timed_out": False,
        "tool": "wrk",
    }


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and its worker processes (the process group it leads)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)

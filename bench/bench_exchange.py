"""ER-20: the Extended export of every portfolio of the generated institution with the most portfolios (about
1,050,000 at size L, 10,500 at S), beside its ceiling measured in the same run, and its peak memory.

- The export: `eresources.exchange.export_csv` as the generated EIO of that institution, every block written
  to /dev/null as the answer's bytes (UTF-8), in a separate process (`python -c`) whose wall time and peak
  resident memory (`ru_maxrss`) are read.
- The ceiling: the same statement (`exchange.export_statement`: the same columns, joins and order) on a bare
  connection, read with the same batching (`yield_per=PARTITION`, a server-side cursor on PostgreSQL) straight
  into one `csv.writer` on /dev/null, in a process of its own.
- Each runs twice, in turns with the other; the fastest run of each counts.

Rows/s of the export is judged against half the ceiling's (the export may cost at most twice the bare read),
its peak RSS against 300 MB (memory flat: no more than a partition of rows is held at a time).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.harness import HIGHER, LOWER, Result, measured, skipped
from consortia.access.identity import identity_for_user_id
from consortia.db import Database
from consortia.eresources import exchange
from consortia.eresources.models import Portfolio
from consortia.generate import load_context
from consortia.platform.generate import staff_id
from consortia.platform.models import Institution

MEMORY_TARGET_MB = 300.0
SHARE_OF_CEILING = 0.5
ROUNDS = 2

# The child connects with a bare engine (no pragmas, nothing written): it only reads.
CHILD = """
import json, resource, sys
from sqlalchemy import create_engine
from sqlalchemy.orm import configure_mappers
from consortia.domains import assemble
from bench.bench_exchange import export_to, ceiling_to
what, url, institution_id, user_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assemble()  # as in the server: every domain's rules in place
configure_mappers()  # once per process, not part of an export
engine = create_engine(url)
with open("/dev/null", "wb") as out:
    if what == "export":
        seconds = export_to(out, engine, institution_id, user_id)
    else:
        seconds = ceiling_to(out, engine, institution_id)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "maxrss_kb": peak}))
"""


def export_to(out: BinaryIO, engine: Engine, institution_id: int, user_id: int) -> float:
    """The export as the API streams it, each block encoded and written as it comes: its seconds, from when
    the caller and the institution are loaded (a request's dependencies) to the last byte."""
    with Session(engine) as session:
        identity = identity_for_user_id(session, user_id)
        institution = session.get(Institution, institution_id)
        if identity is None or institution is None:
            raise RuntimeError(f"no user {user_id} who may sign in, or no institution {institution_id}")
        started = time.perf_counter()
        for block in exchange.export_csv(session, identity, institution):
            out.write(block.encode())
        return time.perf_counter() - started


def ceiling_to(out: BinaryIO, engine: Engine, institution_id: int) -> float:
    """The bare read, the export's statement with the same batching into one `csv.writer` on the file: its
    seconds, from a connection made to the last byte."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    with engine.connect() as connection:
        started = time.perf_counter()
        writer.writerow(exchange.HEADERS)
        result = connection.execute(exchange.export_statement(institution_id))  # yield_per=PARTITION
        for partition in result.partitions():
            writer.writerows(partition)
        text.flush()
        seconds = time.perf_counter() - started
    text.detach()
    return seconds


def run_child(what: str, url: str, institution_id: int, user_id: int) -> dict[str, Any]:
    """Run the export or the ceiling in a separate process: wall time (s) and peak resident memory (kB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what, url, str(institution_id), str(user_id)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {what} process failed: {done.stderr[-500:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def largest_institution(session: Session) -> tuple[int, int]:
    """The id of the institution with the most portfolios, and how many it has."""
    count = func.count().label("n")
    row = session.execute(
        select(Portfolio.institution_id, count).group_by(Portfolio.institution_id).order_by(count.desc()).limit(1)
    ).one_or_none()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def figures_of(rows: int, export: dict[str, Any], ceiling: dict[str, Any]) -> list[Result]:
    """The three lines: the export's rate against half the ceiling's, the ceiling's, the export's peak RSS."""
    export_rate = rows / max(float(export["seconds"]), 1e-9)
    ceiling_rate = rows / max(float(ceiling["seconds"]), 1e-9)
    export_mb = float(export["maxrss_kb"]) / 1024
    ceiling_mb = float(ceiling["maxrss_kb"]) / 1024
    return [
        measured(
            "ER-20 export of every portfolio",
            export_rate,
            unit="rows/s",
            target=SHARE_OF_CEILING * ceiling_rate,
            better=HIGHER,
            note=f"{rows:,} rows in {float(export['seconds']):.1f} s; export/ceiling {export_rate / ceiling_rate:.2f}",
        ),
        measured(
            "ER-20 export ceiling: bare SELECT into csv",
            ceiling_rate,
            unit="rows/s",
            target=SHARE_OF_CEILING * ceiling_rate,
            better=HIGHER,
            note=f"the same statement and batching, measured in the same run; peak RSS {ceiling_mb:.0f} MB",
        ),
        measured(
            "ER-20 export resident memory",
            export_mb,
            unit="MB",
            target=MEMORY_TARGET_MB,
            better=LOWER,
            note=f"peak RSS of the export's process ({rows:,} rows); the ceiling's {ceiling_mb:.0f} MB",
        ),
    ]


def run(database: Database, size: str) -> list[Result]:
    context = load_context(database, size)
    with database.session() as session:
        institution_id, rows = largest_institution(session)
    codes = {iid: code for code, iid in context.institutions.items()}
    user_id = context.staff.get(staff_id(codes.get(institution_id, ""), "eio"))
    if not rows or user_id is None:
        return [skipped("ER-20 export of every portfolio", "no generated portfolios at this size")]
    url = database.engine.url.render_as_string(hide_password=False)
    return figures_of(rows, *in_turns(url, institution_id, user_id))


def in_turns(url: str, institution_id: int, user_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The export and the ceiling, each run `ROUNDS` times in turns: the time of the fastest run of each
    (another process on the machine slows a run down, never speeds it up) and the largest peak RSS."""
    runs: dict[str, list[dict[str, Any]]] = {"export": [], "ceiling": []}
    for _ in range(ROUNDS):
        for what in ("ceiling", "export"):
            runs[what].append(run_child(what, url, institution_id, user_id))
    export, ceiling = (
        {
            "seconds": min(float(f["seconds"]) for f in runs[what]),
            "maxrss_kb": max(int(f["maxrss_kb"]) for f in runs[what]),
        }
        for what in ("export", "ceiling")
    )
    return export, ceiling

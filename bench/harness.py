"""Run every benchmark on every database and print one line per figure (SPEC N, `make bench`).

For each database — SQLite (a file under var/bench/), and PostgreSQL when reachable at
127.0.0.1:5432 (a database `consortia_bench_<size>`), or only the one named with `--db` — the
harness brings the schema up to date, builds the size's synthetic data with `consortia.generate`
(fresh each run unless `--reuse`; never for `--db`, where generation only adds what is missing),
then calls `run(database, size)` of every module `bench/bench_*.py`.

A module answers a list of dicts, one per figure, made with the helpers below:

    measured("N-7 permission decisions", 412_000, unit="/s", target=100_000, better=HIGHER, note="...")
    failed("N-6 GET one record (throughput)", "the server did not start: ...", unit="req/s", target=1000)
    skipped("N-2 set collection library", "electronic collections are not generated at this size")

The harness adds the database, the ratio (figure/target when higher is better, target/figure when
lower is better; 1 or more is OK) and the status: OK, MISS, ERROR or SKIP. A module that cannot be
imported, or whose `run` raises, gives an ERROR line and the other benchmarks still run. The exit
status is 1 when any line is ERROR (and, with `--strict`, MISS), else 0. Progress and generation
messages go to stderr, so stdout holds only the result lines.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

import bench
from consortia.config import configure, load_settings, normalise_database_url
from consortia.db import Database, set_database
from consortia.domains import assemble
from consortia.generate import SIZES, generate_data
from consortia.schema import upgrade

HIGHER = "higher"
LOWER = "lower"

PG_ADMIN_URL = os.environ.get("CONSORTIA_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

OK, MISS, ERROR, SKIP = "OK", "MISS", "ERROR", "SKIP"

Result = dict[str, Any]
RunFunction = Callable[[Database, str], list[Result]]


# --- what benchmark modules answer ----------------------------------------------------------------


def measured(name: str, figure: float, *, unit: str, target: float, better: str, note: str = "") -> Result:
    """A figure that was measured: `better` is HIGHER (a rate) or LOWER (a time)."""
    return {
        "name": name,
        "figure": float(figure),
        "unit": unit,
        "target": float(target),
        "better": better,
        "note": note,
    }


def failed(
    name: str, error: str, *, unit: str = "", target: float | None = None, better: str = HIGHER, note: str = ""
) -> Result:
    """A benchmark that could not measure: `error` says why, in words a reader can act on."""
    return {
        "name": name,
        "figure": None,
        "unit": unit,
        "target": target,
        "better": better,
        "note": note,
        "error": error,
    }


def skipped(name: str, reason: str) -> Result:
    """A benchmark that does not apply here (another database, a size without the data it needs)."""
    return {"name": name, "figure": None, "unit": "", "target": None, "better": HIGHER, "note": reason, "skip": True}


def judge(result: Result) -> Result:
    """The result with its ratio and status (OK, MISS, ERROR, SKIP)."""
    judged = dict(result)
    figure = result.get("figure", result.get("value"))
    target = result.get("target")
    better = result.get("better", HIGHER if result.get("higher_is_better", True) else LOWER)
    judged["better"] = better
    judged["ratio"] = None
    if result.get("skip"):
        judged["status"] = SKIP
    elif result.get("error") or figure is None or target is None:
        judged["status"] = ERROR
        judged.setdefault("error", "no figure was measured")
    else:
        figure, target = float(figure), float(target)
        if better == LOWER:
            ratio = target / figure if figure > 0 else float("inf")
        else:
            ratio = figure / target if target > 0 else float("inf")
        judged["figure"] = figure
        judged["ratio"] = ratio
        judged["status"] = OK if ratio >= 1 else MISS
    return judged


# --- printing -------------------------------------------------------------------------------------


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


HEADER = f"{'benchmark':<46} {'database':<11} {'figure':>16} {'target':>17} {'ratio':>7}  status"


def format_line(result: Result) -> str:
    """One printed line: name, database, figure, target, ratio, status, and the note or error."""
    unit = result.get("unit") or ""
    figure = result.get("figure")
    target = result.get("target")
    ratio = result.get("ratio")
    figure_text = f"{_number(figure)} {unit}".strip() if isinstance(figure, float) else "—"
    sign = "≤" if result.get("better") == LOWER else "≥"
    target_text = f"{sign} {_number(float(target))} {unit}".strip() if target is not None else "—"
    ratio_text = f"{ratio:.2f}" if isinstance(ratio, float) else "—"
    line = (
        f"{result['name']:<46} {result.get('database', ''):<11} {figure_text:>16} {target_text:>17} "
        f"{ratio_text:>7}  {result['status']}"
    )
    comment = result.get("error") if result["status"] == ERROR else result.get("note")
    return f"{line}  {comment}" if comment else line


# --- databases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A database to run on: its label in the output and its URL."""

    label: str
    url: str


def var_dir() -> Path:
    return Path(os.environ.get("CONSORTIA_VAR_DIR", "var")).resolve() / "bench"


def sqlite_target(size: str, *, fresh: bool) -> Target:
    path = var_dir() / f"consortia_bench_{size.lower()}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Target("sqlite", f"sqlite:///{path}")


def postgresql_target(size: str, *, fresh: bool, console: Console) -> Target | None:
    """The size's PostgreSQL database (created, or re-created when `fresh`); None when unreachable."""
    name = f"consortia_bench_{size.lower()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            if fresh:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        console.print(f"PostgreSQL is not reachable ({type(exc).__name__}); benchmarks run on SQLite only.")
        return None
    finally:
        admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return Target("postgresql", url)


def given_target(url: str) -> Target:
    url = normalise_database_url(url)
    return Target("sqlite" if url.startswith("sqlite") else "postgresql", url)


# --- benchmark modules ----------------------------------------------------------------------------


def benchmark_modules(only: Sequence[str] = ()) -> list[tuple[str, ModuleType | BaseException]]:
    """Every `bench/bench_*.py`, imported (or the import error), in name order; `only` filters by name."""
    found: list[tuple[str, ModuleType | BaseException]] = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if not info.name.startswith("bench_") or (only and not any(o in info.name for o in only)):
            continue
        try:
            found.append((info.name, importlib.import_module(f"bench.{info.name}")))
        except Exception as exc:  # a broken module is reported, the others still run
            found.append((info.name, exc))
    return found


def run_module(name: str, module: ModuleType | BaseException, database: Database, size: str) -> list[Result]:
    if isinstance(module, BaseException):
        return [failed(name, f"cannot be imported: {type(module).__name__}: {module}")]
    run: RunFunction | None = getattr(module, "run", None)
    if run is None:
        return [failed(name, "has no run(database, size) function")]
    try:
        return list(run(database, size))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return [failed(name, f"raised {type(exc).__name__}: {exc}")]


def run_on(
    target: Target,
    size: str,
    modules: list[tuple[str, ModuleType | BaseException]],
    console: Console,
    emit: Callable[[Result], None],
) -> None:
    """Bring `target` to the newest schema, generate the size's data, run every module on it."""
    database = Database(target.url)
    settings_dir = var_dir() / target.label
    configure(load_settings(database_url=target.url, var_dir=settings_dir, run_embedded_worker=False))
    set_database(database)
    try:
        upgrade(database.engine)
        console.print(f"[bold]{target.label}[/bold]: generating size {size}…")
        started = time.perf_counter()
        generate_data(database, size, console=console)
        console.print(
            f"[bold]{target.label}[/bold]: data of size {size} ready in {time.perf_counter() - started:.1f} s"
        )
        for name, module in modules:
            for result in run_module(name, module, database, size):
                result = judge({**result, "database": target.label})
                emit(result)
    finally:
        set_database(None)
        database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument(
        "--size",
        type=str.upper,
        choices=list(SIZES),
        default="S",
        help="S (1%% of L), M (10%%) or L (SPEC N); XS (0.1%%) for smoke tests.",
    )
    parser.add_argument("--db", help="Run on this database only (data generated into it as needed).")
    parser.add_argument("--reuse", action="store_true", help="Keep the size's bench databases from an earlier run.")
    parser.add_argument("--only", action="append", default=[], help="Run only modules whose name contains this.")
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument("--strict", action="store_true", help="Exit 1 on a MISS too, not only on an ERROR.")
    args = parser.parse_args(argv)
    assemble()  # a process of its own: every domain's rules and job kinds in place, as in the server

    console = Console(stderr=True)
    size: str = args.size
    if args.db:
        targets = [given_target(args.db)]
    else:
        targets = [sqlite_target(size, fresh=not args.reuse)]
        postgresql = postgresql_target(size, fresh=not args.reuse, console=console)
        if postgresql is not None:
            targets.append(postgresql)
    modules = benchmark_modules(args.only)

    results: list[Result] = []

    def emit(result: Result) -> None:
        results.append(result)
        print(format_line(result), flush=True)

    print(f"SPEC N benchmarks at size {size} ({SIZES[size]:.1%} of L)", flush=True)
    print(HEADER, flush=True)
    for target in targets:
        run_on(target, size, modules, console, emit)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"size": size, "results": results}, indent=2, default=str))
    failing = {ERROR, MISS} if args.strict else {ERROR}
    return 1 if any(r["status"] in failing for r in results) else 0

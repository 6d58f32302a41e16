"""The benchmark harness stays alive: it runs the platform benchmarks end to end at a tiny size, judges
figures against targets, and reports a broken benchmark as a line instead of stopping (no timings are
asserted: a test never depends on how fast the machine is)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from bench.harness import ERROR, HIGHER, LOWER, MISS, OK, SKIP, failed, format_line, judge, measured, skipped
from bench.load import percentile

import consortia.config
import consortia.db
from bench import harness
from consortia.db import Database
from tests.bench.databases import fresh_database


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    # The harness points the process's settings and database at the benchmark database; put them back.
    monkeypatch.setattr(consortia.db, "_database", consortia.db._database)
    monkeypatch.setattr(consortia.config, "_current", consortia.config._current)
    monkeypatch.setenv("CONSORTIA_VAR_DIR", str(tmp_path / "var"))
    with fresh_database(tmp_path) as database:
        yield database
    consortia.config.get_settings.cache_clear()


@pytest.mark.slow
def test_the_platform_benchmarks_run_end_to_end(
    fresh: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "results.json"

    status = harness.main(["--size", "xs", "--db", fresh.url, "--only", "platform", "--json", str(report)])

    printed = capsys.readouterr().out.splitlines()
    results = json.loads(report.read_text())["results"]
    by_name = {r["name"]: r for r in results}
    assert printed[0] == "SPEC N benchmarks at size XS (0.1% of L)"
    assert printed[1].startswith("benchmark")
    assert len(printed) == 2 + len(results)
    assert set(by_name) == {
        "N-7 permission decisions (policy.allows)",
        "N-6 GET one portfolio: throughput",
        "N-6 GET one portfolio: p99 latency",
        "N-6 portfolio ceiling: bare endpoint, same server",
        "N-6 portfolio endpoint / ceiling",
        "N-6 GET one user: throughput",
        "N-6 GET one user: p99 latency",
        "N-6 user ceiling: bare endpoint, same server",
        "N-6 user endpoint / ceiling",
    }
    for result in results:
        assert result["status"] in {OK, MISS}, result
        assert result["figure"] > 0
        assert result["database"] in {"sqlite", "postgresql"}
    assert "/bibs/{mms_id}/portfolios/{portfolio_id}" in by_name["N-6 GET one portfolio: throughput"]["note"]
    assert "/bench/n6/ceiling/bibs/" in by_name["N-6 portfolio ceiling: bare endpoint, same server"]["note"]
    assert status == 0


@pytest.mark.slow
def test_the_export_benchmark_runs_beside_its_ceiling(fresh: Database, tmp_path: Path) -> None:
    """ER-20: the export and its ceiling each run in a process of their own over the largest institution."""
    report = tmp_path / "results.json"

    status = harness.main(["--size", "xs", "--db", fresh.url, "--only", "exchange", "--json", str(report)])

    by_name = {r["name"]: r for r in json.loads(report.read_text())["results"]}
    assert set(by_name) == {
        "ER-20 export of every portfolio",
        "ER-20 export ceiling: bare SELECT into csv",
        "ER-20 export resident memory",
    }
    for result in by_name.values():
        assert result["status"] in {OK, MISS}, result
        assert result["figure"] > 0
    assert "1,050 rows" in by_name["ER-20 export of every portfolio"]["note"]
    assert status == 0


def test_figures_are_judged_against_their_targets() -> None:
    fast = judge(measured("rate", 250, unit="/s", target=100, better=HIGHER))
    slow = judge(measured("latency", 80, unit="ms", target=50, better=LOWER))
    quick = judge(measured("latency", 25, unit="ms", target=50, better=LOWER))

    assert (fast["status"], fast["ratio"]) == (OK, 2.5)
    assert (slow["status"], slow["ratio"]) == (MISS, 0.625)
    assert (quick["status"], quick["ratio"]) == (OK, 2.0)
    assert judge(failed("n6", "server did not start"))["status"] == ERROR
    assert judge(skipped("n2", "no collections at this size"))["status"] == SKIP


def test_a_line_names_benchmark_database_figure_target_ratio_and_status() -> None:
    line = format_line(
        judge({**measured("N-7 x", 123_456, unit="/s", target=100_000, better=HIGHER), "database": "sqlite"})
    )
    assert line.split() == ["N-7", "x", "sqlite", "123,456", "/s", "≥", "100,000", "/s", "1.23", "OK"]
    error = format_line(judge({**failed("N-6 y", "GET answered 404"), "database": "postgresql"}))
    assert error.endswith("ERROR  GET answered 404")


def test_a_broken_benchmark_module_is_reported_not_raised(fresh: Database) -> None:
    crashing = ModuleType("bench_crashing")

    def run(_database: Database, _size: str) -> list[dict[str, object]]:
        raise ValueError("no data")

    crashing.run = run  # type: ignore[attr-defined]

    not_imported = harness.run_module("bench_missing", ImportError("no module x"), fresh, "XS")
    raised = harness.run_module("bench_crashing", crashing, fresh, "XS")
    no_run = harness.run_module("bench_empty", ModuleType("bench_empty"), fresh, "XS")

    assert [judge(r)["status"] for r in not_imported + raised + no_run] == [ERROR, ERROR, ERROR]
    assert "ImportError: no module x" in not_imported[0]["error"]
    assert "ValueError: no data" in raised[0]["error"]
    assert "run(database, size)" in no_run[0]["error"]


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.50) == 50.0
    assert percentile([], 0.99) == 0.0

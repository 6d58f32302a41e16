"""The N-5 benchmark stays runnable: a tiny size on its own SQLite database (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import bench_support
from consortia.db import Database
from consortia.schema import upgrade


def test_the_benchmark_builds_its_data_and_measures(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'bench.db'}")
    upgrade(database.engine)
    try:
        first = bench_support.run(database, "XS")
        again = bench_support.run(database, "XS")
    finally:
        database.dispose()
    for results in (first, again):
        (result,) = results
        assert result["name"].startswith("N-5")
        assert result["unit"] == "ms"
        assert result["target"] == 50.0
        assert result["figure"] > 0
    assert "1,000 inserted" in first[0]["note"]
    assert "0 inserted" in again[0]["note"]
    assert "25 rows a page" in first[0]["note"]

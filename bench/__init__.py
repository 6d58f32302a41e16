"""The SPEC N benchmarks: `python -m bench --size S|M|L [--db URL]` (`make bench`).

The harness (`bench.harness`) builds the synthetic data of the size with `consortia.generate`, then
runs every module `bench/bench_*.py` against each database: SQLite always, PostgreSQL when it is
reachable at 127.0.0.1:5432 (or only the database named with `--db`). A module exposes

    run(database: consortia.db.Database, size: str) -> list[dict]

and answers one dict per figure, made with `bench.harness.measured(...)`, `failed(...)` or
`skipped(...)`; the harness prints one line per figure: name, database, figure, target, ratio, OK/MISS.
"""

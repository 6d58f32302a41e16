"""A bounded HTTP load loop, run as its own process: `python -m bench.load --port P --ids-file F`.

Keep-alive connections on loopback, one thread per connection, each sending GET requests for the
ids of the file in turn until the request count or the time limit is reached. A line may hold several
values separated by spaces (a record's and its portfolio's ids): each `{id}` of the path takes the next. Prints one JSON
object: requests, errors (non-200 answers and broken connections), seconds, requests per second,
and latency percentiles in milliseconds. A warm-up phase (not measured) precedes the timed one.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

# The API key travels in the environment, not on the command line where every process could read it.
KEY_VARIABLE = "CONSORTIA_BENCH_API_KEY"


class Shared:
    """The counters the threads draw from and add to."""

    def __init__(self, ids: list[str], requests: int, deadline: float) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.cycle(ids)
        self.left = requests
        self.deadline = deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def take(self) -> str | None:
        with self.lock:
            if self.left <= 0 or time.perf_counter() > self.deadline:
                return None
            self.left -= 1
            return next(self.ids)


def fill(template: str, line: str) -> str:
    """The path of one request: each `{id}` of `template` replaced by the next value of `line`, quoted."""
    values = iter(line.split(" "))
    return re.sub(r"\{id\}", lambda _match: quote(next(values), safe=""), template)


def _worker(host: str, port: int, path: str, headers: dict[str, str], shared: Shared) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    latencies: list[float] = []
    errors = 0
    first_error = ""
    while (user_id := shared.take()) is not None:
        started = time.perf_counter()
        try:
            connection.request("GET", fill(path, user_id), headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
            first_error = first_error or f"HTTP {response.status}: {body[:200].decode(errors='replace')}"
    connection.close()
    with shared.lock:
        shared.latencies.extend(latencies)
        shared.errors += errors
        shared.first_error = shared.first_error or first_error


def _phase(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    ids: list[str],
    requests: int,
    seconds: float,
    threads: int,
) -> tuple[Shared, float]:
    shared = Shared(ids, requests, time.perf_counter() + seconds)
    workers = [
        threading.Thread(target=_worker, args=(host, port, path, headers, shared), daemon=True) for _ in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return shared, time.perf_counter() - started


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measure(
    *,
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    ids: list[str],
    requests: int,
    seconds: float,
    threads: int,
    warmup: int,
) -> dict[str, Any]:
    """Warm up, then send `requests` requests (or as many as fit in `seconds`) and summarise them."""
    if warmup:
        _phase(host, port, path, headers, ids, warmup, seconds, threads)
    shared, elapsed = _phase(host, port, path, headers, ids, requests, seconds, threads)
    latencies = sorted(shared.latencies)
    done = len(latencies)
    return {
        "requests": done,
        "errors": shared.errors,
        "first_error": shared.first_error,
        "seconds": elapsed,
        "requests_per_second": done / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "threads": threads,
        "timed_out": done + shared.errors < requests,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--path", default="/almaws/v1/users/{id}", help="Request path; each {id} takes the next value of a line."
    )
    parser.add_argument(
        "--ids-file", type=Path, required=True, help="One id (or several, separated by spaces) per line."
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0, help="Time limit of each phase.")
    parser.add_argument("--threads", type=int, default=8, help="Concurrent keep-alive connections.")
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("the load loop only targets loopback")
    ids = [line.strip() for line in args.ids_file.read_text().splitlines() if line.strip()]
    if not ids:
        parser.error("the ids file is empty")
    key = os.environ.get(KEY_VARIABLE, "")
    if not key:
        parser.error(f"set {KEY_VARIABLE} to the API key to send")
    headers = {"Authorization": f"apikey {key}", "Accept": "application/json"}
    summary = measure(
        host=args.host,
        port=args.port,
        path=args.path,
        headers=headers,
        ids=ids,
        requests=args.requests,
        seconds=args.seconds,
        threads=args.threads,
        warmup=args.warmup,
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

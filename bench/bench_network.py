"""N-4: the walk-in search over the generated fulfillment network (10 institutions; at size L
100,000 patrons each), through `/api/v1/network/walk-in/search` in process, as the first member's
Circulation Desk Operator with an API key:

- by identifier (a random partner patron's barcode): p95 ≤ 20 ms;
- by name ("First Last" of a random partner patron; every member allows it): p95 ≤ 50 ms;
- linking (`POST /almaws/v1/users?source_institution_code=&source_user_id=`, each a patron not yet
  linked): p95 ≤ 50 ms.

The targets are set for size L; the generated network (consortia.network.generate) has non-empty
restricted-group and searchable-identifier tables at every other member.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.harness import LOWER, failed, measured
from consortia.app import create_app
from consortia.audit.models import SYSTEM
from consortia.db import Database
from consortia.generate import load_context
from consortia.http.deps import get_session
from consortia.platform.auth import create_api_key
from consortia.platform.generate import patron_id, staff_id
from consortia.platform.models import User

WARM_UP = 5
SAMPLES = 200
LINKS = 100
SEARCH_TARGET_MS = 20.0
NAME_TARGET_MS = 50.0
LINK_TARGET_MS = 50.0


def _client(database: Database, key: str) -> TestClient:
    def bench_session() -> Iterator[Session]:
        with database.session() as session:
            yield session

    app = create_app(start_worker=False)
    app.dependency_overrides[get_session] = bench_session
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = f"apikey {key}"
    return client


def _p95(call: Callable[[], None], samples: int) -> tuple[float, float]:
    for _ in range(WARM_UP):
        call()
    timings = []
    for _ in range(samples):
        begin = time.perf_counter()
        call()
        timings.append((time.perf_counter() - begin) * 1000)
    return statistics.quantiles(timings, n=20)[-1], statistics.median(timings)


def run(database: Database, size: str) -> list[dict[str, Any]]:
    context = load_context(database, size)
    codes = context.network_institutions
    if len(codes) < 2:
        return [failed("N-4 walk-in search by identifier p95", "no generated fulfillment network", unit="ms",
                       target=SEARCH_TARGET_MS)]  # fmt: skip
    here, partners = codes[0], codes[1:]
    per_institution = context.patrons_per_institution
    with database.session() as session:
        desk = session.scalars(select(User).where(User.primary_id_key == staff_id(here, "desk").lower())).one()
        _row, key = create_api_key(session, desk, actor=SYSTEM)
    randomness = random.Random(f"bench-network-{size}")

    def patron() -> tuple[str, int]:
        return randomness.choice(partners), randomness.randint(1, per_institution)

    with database.session() as session:
        names = {
            (code, number): session.execute(
                select(User.first_name, User.last_name).where(User.primary_id_key == patron_id(code, number))
            ).one()
            for code, number in (patron() for _ in range(SAMPLES + WARM_UP))
        }
    name_list = list(names.values())
    results = []
    with _client(database, key) as client:
        found = 0

        def by_identifier() -> None:
            nonlocal found
            code, number = patron()
            response = client.get("/api/v1/network/walk-in/search", params={"identifier": patron_id(code, number)})
            if response.status_code != 200:
                raise RuntimeError(f"search answered {response.status_code}: {response.text[:200]}")
            found += response.json()["total_record_count"]

        p95, median = _p95(by_identifier, SAMPLES)
        results.append(
            measured("N-4 walk-in search by identifier p95", p95, unit="ms", target=SEARCH_TARGET_MS, better=LOWER,
                     note=f"{len(codes)} institutions x {per_institution:,} patrons; median {median:.1f} ms; "
                          f"{found} found in {SAMPLES + WARM_UP} searches (inactive, GUEST and unsearchable ones "
                          "are hidden)" + ("" if size == "L" else "; the target is set for size L"))
        )  # fmt: skip

        rows = 0

        def by_name() -> None:
            nonlocal rows
            first, last = randomness.choice(name_list)
            response = client.get("/api/v1/network/walk-in/search", params={"name": f"{first} {last}"})
            if response.status_code != 200:
                raise RuntimeError(f"search answered {response.status_code}: {response.text[:200]}")
            rows += response.json()["total_record_count"]

        p95, median = _p95(by_name, SAMPLES)
        results.append(
            measured("N-4 walk-in search by name p95", p95, unit="ms", target=NAME_TARGET_MS, better=LOWER,
                     note=f"median {median:.1f} ms; {rows // (SAMPLES + WARM_UP)} matches a search on average")
        )  # fmt: skip

        linked = 0

        def link() -> None:
            nonlocal linked
            while True:
                code, number = patron()
                response = client.post(
                    "/almaws/v1/users",
                    params={"source_institution_code": code, "source_user_id": patron_id(code, number)},
                )
                if response.status_code == 200:
                    linked += 1
                    return
                if response.status_code not in (400, 404):  # already linked, or one the desk may not serve
                    raise RuntimeError(f"link answered {response.status_code}: {response.text[:200]}")

        p95, median = _p95(link, LINKS)
        results.append(
            measured("N-4 linking a walk-in patron p95", p95, unit="ms", target=LINK_TARGET_MS, better=LOWER,
                     note=f"POST /almaws/v1/users with the source; median {median:.1f} ms; {linked} linked")
        )  # fmt: skip
    return results

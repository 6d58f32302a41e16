"""Electronic resources benchmarks: N-1 (permission-filtered portfolio search), N-2 (setting the library of
the aggregator collection, with its history, against the raw set-based floor) and N-7 for the scope rule.

Data: what `consortia generate` built for the size (2,000,000 portfolios at L, the aggregator collection of
1,000,000). Targets are those of size L; at smaller sizes the figures are only the harness kept alive.

- N-1: `GET /api/v1/eresources/portfolios/search?limit=50` through the application in process (API-key
  look-up, the scope rule's per-row actions, the bounded count, the JSON), for the generated library-scoped
  EIO (`-eio-lib`) and institution-level EIO of the aggregator's institution, pages spread over the first
  thousand results; p95 without the facet (`facets=false`) and with it.
- N-2: first the floor, in one transaction rolled back: one UPDATE clearing the collection's portfolios'
  libraries and one INSERT ... SELECT of their history rows. Then the job itself: the collection's library
  is set through the verb, and the instance runs in a separate process (`python -c`, run_instance), whose
  wall time and peak resident memory are read. Afterwards the portfolios get their libraries back and the
  job's history rows are removed, so that the next run measures the same work.
- N-7: `policy.allows` of the scope rule (edit and delete of portfolios and collections) for loaded
  identities and objects.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import String, cast, delete, func, select, update

from bench.harness import HIGHER, LOWER, Result, measured, skipped
from consortia.access.identity import identity_for_user_id
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows
from consortia.app import create_app
from consortia.audit.models import SYSTEM, Actor, HistoryEvent
from consortia.audit.service import history_insert_from_select
from consortia.config import load_settings
from consortia.db import Database
from consortia.eresources import service
from consortia.eresources.generate import aggregator_collection_id
from consortia.eresources.models import ElectronicCollection, Portfolio
from consortia.generate import load_context
from consortia.http.deps import get_session
from consortia.jobs.queue import set_queue
from consortia.platform.auth import create_api_key
from consortia.platform.generate import GenerationContext, institution_code, staff_id
from consortia.platform.models import Library, User

N1_TARGET_MS = 50.0
N1_FACET_TARGET_MS = 300.0
N2_TARGET_S = {"sqlite": 60.0, "postgresql": 120.0}
N2_MEMORY_MB = 300.0
N7_TARGET = 100_000.0
SAMPLES = 60
WARM_UP = 5
DECISIONS = 200_000


def run(database: Database, size: str) -> list[Result]:
    context = load_context(database, size)
    with database.session() as session:
        cid = aggregator_collection_id(session, context)
    if cid is None:
        return [skipped("N-1 portfolio search", "no electronic inventory generated at this size")]
    return [
        *search_page(database, context),
        *collection_library(database, context, cid),
        scope_decisions(database, context),
    ]


# --- N-1 ----------------------------------------------------------------------------------------


def _keys(database: Database, context: GenerationContext) -> list[str]:
    code = institution_code(context.size, 1)
    keys = []
    with database.session() as session:
        for suffix in ("eio-lib", "eio"):
            user_id = context.staff[staff_id(code, suffix)]
            user = session.get(User, user_id)
            assert user is not None
            _row, key = create_api_key(session, user, actor=SYSTEM, label="bench N-1")
            keys.append(key)
    return keys


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def search_page(database: Database, context: GenerationContext) -> list[Result]:
    settings = load_settings(database_url=database.url, queue_url="memory://", run_embedded_worker=False)
    app = create_app(settings, start_worker=False)

    def session_dependency() -> Any:
        with database.session() as session:
            yield session

    app.dependency_overrides[get_session] = session_dependency
    keys = _keys(database, context)
    results = []
    with TestClient(app) as client:
        for label, facets, target in (
            ("N-1 portfolio search page p95", "false", N1_TARGET_MS),
            ("N-1 portfolio search with Library facet p95", "true", N1_FACET_TARGET_MS),
        ):
            timings = []
            for n in range(WARM_UP + SAMPLES):
                key = keys[n % len(keys)]
                offset = (n * 50) % 1000
                started = time.perf_counter()
                response = client.get(
                    f"/api/v1/eresources/portfolios/search?limit=50&offset={offset}&facets={facets}",
                    headers={"Authorization": f"apikey {key}"},
                )
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"search answered {response.status_code}: {response.text[:300]}")
                if n >= WARM_UP:
                    timings.append(elapsed)
            results.append(
                measured(
                    label,
                    _p95(timings),
                    unit="ms",
                    target=target,
                    better=LOWER,
                    note=f"{SAMPLES} pages of 50 with per-row actions, library-scoped and institution-level EIO",
                )
            )
    return results


# --- N-2 ----------------------------------------------------------------------------------------


def restore_collection(database: Database, cid: int, libraries: list[int], instance_id: int | None) -> None:
    """Give the collection's portfolios their own libraries back (by id, rotating) and remove the job's rows."""
    with database.session() as session:
        session.execute(update(ElectronicCollection).where(ElectronicCollection.id == cid).values(library_id=None))
        for index, library_id in enumerate(libraries):
            session.execute(
                update(Portfolio)
                .where(Portfolio.collection_id == cid, Portfolio.id % len(libraries) == index)
                .values(library_id=library_id)
                .execution_options(synchronize_session=False)
            )
        if instance_id is not None:
            session.execute(delete(HistoryEvent).where(HistoryEvent.job_instance_id == instance_id))


def _floor(database: Database, cid: int) -> tuple[float, int]:
    """One UPDATE and one INSERT ... SELECT of the history rows, rolled back: the set-based floor."""
    session = database.sessionmaker()
    try:
        started = time.perf_counter()
        chunk = [Portfolio.collection_id == cid, Portfolio.library_id.is_not(None)]
        session.execute(
            history_insert_from_select(
                entity="portfolio",
                entity_id=cast(Portfolio.id, String),
                institution_id=Portfolio.institution_id.expression,
                field="library",
                old=Library.code.expression,
                new=None,
                actor=Actor(None, "bench floor", 0),
                where_from=select(Portfolio.id).join(Library, Library.id == Portfolio.library_id).where(*chunk),
            )
        )
        changed = session.execute(
            update(Portfolio).where(*chunk).values(library_id=None, version=Portfolio.version + 1)
        ).rowcount  # type: ignore[attr-defined]
        session.flush()
        return time.perf_counter() - started, int(changed)
    finally:
        session.rollback()
        session.close()


CHILD = """
import json, resource, sys, time
from consortia.db import Database
from consortia.domains import assemble
from consortia.jobs.runner import run_instance
database = Database(sys.argv[1])
assemble()  # a worker has every domain assembled before it takes a job
started = time.perf_counter()
outcome = run_instance(database.sessionmaker, int(sys.argv[2]))
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "seconds": seconds, "maxrss_kb": peak}))
"""


class _NoQueue:
    def enqueue(self, instance_id: int, session_factory: Any) -> bool:
        return False

    def pending_instance_ids(self) -> set[int] | None:
        return set()


def collection_library(database: Database, context: GenerationContext, cid: int) -> list[Result]:
    code = institution_code(context.size, 1)
    libraries = [library_id for library_id, _code in context.libraries[code]]
    restore_collection(database, cid, libraries, None)
    floor, rows = _floor(database, cid)
    set_queue(_NoQueue())
    try:
        with database.session() as session:
            identity = identity_for_user_id(session, context.staff[staff_id(code, "eio")])
            assert identity is not None
            collection = session.get(ElectronicCollection, cid)
            target = session.get(Library, libraries[0])
            assert collection is not None
            assert target is not None
            instance = service.set_collection_library(session, identity, collection, target)
            instance_id = instance.id
    finally:
        set_queue(None)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, database.url, str(instance_id)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the job's process failed: {done.stderr[-500:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    with database.session() as session:
        history = int(
            session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .where(HistoryEvent.job_instance_id == instance_id, HistoryEvent.entity == "portfolio")
            )
            or 0
        )
    restore_collection(database, cid, libraries, instance_id)
    if history != rows:
        raise RuntimeError(f"the job wrote {history:,} portfolio history rows for {rows:,} changed portfolios")
    dialect = database.engine.dialect.name
    seconds = float(figures["seconds"])
    memory = float(figures["maxrss_kb"]) / 1024
    ratio = seconds / max(floor, 1e-9)
    note = f"{rows:,} portfolios, {history:,} history rows; floor {floor:.1f} s, job/floor {ratio:.2f}x"
    return [
        measured(
            "N-2 set collection library (job)",
            seconds,
            unit="s",
            target=N2_TARGET_S.get(dialect, 120.0),
            better=LOWER,
            note=note,
        ),
        measured(
            "N-2 set-based floor (UPDATE + INSERT SELECT)",
            floor,
            unit="s",
            target=N2_TARGET_S.get(dialect, 120.0) / 2,
            better=LOWER,
            note="the job aims at 2x this",
        ),
        measured(
            "N-2 job resident memory",
            memory,
            unit="MB",
            target=N2_MEMORY_MB,
            better=LOWER,
            note="peak RSS of the job's process",
        ),
    ]


# --- N-7 ----------------------------------------------------------------------------------------


def scope_decisions(database: Database, context: GenerationContext) -> Result:
    code = institution_code(context.size, 1)
    cases: list[tuple[Any, P, Any]] = []
    with database.session() as session:
        identities = [
            identity_for_user_id(session, context.staff[staff_id(code, s)]) for s in ("eio", "eio-lib", "desk")
        ]
        institution_id = context.institutions[code]
        portfolios = list(
            session.scalars(select(Portfolio).where(Portfolio.institution_id == institution_id).limit(200))
        )
        collections = list(
            session.scalars(select(ElectronicCollection).where(ElectronicCollection.institution_id == institution_id))
        )
        objects = [service.scoped(session, row) for row in [*portfolios, *collections]]
    for identity in identities:
        assert identity is not None
        for obj in objects:
            edit, remove = (
                (P.PORTFOLIO_EDIT, P.PORTFOLIO_DELETE)
                if obj.kind == "portfolio"
                else (P.COLLECTION_EDIT, P.COLLECTION_DELETE)
            )
            cases += [(identity, edit, obj), (identity, remove, obj)]
    work = (cases * (DECISIONS // len(cases) + 1))[:DECISIONS]
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        for identity, permission, obj in work:
            allows(identity, permission, obj)
        rates.append(len(work) / (time.perf_counter() - started))
    granted = sum(1 for identity, permission, obj in cases if allows(identity, permission, obj))
    return measured(
        "N-7 scope decisions (policy.allows)",
        statistics.median(rates),
        unit="/s",
        target=N7_TARGET,
        better=HIGHER,
        note=f"{len(cases)} cases, {granted / len(cases):.0%} allowed",
    )

"""N-3: Repository Import (ER-22) of a MARC file end to end through the job, beside pymarc's bare parse rate;
and the Change Electronic Portfolio Information job (ER-21) over the aggregator collection, beside its
set-based floor.

Data: what `consortia generate` built for the size; people and libraries are the generated ones.

- N-3: a MARC21 file generated with pymarc, 100,000 records at size L (1% of that, at least 1,000, at S),
  each naming one of the institution's libraries in 910 $a. The generated Repository Manager (`-repo`) of
  the second generated institution makes (once) a standalone Repository profile extracting the library
  from 910 $a, uploads the file and submits the import (stored in `import_file_part` rows: timed); the job
  then runs in a separate process (`python -c`, run_instance, the job kinds loaded first as in a worker:
  timed, with its peak resident memory).
  Records/s = records / (store + job). pymarc's parse rate of the same file is measured in the same run.
  Before and after, what earlier imports created in that institution (records, portfolios, keys, history)
  is removed, so that each run creates every record.
- ER-21: the generated Repository Manager of the first institution runs "Change Electronic Portfolio
  Information" over a set holding every portfolio of the aggregator collection (made once; its members
  written with one INSERT ... SELECT, as the verb takes at most 100,000 ids), with the institution's first
  library. Floor, in one transaction rolled back: one INSERT ... SELECT of the history rows and one
  UPDATE of the same portfolios. The job runs in a separate process like N-2's; afterwards the
  portfolios get their libraries back and the job's history rows are removed. There is no SPEC target:
  the figure is judged against twice the floor measured in the same run (the aim N-2 sets for its job).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from typing import Any

import pymarc
from sqlalchemy import String, cast, delete, func, insert, literal, select, update

from bench.bench_eresources import restore_collection
from bench.harness import HIGHER, LOWER, Result, measured, skipped
from consortia.access.identity import Identity, identity_for_user_id
from consortia.audit.models import Actor, HistoryEvent
from consortia.audit.service import history_insert_from_select
from consortia.db import Database
from consortia.eresources import import_profiles, imports
from consortia.eresources.generate import aggregator_collection_id
from consortia.eresources.import_models import ImportedRecord, ImportProfile, PortfolioSet, PortfolioSetMember
from consortia.eresources.models import BibRecord, Portfolio
from consortia.eresources.portfolio_jobs import CHANGE_PORTFOLIO_INFORMATION
from consortia.generate import SIZES, load_context
from consortia.jobs import registry
from consortia.jobs import service as jobs
from consortia.jobs.models import JobInstance
from consortia.jobs.queue import set_queue
from consortia.platform.generate import GenerationContext, institution_code, staff_id
from consortia.platform.models import Institution, Library

N3_TARGET = 2_000.0
PROFILE_NAME = "Benchmark N-3 (910 $a)"
SET_NAME = "Benchmark ER-21: the aggregator collection"

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
    """Jobs submitted here wait: the benchmark runs them itself, in a process of their own."""

    def enqueue(self, instance_id: int, session_factory: Any) -> bool:
        return False

    def pending_instance_ids(self) -> set[int] | None:
        return set()


def run_in_child(database: Database, instance_id: int) -> dict[str, Any]:
    """Run a job instance in a separate process: its wall time (s) and peak resident memory (kB)."""
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
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(database: Database, size: str) -> list[Result]:
    context = load_context(database, size)
    if len(context.institutions) < 2:
        return [skipped("N-3 repository import", "no generated institutions at this size")]
    return [*repository_import(database, context), *change_portfolio_information(database, context)]


# --- N-3 ----------------------------------------------------------------------------------------


def marc_file(count: int, library_codes: list[str]) -> bytes:
    parts = []
    blank = pymarc.Indicators(" ", " ")
    for n in range(count):
        record = pymarc.Record(leader="00000nas a2200000 a 4500")
        fields = [
            pymarc.Field(tag="001", data=f"bench{n:08d}"),
            pymarc.Field(tag="022", indicators=blank, subfields=[pymarc.Subfield("a", f"{n:04d}-0000")]),
            pymarc.Field(
                tag="245",
                indicators=pymarc.Indicators("0", "0"),
                subfields=[pymarc.Subfield("a", f"Journal of benchmark studies {n}")],
            ),
            pymarc.Field(
                tag="910", indicators=blank, subfields=[pymarc.Subfield("a", library_codes[n % len(library_codes)])]
            ),
        ]
        record.add_field(*fields)  # type: ignore[no-untyped-call]
        parts.append(record.as_marc())
    return b"".join(parts)


def _remove_imports(database: Database, institution_id: int) -> None:
    """What earlier imports created in the institution: history rows, portfolios, records (and their keys)."""
    imported = select(ImportedRecord).where(ImportedRecord.institution_id == institution_id).subquery()
    with database.session(writes=True) as session:
        session.execute(
            delete(HistoryEvent).where(HistoryEvent.job_instance_id.in_(select(imported.c.job_instance_id).distinct()))
        )
        bib_ids = select(imported.c.bib_id)
        session.execute(delete(Portfolio).where(Portfolio.bib_id.in_(bib_ids)))
        session.execute(delete(ImportedRecord).where(ImportedRecord.institution_id == institution_id))
        session.execute(
            delete(BibRecord).where(
                BibRecord.institution_id == institution_id,
                BibRecord.id.not_in(select(Portfolio.bib_id).where(Portfolio.institution_id == institution_id)),
                BibRecord.title.startswith("Journal of benchmark studies"),
            )
        )


def _identity(database: Database, context: GenerationContext, code: str) -> Identity:
    with database.session() as session:
        identity = identity_for_user_id(session, context.staff[staff_id(code, "repo")])
    assert identity is not None
    return identity


def _profile_id(database: Database, identity: Identity, institution_id: int, default_library: str) -> int:
    with database.session(writes=True) as session:
        found = session.scalar(
            select(ImportProfile.id).where(
                ImportProfile.institution_id == institution_id, ImportProfile.name == PROFILE_NAME
            )
        )
        if found is not None:
            return int(found)
        institution = session.get(Institution, institution_id)
        assert institution is not None
        profile = import_profiles.create_profile(
            session,
            identity,
            institution,
            import_profiles.ProfileChange(
                name=PROFILE_NAME, library_tag="910", library_subfield="a", default_library=default_library
            ),
        )
        session.flush()
        return profile.id


def repository_import(database: Database, context: GenerationContext) -> list[Result]:
    code = institution_code(context.size, 2)
    institution_id = context.institutions[code]
    library_codes = [library_code for _id, library_code in context.libraries[code]]
    count = max(1_000, int(100_000 * SIZES[context.size]))
    data = marc_file(count, library_codes)
    started = time.perf_counter()
    parsed = sum(1 for r in pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True) if r is not None)
    parse_rate = parsed / (time.perf_counter() - started)
    identity = _identity(database, context, code)
    profile_id = _profile_id(database, identity, institution_id, library_codes[0])
    _remove_imports(database, institution_id)
    set_queue(_NoQueue())
    try:
        started = time.perf_counter()
        with database.session(writes=True) as session:
            profile = session.get(ImportProfile, profile_id)
            assert profile is not None
            instance_id = imports.submit_import(session, identity, profile, "bench.mrc", io.BytesIO(data)).id
        stored = time.perf_counter() - started
    finally:
        set_queue(None)
    figures = run_in_child(database, instance_id)
    elapsed = stored + float(figures["seconds"])
    with database.session() as session:
        done = session.get(JobInstance, instance_id)
        counters = dict(done.counters or {}) if done else {}
    imported = int(counters.get(imports.CREATED, 0))
    _remove_imports(database, institution_id)
    if imported != count:
        raise RuntimeError(f"the import created {imported} of {count} records: {counters}")
    rate = imported / elapsed
    peak_mb = float(figures["maxrss_kb"]) / 1024
    return [
        measured(
            f"N-3 repository import ({count:,} records)",
            rate,
            unit="records/s",
            target=N3_TARGET,
            better=HIGHER,
            note=f"store {stored:.1f} s + job {float(figures['seconds']):.1f} s; pymarc bare parse "
            f"{parse_rate:,.0f} records/s (import/parse {rate / parse_rate:.2f})",
        ),
        measured(
            "N-3 import job resident memory",
            peak_mb,
            unit="MB",
            target=300.0,
            better=LOWER,
            note="peak RSS of the job's process (flat: the file is read a part at a time)",
        ),
    ]


# --- ER-21 --------------------------------------------------------------------------------------


def _aggregator_set(database: Database, identity: Identity, institution_id: int, cid: int) -> tuple[int, int]:
    """(the set holding every portfolio of the aggregator collection, its size), made on first use."""
    with database.session(writes=True) as session:
        set_id = session.scalar(
            select(PortfolioSet.id).where(PortfolioSet.institution_id == institution_id, PortfolioSet.name == SET_NAME)
        )
        if set_id is None:
            found = PortfolioSet(
                institution_id=institution_id, name=SET_NAME, created_by_id=identity.user_id, created_by="bench"
            )
            session.add(found)
            session.flush()
            set_id = found.id
            session.execute(
                insert(PortfolioSetMember).from_select(
                    ["set_id", "portfolio_id"],
                    select(literal(set_id), Portfolio.id).where(Portfolio.collection_id == cid),
                )
            )
        members = session.scalar(
            select(func.count()).select_from(PortfolioSetMember).where(PortfolioSetMember.set_id == set_id)
        )
    return int(set_id), int(members or 0)


def _floor(database: Database, set_id: int, library_id: int) -> float:
    """One INSERT ... SELECT of the history rows and one UPDATE of the set's portfolios, rolled back."""
    session = database.sessionmaker()
    try:
        started = time.perf_counter()
        members = select(PortfolioSetMember.portfolio_id).where(PortfolioSetMember.set_id == set_id)
        changing = [Portfolio.id.in_(members), Portfolio.library_id != library_id]
        session.execute(
            history_insert_from_select(
                entity="portfolio",
                entity_id=cast(Portfolio.id, String),
                institution_id=Portfolio.institution_id.expression,
                field="library",
                old=Library.code.expression,
                new=None,
                actor=Actor(None, "bench floor", 0),
                where_from=select(Portfolio.id).join(Library, Library.id == Portfolio.library_id).where(*changing),
            )
        )
        session.execute(
            update(Portfolio)
            .where(*changing)
            .values(library_id=library_id, version=Portfolio.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.flush()
        return time.perf_counter() - started
    finally:
        session.rollback()
        session.close()


def change_portfolio_information(database: Database, context: GenerationContext) -> list[Result]:
    code = institution_code(context.size, 1)
    institution_id = context.institutions[code]
    libraries = [library_id for library_id, _code in context.libraries[code]]
    with database.session() as session:
        cid = aggregator_collection_id(session, context)
    if cid is None:
        return [skipped("ER-21 change portfolio information (job)", "no aggregator collection at this size")]
    identity = _identity(database, context, code)
    set_id, members = _aggregator_set(database, identity, institution_id, cid)
    restore_collection(database, cid, libraries, None)
    floor = _floor(database, set_id, libraries[0])
    kind = registry.job_kind(CHANGE_PORTFOLIO_INFORMATION)
    assert kind is not None
    set_queue(_NoQueue())
    try:
        with database.session(writes=True) as session:
            library_code = context.libraries[code][0][1]
            instance_id = jobs.submit(session, identity, kind, {"set_id": str(set_id), "library": library_code}).id
    finally:
        set_queue(None)
    figures = run_in_child(database, instance_id)
    with database.session() as session:
        done = session.get(JobInstance, instance_id)
        counters = dict(done.counters or {}) if done else {}
    restore_collection(database, cid, libraries, instance_id)
    seconds = float(figures["seconds"])
    ratio = seconds / max(floor, 1e-9)
    return [
        measured(
            "ER-21 change portfolio information (job)",
            seconds,
            unit="s",
            target=2 * floor,
            better=LOWER,
            note=f"{members:,} portfolios ({counters.get('portfolios_updated', 0):,} updated); floor {floor:.1f} s, "
            f"job/floor {ratio:.2f}x; peak RSS {float(figures['maxrss_kb']) / 1024:.0f} MB",
        ),
        measured(
            "ER-21 set-based floor (UPDATE + INSERT SELECT)",
            floor,
            unit="s",
            target=2 * floor,
            better=LOWER,
            note="measured in the same run; the job aims at 2x this",
        ),
    ]

"""N-3: Repository Import (ER-22) of a MARC file end to end through the job, beside pymarc's bare parse rate.

The file is generated with pymarc: 100,000 records at size L (1% of that, at least 1,000, at S). The import
runs in this process (`memory://` queue: the job runs when its submitting transaction commits), into an
institution of its own (`BIMP<size>`), made on first use and emptied of its imported records before each run.
Reported: records/s end to end (target ≥ 2,000/s), the ratio to pymarc's parse rate of the same file measured
in the same run, and the process's peak resident memory.
"""

from __future__ import annotations

import io
import resource
import time

import pymarc

from bench.harness import HIGHER, Result, measured
from consortia.access.identity import identity_of
from consortia.db import Database
from consortia.eresources import import_profiles, imports
from consortia.generate import SIZES
from consortia.jobs.models import JobInstance
from consortia.jobs.queue import queue_for, set_queue
from consortia.platform import roles as R

N3_TARGET = 2_000.0


def marc_file(count: int) -> bytes:
    parts = []
    for n in range(count):
        record = pymarc.Record(leader="00000nas a2200000 a 4500")
        record.add_field(pymarc.Field(tag="001", data=f"bench{n:08d}"))
        record.add_field(
            pymarc.Field(
                tag="022", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("a", f"{n:04d}-0000")]
            )
        )
        record.add_field(
            pymarc.Field(
                tag="245",
                indicators=pymarc.Indicators("0", "0"),
                subfields=[pymarc.Subfield("a", f"Journal of benchmark studies {n}")],
            )
        )
        parts.append(record.as_marc())
    return b"".join(parts)


def run(database: Database, size: str) -> list[Result]:
    count = max(1_000, int(100_000 * SIZES[size.upper()]))
    data = marc_file(count)
    started = time.perf_counter()
    parsed = sum(1 for r in pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True) if r is not None)
    parse_rate = parsed / (time.perf_counter() - started)
    with database.session(writes=True) as session:
        from tests.factories import Factory

        factory = Factory(session)
        code = f"BIMP{size.upper()}{int(time.time()) % 100000}"
        institution = factory.institution(code, libraries=1)
        person = factory.user(institution, roles=(R.REPOSITORY_MANAGER,))
        identity = identity_of(person)
        profile = import_profiles.create_profile(
            session, identity, institution, import_profiles.ProfileChange(name="Benchmark")
        )
    set_queue(queue_for("memory://"))
    try:
        started = time.perf_counter()
        with database.session(writes=True) as session:
            instance = imports.submit_import(session, identity, session.merge(profile), "bench.mrc", io.BytesIO(data))
            instance_id = instance.id
        elapsed = time.perf_counter() - started
    finally:
        set_queue(None)
    with database.session() as session:
        done = session.get(JobInstance, instance_id)
        imported = int((done.counters or {}).get("records_imported", 0)) if done else 0
    rate = imported / elapsed
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        measured(
            f"N-3 repository import ({count} records)",
            rate,
            unit="records/s",
            target=N3_TARGET,
            better=HIGHER,
            note=f"pymarc bare parse {parse_rate:,.0f} records/s (import/parse {rate / parse_rate:.2f}); "
            f"peak RSS {peak_mb:.0f} MB; {imported} imported",
        )
    ]

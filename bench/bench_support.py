"""N-5: the "Consortium/Partner Cases (Support Center)" page over many cases, p95 ≤ 50 ms.

Self-contained: it builds its own two consortia of ten institutions each (codes `BS<size>01`…`BS<size>20`,
case sharing enabled), one opener per institution and one CONSORTIA user, then bulk-inserts the
cases with multi-row INSERTs in chunks (size S: 10,000 cases, L: 1,000,000; about one case in five
shared with the consortium, last updates spread over two years). A later run on the same database
reuses what is there.

It then times the page itself for the CONSORTIA user: `GET /support/cases?view=partner-cases` through
the application (session cookie look-up, the view, the first page of rows in the view's order with the
bounded count, the rendered HTML), in process, so that the figure is the server's time without a
network; p95 over `SAMPLES` requests after a warm-up. The target is set for size L (1,000,000 cases).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from consortia.app import create_app
from consortia.db import Database, utcnow
from consortia.http.deps import SESSION_COOKIE, get_session
from consortia.platform.auth import create_web_session
from consortia.platform.models import Consortium, Institution, User
from consortia.support.models import CaseNumberCounter, SupportCase

CASES = {"XS": 1_000, "S": 10_000, "M": 100_000, "L": 1_000_000}
INSTITUTIONS = 20
SHARED_SHARE = 0.2
CHUNK = 10_000
WARM_UP = 5
SAMPLES = 100
TARGET_MS = 50.0
NAME = "N-5 Consortium/Partner Cases page p95"

STATUSES = ("New", "In Progress", "Pending Customer", "Solved", "Closed")
PRIORITIES = ("Low", "Medium", "High", "Critical")
ISSUE_TYPES = ("Access", "Technical", "Configuration", "Data", "Other")


def _code(size: str, number: int) -> str:
    return f"BS{size}{number:02d}"


def _ensure_places(session: Session, size: str) -> tuple[list[Institution], list[User], User]:
    """The bench's consortia, institutions, openers and CONSORTIA user (created on the first run)."""
    institutions = list(
        session.scalars(select(Institution).where(Institution.code.like(f"BS{size}%")).order_by(Institution.code))
    )
    if len(institutions) < INSTITUTIONS:
        consortia = []
        for half in ("A", "B"):
            consortium = Consortium(
                code=f"BS{size}_{half}",
                name=f"Bench Consortium {size} {half}",
                parent_account=f"Bench {half}",
                case_sharing_enabled=True,
            )
            session.add(consortium)
            consortia.append(consortium)
        session.flush()
        institutions = []
        for number in range(1, INSTITUTIONS + 1):
            institution = Institution(
                code=_code(size, number),
                name=f"Bench University {size} {number:02d}",
                consortium_id=consortia[0 if number <= INSTITUTIONS // 2 else 1].id,
                registration_token="",
            )
            session.add(institution)
            institutions.append(institution)
        session.flush()
        for institution in institutions:
            session.add(_user(institution, f"bench-opener-{institution.code.lower()}", "STANDARD"))
        session.add(_user(institutions[0], f"bench-consortia-{size.lower()}", "CONSORTIA"))
        session.flush()
    openers = list(
        session.scalars(
            select(User)
            .where(User.primary_id_key.like("bench-opener-%"), User.institution_id.in_([i.id for i in institutions]))
            .order_by(User.institution_id)
        )
    )
    viewer = session.scalars(select(User).where(User.primary_id_key == f"bench-consortia-{size.lower()}")).one()
    return institutions, openers, viewer


def _user(institution: Institution, primary_id: str, level: str) -> User:
    return User(
        institution_id=institution.id,
        primary_id=primary_id,
        primary_id_key=primary_id,
        record_type="STAFF",
        first_name="Bench",
        last_name=primary_id,
        support_level=level,
        email_confirmed=True,
    )


def _insert_cases(database: Database, size: str, openers: list[User]) -> int:
    """Bulk-insert the size's cases (what is missing of them); answers how many were inserted."""
    wanted = CASES[size]
    institution_ids = [user.institution_id for user in openers]
    with database.session() as session:
        present = session.scalar(select(func.count()).where(SupportCase.institution_id.in_(institution_ids))) or 0
    missing = wanted - int(present)
    if missing <= 0:
        return 0
    randomness = random.Random(f"bench-support-{size}")
    now = utcnow()
    two_years = 2 * 365 * 24 * 3600
    inserted = 0
    while inserted < missing:
        count = min(CHUNK, missing - inserted)
        with database.session() as session:
            start = _reserve_numbers(session, count)
            rows: list[dict[str, Any]] = []
            for offset in range(count):
                opener = openers[randomness.randrange(len(openers))]
                updated = now - dt.timedelta(seconds=randomness.randrange(two_years))
                rows.append(
                    {
                        "number": str(start + offset).zfill(8),
                        "institution_id": opener.institution_id,
                        "opened_by_id": opener.id,
                        "subject": f"Bench case {start + offset}",
                        "description": "Synthetic case for the N-5 benchmark.",
                        "issue_type": ISSUE_TYPES[offset % len(ISSUE_TYPES)],
                        "product": "Alma",
                        "priority": PRIORITIES[randomness.randrange(len(PRIORITIES))],
                        "status": STATUSES[randomness.randrange(len(STATUSES))],
                        "share_with": "CONSORTIUM" if randomness.random() < SHARED_SHARE else "INSTITUTION",
                        "created_at": updated - dt.timedelta(days=randomness.randrange(30)),
                        "updated_at": updated,
                        "version": 1,
                    }
                )
            session.execute(insert(SupportCase), rows)
        inserted += count
    return inserted


def _reserve_numbers(session: Session, count: int) -> int:
    """Take `count` consecutive case numbers from the counter; answers the first."""
    row = session.get(CaseNumberCounter, "case", with_for_update=True)
    if row is None:
        highest = session.scalar(select(func.max(SupportCase.number)))
        row = CaseNumberCounter(name="case", value=int(highest) if highest else 0)
        session.add(row)
        session.flush()
    first = row.value + 1
    session.execute(update(CaseNumberCounter).where(CaseNumberCounter.name == "case").values(value=row.value + count))
    return first


def _analyze(database: Database) -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum (PostgreSQL) would soon do."""
    with database.engine.connect() as connection:
        for table in ("consortium", "institution", "user_account", "support_case"):
            connection.execute(text(f"ANALYZE {table}"))
        connection.commit()


PAGE_PATH = "/support/cases?view=partner-cases"


def page_client(database: Database, viewer_id: int) -> TestClient:
    """A client of the application on `database`, signed in as the viewer (a server-side session, as the
    sign-in page makes)."""
    with database.session() as session:
        viewer = session.get(User, viewer_id)
        assert viewer is not None
        token, _web_session = create_web_session(session, viewer, hours=1)

    def bench_session() -> Iterator[Session]:
        with database.session() as session:
            yield session

    app = create_app(start_worker=False)
    app.dependency_overrides[get_session] = bench_session
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def partner_page(client: TestClient) -> int:
    """One request of the page; answers how many case rows it shows."""
    response = client.get(PAGE_PATH)
    if response.status_code != 200 or "Consortium/Partner Cases" not in response.text:
        raise RuntimeError(f"GET {PAGE_PATH} answered {response.status_code}: {response.text[:200]}")
    return response.text.count('id="case-row-')


def run(database: Database, size: str) -> list[dict[str, Any]]:
    if size not in CASES:
        return [
            {
                "name": NAME,
                "figure": None,
                "unit": "ms",
                "target": TARGET_MS,
                "better": "lower",
                "ok": False,
                "error": f"unknown size {size}; use one of {', '.join(CASES)}",
            }
        ]
    with database.session() as session:
        _institutions, openers, viewer = _ensure_places(session, size)
        viewer_id = viewer.id
        session.expunge_all()
    started = time.perf_counter()
    inserted = _insert_cases(database, size, openers)
    if inserted:
        _analyze(database)
    load_seconds = time.perf_counter() - started
    shown = 0
    with page_client(database, viewer_id) as client:
        for _ in range(WARM_UP):
            shown = partner_page(client)
        timings = []
        for _ in range(SAMPLES):
            begin = time.perf_counter()
            partner_page(client)
            timings.append((time.perf_counter() - begin) * 1000)
    p95 = statistics.quantiles(timings, n=20)[-1]
    note = (
        f"GET {PAGE_PATH} in process; {CASES[size]:,} cases ({inserted:,} inserted in {load_seconds:.1f} s), "
        f"{shown} rows a page, median {statistics.median(timings):.1f} ms"
        + ("" if size == "L" else "; the target is set for size L")
    )
    return [
        {
            "name": NAME,
            "figure": p95,
            "unit": "ms",
            "target": TARGET_MS,
            "better": "lower",
            "ok": p95 <= TARGET_MS,
            "note": note,
        }
    ]

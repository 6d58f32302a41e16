"""The platform's part of the synthetic data at scale (`consortia generate`, SPEC N; run by `consortia.generate`).

Size L is SPEC N's: 20 institutions with 5 libraries each (100), a fulfillment network of 10 of them,
and 1,000,000 patrons. The patrons live in the network's 10 institutions, 100,000 each, which is the
shape N-4 measures walk-in search over; the other 10 institutions have staff only. S is 1% of L and
M 10% (XS, 0.1%, is for smoke tests): the volumes scale, the structure (institutions, libraries,
network, staff) does not.

Each size gets its own institutions (codes `GS01`…`GS20` for S, `GM01`… for M, `GL01`… for L), so that
sizes can live side by side in one database. Every institution has the staff of `STAFF` (`gs01-admin`,
`gs01-eio-lib`, …), who sign in with the demo password; patrons are `gs01-0000001`, `gs01-0000002`, ….

The work is split into steps (`consortia.generate` runs each once, in one transaction that also writes
the step's marker, a history row of entity `generated_data`): running a size again skips the steps
already done, and an interrupted run resumes with the step it was in.

Rows are written set-based: patrons with inserts of 10,000 rows at a time, their identifiers, roles and blocks
with `INSERT ... SELECT`. Other domains add their own volumes (portfolios, cases) on top, each
through its `Domain.generate(context, step)`: `step(name, run)` runs `run(session, context)`, which
writes every row of its step in the session it is given (one transaction) and may open progress lines
with `context.task(...)`. `GenerationContext` is what every step knows of the generated structure.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.progress import Progress
from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.db import Database, today, utcnow
from consortia.platform.auth import hash_password
from consortia.platform.codetables import starter_rows
from consortia.platform.demo import DEMO_PASSWORD
from consortia.platform.models import (
    CodeTableRow,
    Consortium,
    FulfillmentNetwork,
    FulfillmentNetworkMember,
    Institution,
    InstitutionEmailDomain,
    Library,
    User,
    UserBlock,
    UserIdentifier,
    UserRole,
)

# SPEC N at size L. Portfolios and cases are built by their domains' generators from these figures.
INSTITUTIONS = 20
LIBRARIES_PER_INSTITUTION = 5
NETWORK_INSTITUTIONS = 10
PATRONS = 1_000_000
PORTFOLIOS = 2_000_000
AGGREGATOR_PORTFOLIOS = 1_000_000
CASES = 1_000_000

BATCH = 10_000
MARKER_ENTITY = "generated_data"
MARKER_ACTOR = "consortia generate"

PATRON_GROUPS = ("UNDERGRAD", "UNDERGRAD", "UNDERGRAD", "GRAD", "GRAD", "FACULTY", "GUEST", "WALKIN")

# Staff of every generated institution: primary id suffix, roles (library number or None), support level.
STAFF: tuple[tuple[str, tuple[tuple[str, int | None], ...], str], ...] = (
    ("admin", ((R.GENERAL_SYSTEM_ADMINISTRATOR, None),), "STANDARD"),
    ("users", ((R.USER_ADMINISTRATOR, None),), "NONE"),
    ("desk", ((R.CIRCULATION_DESK_OPERATOR, None),), "NONE"),
    ("eio", ((R.ELECTRONIC_INVENTORY_OPERATOR, None),), "NONE"),
    ("eio-lib", ((R.ELECTRONIC_INVENTORY_OPERATOR, 1), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, 2)), "NONE"),
    ("repo", ((R.REPOSITORY_MANAGER, None),), "NONE"),
    ("standard", (), "STANDARD"),
    ("consortia", (), "CONSORTIA"),
)

FIRST_NAMES = (
    "Aaliyah", "Ahmed", "Alice", "Andrei", "Anya", "Ben", "Carla", "Chen", "Dario", "Dana", "Emeka", "Emma",
    "Fatima", "Felix", "Grace", "Hugo", "Ines", "Isaac", "Jonas", "Julia", "Kai", "Kenji", "Laila", "Leo",
    "Maya", "Mohammed", "Nia", "Noah", "Olga", "Omar", "Pablo", "Paula", "Rahul", "Rina", "Sara", "Sven",
    "Tomas", "Tuva", "Victor", "Yara",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Andersen", "Bauer", "Bianchi", "Chowdhury", "Costa", "Dimitrov", "Duarte", "Ekström",
    "Fernandes", "Fontaine", "Gallagher", "Gomez", "Hansen", "Horvath", "Iyer", "Jovanovic", "Kaplan",
    "Kim", "Lindqvist", "Lopez", "Mbeki", "Meyer", "Novak", "O'Brien", "Park", "Pereira", "Popescu",
    "Reyes", "Sato", "Silva", "Smith", "Svensson", "Takahashi", "Van Dijk", "Wagner", "Weiss", "Wong",
    "Yamamoto", "Zielinski",
)  # fmt: skip


@dataclass
class GenerationContext:
    """What the generated structure of one size is, for the steps and the benchmarks that use it.

    `institutions` maps codes to ids in order; `libraries` maps an institution code to its libraries
    `(id, code)`; `staff` maps staff primary ids to user ids; `seed` makes the random parts repeatable.
    `task` opens a progress bar line.
    """

    database: Database
    size: str
    fraction: float
    consortia: dict[str, int] = field(default_factory=dict)
    institutions: dict[str, int] = field(default_factory=dict)
    libraries: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    network_code: str = ""
    network_institutions: list[str] = field(default_factory=list)
    staff: dict[str, int] = field(default_factory=dict)
    seed: int = 20240601
    progress: Progress | None = None

    def scaled(self, full_size: int) -> int:
        """A size-L figure at this size (at least 1)."""
        return max(1, round(full_size * self.fraction))

    @property
    def patrons_per_institution(self) -> int:
        return self.scaled(PATRONS) // NETWORK_INSTITUTIONS or 1

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """A progress bar line; the returned function advances it."""
        if self.progress is None:
            return lambda _n: None
        task_id = self.progress.add_task(description, total=total)
        progress = self.progress
        return lambda n: progress.advance(task_id, n)


Run = Callable[[Session, GenerationContext], None]
# Runs one named step of a domain's generation once (the orchestrator's `consortia.generate._step`).
Step = Callable[[str, Run], None]


# --- names of generated things --------------------------------------------------------------------


def institution_code(size: str, number: int) -> str:
    return f"G{size}{number:02d}"


def consortium_code(size: str, letter: str) -> str:
    return f"G{size}_{letter}"


def network_code(size: str) -> str:
    return f"G{size}_FN"


def library_code(institution: str, number: int) -> str:
    return f"{institution}_L{number}"


def staff_id(institution: str, suffix: str) -> str:
    """The primary id of a generated staff user (`gs01-admin`); unique across institutions."""
    return f"{institution.lower()}-{suffix}"


def patron_id(institution: str, number: int) -> str:
    """The primary id of generated patron `number` (from 1) of `institution` (`gs01-0000001`)."""
    return f"{institution.lower()}-{number:07d}"


# --- the platform's steps -------------------------------------------------------------------------


def generate_platform(context: GenerationContext, step: Step) -> None:
    """The platform's steps: tenancy and staff, then the patrons of each network institution."""
    step("tenancy", _generate_tenancy)
    load_structure(context)
    for code in context.network_institutions:
        step(f"patrons:{code}", _patrons_of(code, context.seed))


def _generate_tenancy(session: Session, context: GenerationContext) -> None:
    size = context.size
    advance = context.task(f"[{size}] consortia, institutions, libraries, staff", INSTITUTIONS)
    now = utcnow()
    consortia = {}
    for letter, sharing in (("A", True), ("B", False)):
        code = consortium_code(size, letter)
        row = Consortium(
            code=code,
            name=f"Generated Consortium {letter} ({size})",
            parent_account=f"{code} Parent Account",
            case_sharing_enabled=sharing,
            created_at=now,
        )
        session.add(row)
        consortia[letter] = row
    session.flush()
    institutions = []
    for number in range(1, INSTITUTIONS + 1):
        code = institution_code(size, number)
        institution = Institution(
            code=code,
            name=f"Generated Institution {number:02d} ({size})",
            consortium_id=consortia["A" if number <= NETWORK_INSTITUTIONS else "B"].id,
            registration_token=f"reg-{code.lower()}",
            created_at=now,
        )
        session.add(institution)
        institutions.append(institution)
    session.flush()
    library_rows: list[dict[str, Any]] = []
    code_rows: list[dict[str, Any]] = []
    for institution in institutions:
        session.add(
            InstitutionEmailDomain(institution_id=institution.id, domain=f"{institution.code.lower()}.example.org")
        )
        for number in range(1, LIBRARIES_PER_INSTITUTION + 1):
            library_rows.append(
                {
                    "institution_id": institution.id,
                    "code": library_code(institution.code, number),
                    "name": f"{institution.code} Library {number}",
                    "campus": f"Campus {1 + (number - 1) // 2}",
                    "resource_sharing": True,
                }
            )
        code_rows.extend(starter_rows(institution.id))
    session.execute(insert(Library), library_rows)
    session.execute(insert(CodeTableRow), code_rows)
    network = FulfillmentNetwork(code=network_code(size), name=f"Generated Fulfillment Network ({size})")
    session.add(network)
    session.flush()
    session.execute(
        insert(FulfillmentNetworkMember),
        [{"network_id": network.id, "institution_id": i.id} for i in institutions[:NETWORK_INSTITUTIONS]],
    )
    libraries = {
        code: library_id
        for library_id, code in session.execute(
            select(Library.id, Library.code).where(Library.institution_id.in_([i.id for i in institutions]))
        )
    }
    password_hash = _demo_password_hash()
    for institution in institutions:
        staff_rows = [
            _user_row(
                institution.id,
                staff_id(institution.code, suffix),
                now=now,
                record_type="STAFF",
                user_group="STAFF",
                first_name=suffix.replace("-", " ").title(),
                last_name=f"Staff {institution.code}",
                support_level=level,
                password_hash=password_hash,
                email=f"{staff_id(institution.code, suffix)}@{institution.code.lower()}.example.org",
            )
            for suffix, _roles, level in STAFF
        ]
        session.execute(insert(User), staff_rows)
        ids = dict(
            session.execute(
                select(User.primary_id, User.id).where(
                    User.institution_id == institution.id, User.record_type == "STAFF"
                )
            ).all()
        )
        role_rows = [
            {
                "user_id": ids[staff_id(institution.code, suffix)],
                "role_type": role_type,
                "library_id": libraries[library_code(institution.code, number)] if number else None,
                "status": "ACTIVE",
                "expiry_date": None,
            }
            for suffix, roles, _level in STAFF
            for role_type, number in roles
        ]
        session.execute(insert(UserRole), role_rows)
        advance(1)


def _demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)


def load_structure(context: GenerationContext) -> None:
    """Read what the tenancy step made (codes to ids, the network, the staff) into `context`."""
    size = context.size
    with context.database.session() as session:
        codes = [institution_code(size, n) for n in range(1, INSTITUTIONS + 1)]
        context.consortia = dict(
            session.execute(
                select(Consortium.code, Consortium.id).where(
                    Consortium.code.in_([consortium_code(size, "A"), consortium_code(size, "B")])
                )
            ).all()
        )
        found = dict(session.execute(select(Institution.code, Institution.id).where(Institution.code.in_(codes))).all())
        context.institutions = {code: found[code] for code in codes if code in found}
        context.libraries = {}
        for library_id, code, institution_id in session.execute(
            select(Library.id, Library.code, Library.institution_id)
            .where(Library.institution_id.in_(list(found.values())))
            .order_by(Library.code)
        ):
            owner = next(c for c, i in found.items() if i == institution_id)
            context.libraries.setdefault(owner, []).append((library_id, code))
        context.network_code = network_code(size)
        context.network_institutions = list(
            session.scalars(
                select(Institution.code)
                .join(FulfillmentNetworkMember, FulfillmentNetworkMember.institution_id == Institution.id)
                .join(FulfillmentNetwork, FulfillmentNetwork.id == FulfillmentNetworkMember.network_id)
                .where(FulfillmentNetwork.code == context.network_code)
                .order_by(Institution.code)
            )
        )
        context.staff = dict(
            session.execute(
                select(User.primary_id, User.id).where(
                    User.institution_id.in_(list(found.values())), User.record_type == "STAFF"
                )
            ).all()
        )


def _user_row(institution_id: int, primary_id: str, *, now: dt.datetime, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "institution_id": institution_id,
        "is_operator": False,
        "primary_id": primary_id,
        "primary_id_key": primary_id.lower(),
        "record_type": "PUBLIC",
        "account_type": "INTERNAL",
        "status": "ACTIVE",
        "user_group": "",
        "first_name": "",
        "middle_name": "",
        "last_name": "",
        "email": "",
        "phone": "",
        "birth_date": None,
        "job_category": "",
        "preferred_language": "",
        "expiry_date": None,
        "purge_date": None,
        "support_level": "NONE",
        "email_confirmed": True,
        "password_hash": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    row.update(fields)
    return row


def _patrons_of(code: str, seed: int) -> Callable[[Session, GenerationContext], None]:
    def run(session: Session, context: GenerationContext) -> None:
        _generate_patrons(session, context, code, seed)

    return run


def _generate_patrons(session: Session, context: GenerationContext, code: str, seed: int) -> None:
    """The patrons of one network institution with their identifiers, PATRON roles and a few blocks.

    Every patron has a BARCODE (`GS01-0000001`) and a UNIV_ID (`U-GS01-0000001`); every tenth also a
    CONSORTIAL_ID; every fiftieth is INACTIVE; every hundredth has a network block.
    """
    institution_id = context.institutions[code]
    count = context.patrons_per_institution
    advance = context.task(f"[{context.size}] patrons of {code}", count)
    rng = random.Random(f"{seed}:{code}")
    now = utcnow()
    start = today()
    batch: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        expiry = start + dt.timedelta(days=rng.randint(-60, 1500))
        batch.append(
            _user_row(
                institution_id,
                patron_id(code, number),
                now=now,
                status="INACTIVE" if number % 50 == 0 else "ACTIVE",
                user_group=PATRON_GROUPS[number % len(PATRON_GROUPS)],
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{number}@{code.lower()}.example.org".lower().replace(" ", "").replace("'", ""),
                birth_date=dt.date(1950 + rng.randint(0, 55), rng.randint(1, 12), rng.randint(1, 28)),
                expiry_date=expiry,
                purge_date=expiry + dt.timedelta(days=365),
            )
        )
        if len(batch) == BATCH:
            session.execute(insert(User), batch)
            advance(len(batch))
            batch = []
    if batch:
        session.execute(insert(User), batch)
        advance(len(batch))
    _derive_patron_rows(session, institution_id, code)


def _derive_patron_rows(session: Session, institution_id: int, code: str) -> None:
    """Identifiers, roles and blocks of the institution's generated patrons, `INSERT ... SELECT`."""
    # Characters of `patron_id`: "<code>-" then seven digits; `number` is those digits.
    start = len(code) + 2
    number = func.substr(User.primary_id, start, 7)
    last_digit = func.substr(User.primary_id, start + 6, 1)
    last_two = func.substr(User.primary_id, start + 5, 2)
    patrons = select(User).where(User.institution_id == institution_id, User.record_type == "PUBLIC")

    identifier_columns = ["user_id", "institution_id", "id_type", "value", "value_key", "status"]
    for id_type, value, key, only in (
        ("BARCODE", literal(f"{code}-") + number, literal(f"{code.lower()}-") + number, None),
        ("UNIV_ID", literal(f"U-{code}-") + number, literal(f"u-{code.lower()}-") + number, None),
        ("CONSORTIAL_ID", literal(f"C-{code}-") + number, literal(f"c-{code.lower()}-") + number, last_digit == "0"),
    ):
        selected = patrons.with_only_columns(
            User.id, User.institution_id, literal(id_type), value, key, literal("ACTIVE")
        )
        if only is not None:
            selected = selected.where(only)
        session.execute(insert(UserIdentifier).from_select(identifier_columns, selected))

    session.execute(
        insert(UserRole).from_select(
            ["user_id", "role_type", "library_id", "status", "expiry_date"],
            patrons.with_only_columns(User.id, literal(R.PATRON), literal(None), literal("ACTIVE"), User.expiry_date),
        )
    )
    session.execute(
        insert(UserBlock).from_select(
            ["user_id", "block_type", "description", "note", "network", "status", "created_at"],
            patrons.where(last_two == "00").with_only_columns(
                User.id,
                literal("GENERAL"),
                literal("Overdue fines in the network"),
                literal(""),
                literal(True),
                literal("ACTIVE"),
                literal(utcnow()),
            ),
        )
    )

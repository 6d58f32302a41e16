"""Electronic inventory volumes for `consortia generate` (SPEC N, N-1, N-2), each institution's
volumes one step (`generate_eresources`, handed over in `eresources.domain`).

Size L has 2,000,000 portfolios (S 20,000): one aggregator collection of 1,000,000 (S 10,000) in the
first institution, at institution level, each of its portfolios with a library of its own (so that
setting the collection's library, N-2, clears a million); the other million spread evenly over the 20
institutions, each with five collections (two with a library, three without) holding four in five of
its portfolios, the rest standalone; portfolios' own libraries rotate over the institution's libraries
and none. Every generated institution has the scope switch on. One bibliographic record (MARCXML)
serves ten portfolios, as one title is in several packages.

Rows are written in multi-row INSERTs of `BATCH` rows with ids handed out in blocks (PostgreSQL's
sequences are moved past them at the end); one step per institution (`eresources:01`, …), so an
interrupted run resumes with the institution it was in. Generated rows carry no history of their own
(they were never changed by anyone): the marker of the step says where they came from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from consortia.db import today, utcnow
from consortia.eresources.models import BibRecord, ElectronicCollection, ElectronicService, Portfolio
from consortia.eresources.policy import SWITCH
from consortia.platform.generate import (
    AGGREGATOR_PORTFOLIOS,
    BATCH,
    INSTITUTIONS,
    PORTFOLIOS,
    GenerationContext,
    Step,
    institution_code,
)
from consortia.platform.models import InstitutionParameter

PORTFOLIOS_PER_BIB = 10
COLLECTIONS_PER_INSTITUTION = 5
LIBRARY_COLLECTIONS = 2  # of the five, the first two have a library
STANDALONE_EVERY = 5
AGGREGATOR_NAME = "Generated Aggregator Package"
WORDS = (
    "Journal", "Review", "Letters", "Annals", "Studies", "Quarterly", "Bulletin", "Proceedings", "Reports",
    "Archives", "Transactions", "Advances", "Perspectives", "Frontiers", "Research",
)  # fmt: skip
FIELDS = (
    "Chemistry", "Law", "Economics", "Physics", "History", "Medicine", "Ecology", "Linguistics", "Engineering",
    "Mathematics", "Philosophy", "Sociology", "Astronomy", "Geology", "Music", "Nursing",
)  # fmt: skip
MARCXML = (
    '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nas a2200000 a 4500</leader>'
    '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">{title}</subfield></datafield>'
    '<datafield tag="022" ind1=" " ind2=" "><subfield code="a">{issn}</subfield></datafield></record>'
)


def _title(number: int) -> str:
    return f"{WORDS[number % len(WORDS)]} of {FIELDS[(number // len(WORDS)) % len(FIELDS)]} {number}"


def _issn(number: int) -> str:
    digits = f"{number % 10_000_000:07d}"
    return f"{digits[:4]}-{digits[4:]}X"


def _next_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0) + 1


def _bibs(session: Session, institution_id: int, count: int, first_number: int) -> list[tuple[int, str, str]]:
    """Insert `count` records; answers (id, title, issn) of each."""
    start = _next_id(session, BibRecord)
    now = utcnow()
    made = []
    for offset in range(0, count, BATCH):
        rows = []
        for n in range(offset, min(count, offset + BATCH)):
            number = first_number + n
            title, issn = _title(number), _issn(number)
            rows.append(
                {
                    "id": start + n,
                    "institution_id": institution_id,
                    "title": title,
                    "author": "",
                    "issn": issn,
                    "isbn": "",
                    "marcxml": MARCXML.format(title=title, issn=issn),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            made.append((start + n, title, issn))
        session.execute(insert(BibRecord), rows)
    return made


def _collection(session: Session, institution_id: int, name: str, library_id: int | None, kind: str) -> tuple[int, int]:
    collection = ElectronicCollection(
        institution_id=institution_id,
        public_name=name,
        type=kind,
        library_id=library_id,
        is_local=True,
        activation_date=today(),
        vendor="Generated",
    )
    session.add(collection)
    session.flush()
    service = ElectronicService(institution_id=institution_id, collection_id=collection.id, type="getFullTxt")
    session.add(service)
    session.flush()
    return collection.id, service.id


def _portfolios(
    session: Session,
    institution_id: int,
    placements: list[tuple[int | None, int | None, int | None]],
    bibs: list[tuple[int, str, str]],
    advance: Any,
) -> None:
    """Insert one portfolio per placement (collection, service, own library), ten to a record."""
    start = _next_id(session, Portfolio)
    now = utcnow()
    day = today()
    for offset in range(0, len(placements), BATCH):
        rows = []
        for n in range(offset, min(len(placements), offset + BATCH)):
            collection_id, service_id, library_id = placements[n]
            bib_id, title, issn = bibs[n // PORTFOLIOS_PER_BIB]
            rows.append(
                {
                    "id": start + n,
                    "institution_id": institution_id,
                    "bib_id": bib_id,
                    "collection_id": collection_id,
                    "service_id": service_id,
                    "library_id": library_id,
                    "title": title,
                    "issn": issn,
                    "isbn": "",
                    "availability": "11",
                    "coverage": "",
                    "is_local": True,
                    "cz_portfolio_id": None,
                    "po_line": "",
                    "license": "",
                    "activation_date": day,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
        session.execute(insert(Portfolio), rows)
        advance(len(rows))


def _generate_institution(number: int) -> Any:
    def run(session: Session, context: GenerationContext) -> None:
        code = institution_code(context.size, number)
        institution_id = context.institutions[code]
        libraries = [library_id for library_id, _code in context.libraries.get(code, [])]
        if session.get(InstitutionParameter, (institution_id, SWITCH)) is None:
            session.add(InstitutionParameter(institution_id=institution_id, name=SWITCH, value=True))
        rotation: list[int | None] = [*libraries, None]
        placements: list[tuple[int | None, int | None, int | None]] = []
        if number == 1:
            cid, sid = _collection(session, institution_id, AGGREGATOR_NAME, None, "1")
            aggregator = context.scaled(AGGREGATOR_PORTFOLIOS)
            placements += [(cid, sid, libraries[n % len(libraries)] if libraries else None) for n in range(aggregator)]
        per_institution = (context.scaled(PORTFOLIOS) - context.scaled(AGGREGATOR_PORTFOLIOS)) // INSTITUTIONS
        collections = []
        for c in range(COLLECTIONS_PER_INSTITUTION):
            library = libraries[c % len(libraries)] if libraries and c < LIBRARY_COLLECTIONS else None
            collections.append(_collection(session, institution_id, f"{code} Package {c + 1}", library, "0"))
        for n in range(per_institution):
            own = rotation[n % len(rotation)]
            if n % STANDALONE_EVERY == 0:
                placements.append((None, None, own))
            else:
                cid, sid = collections[n % len(collections)]
                placements.append((cid, sid, own))
        bibs = _bibs(session, institution_id, -(-len(placements) // PORTFOLIOS_PER_BIB), number * 10_000_000)
        advance = context.task(f"portfolios of {code}", len(placements))
        _portfolios(session, institution_id, placements, bibs, advance)
        if session.get_bind().dialect.name == "postgresql":
            for table in ("bib_record", "portfolio", "electronic_collection", "electronic_service"):
                session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )

    return run


def generate_eresources(context: GenerationContext, step: Step) -> None:
    """The electronic inventory of each generated institution, one step each."""
    for number in range(1, INSTITUTIONS + 1):
        step(f"eresources:{number:02d}", _generate_institution(number))


def aggregator_collection_id(session: Session, context: GenerationContext) -> int | None:
    """The generated aggregator collection of this size (for the benchmarks)."""
    institution_id = context.institutions.get(institution_code(context.size, 1))
    return session.scalar(
        select(ElectronicCollection.id).where(
            ElectronicCollection.institution_id == institution_id, ElectronicCollection.public_name == AGGREGATOR_NAME
        )
    )

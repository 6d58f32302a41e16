"""Repository Import (ER-22, N-3, R-1, R-5): an uploaded MARC file loaded by a checkpointed job.

`submit_import` stores the file (in `import_file_part` rows, in the submitting transaction) and submits
the "Repository Import" job with the profile and the file. The job reads the file from its checkpoint
(the byte offset of the next record and the number of records done), a chunk of records at a time,
streaming (memory stays flat whatever the file's size). Per chunk: the records are framed and parsed
(`marc_files`), broken ones become ERROR events `{record: n}` and never stop the good ones; records
whose key (their 001, else a hash of their bytes) the institution imported already are counted and
skipped (R-5); the rest are created with one executemany per table (bibliographic records, portfolios,
keys; their ids reserved first, so that no row is read back) and their history with `INSERT ... SELECT`.
The runner commits the chunk with the checkpoint (R-1). N-3: no ORM object and no SELECT per record.

The portfolio library, per record, for REPOSITORY profiles (the seed's "Repository Import"):

- standalone: created, with the library extracted from the profile's field;
- part of a collection with a library: extracted library equal to the collection's (or no value) →
  created (inheriting it); a different one → skipped ("Electronic portfolio skipped due to library
  conflict with the electronic collection library");
- a value that names no library of the institution: the Default library is used instead.

INVENTORY_UPDATE and NEW_ORDER profiles ignore the library (their portfolios get none).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import pymarc
from sqlalchemy import String, Table, cast, insert, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.audit.service import history_insert_from_select
from consortia.config import get_settings
from consortia.db import Base, reserve_ids, today, utcnow
from consortia.eresources import marc_files as mf
from consortia.eresources import policy as scope
from consortia.eresources.import_models import (
    PART_BYTES,
    PART_OF_COLLECTION,
    REPOSITORY,
    ImportedRecord,
    ImportFile,
    ImportFilePart,
    ImportProfile,
)
from consortia.eresources.models import BibRecord, ElectronicCollection, Portfolio
from consortia.errors import BadRequest, DomainError
from consortia.jobs import registry
from consortia.jobs import service as jobs
from consortia.jobs.models import JobInstance
from consortia.jobs.registry import ChunkResult, CounterDefinition, JobEventNote, JobParameter, chunk_size, job_actor
from consortia.platform.models import Library

REPOSITORY_IMPORT = "M2102"
CHUNK = 5_000
BIB = "bib"
CREATED, PORTFOLIOS, CONFLICT, DEFAULT_USED, ALREADY, INVALID = (
    "records_imported",
    "portfolios_created",
    "library_conflict",
    "default_library_used",
    "records_already_imported",
    "records_invalid",
)
CONFLICT_LABEL = "Electronic portfolio skipped due to library conflict with the electronic collection library"


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "PAYLOAD_TOO_LARGE"


# --- the file -----------------------------------------------------------------------------------


def max_upload_bytes() -> int:
    return get_settings().max_upload_bytes


def store_file(session: Session, profile: ImportProfile, filename: str, stream: BinaryIO) -> ImportFile:
    """Keep an uploaded file in parts; 413 above the configured size, 400 when empty or not MARC."""
    limit = max_upload_bytes()
    row = ImportFile(
        institution_id=profile.institution_id,
        profile_id=profile.id,
        filename=filename[:300],
        format="",
        size=0,
        sha256="",
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    digest = hashlib.sha256()
    size = seq = 0
    while True:
        part = stream.read(PART_BYTES)
        if not part:
            break
        size += len(part)
        if size > limit:
            raise PayloadTooLarge(f"file: the file is larger than the {limit} bytes an import takes.")
        if seq == 0:
            found = mf.detect_format(part)
            if found is None:
                raise BadRequest("file: the file is neither binary MARC21 nor MARCXML; nothing was loaded.", "40166411")
            if found == mf.MARCXML and mf.has_doctype(part):
                raise BadRequest("file: a MARCXML file may not carry a DOCTYPE or entities.", "40166411")
            row.format = found
        digest.update(part)
        session.execute(insert(ImportFilePart), [{"file_id": row.id, "seq": seq, "data": part}])
        seq += 1
    if size == 0:
        raise BadRequest("file: the file is empty; nothing was loaded.", "40166411")
    row.size, row.sha256 = size, digest.hexdigest()
    session.flush()
    return row


def file_blocks(session: Session, file_id: int, offset: int) -> Iterator[bytes]:
    """The file's bytes from `offset`, one stored part at a time."""
    seq, skip = divmod(offset, PART_BYTES)
    while True:
        data = session.scalar(
            select(ImportFilePart.data).where(ImportFilePart.file_id == file_id, ImportFilePart.seq == seq)
        )
        if data is None:
            return
        yield bytes(data[skip:]) if skip else bytes(data)
        skip, seq = 0, seq + 1


def submit_import(
    session: Session, identity: Identity, profile: ImportProfile, filename: str, stream: BinaryIO
) -> JobInstance:
    """Store the file and submit "Repository Import" with it (the caller commits)."""
    kind = registry.job_kind(REPOSITORY_IMPORT)
    assert kind is not None
    stored = store_file(session, profile, filename, stream)
    return jobs.submit(
        session,
        identity,
        kind,
        {"profile_id": str(profile.id), "file_id": str(stored.id)},
        related=("import_profile", profile.id),
    )


# --- one record -----------------------------------------------------------------------------------

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEEDS_WORK = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff&<>"]')


def _xml(text: str) -> str:
    if _NEEDS_WORK.search(text) is None:  # most values: one scan, nothing to escape
        return text
    text = _INVALID_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def to_marcxml(record: pymarc.Record) -> str:
    """The record as one MARCXML `<record>` (what `BibRecord.marcxml` keeps), written directly."""
    parts = [f'<record xmlns="{mf.MARC_NS}"><leader>{_xml(str(record.leader))}</leader>']
    for field in record.fields:
        if field.is_control_field():
            parts.append(f'<controlfield tag="{_xml(field.tag)}">{_xml(field.data or "")}</controlfield>')
            continue
        first, second = (field.indicators or ("", ""))[:2] if field.indicators else (" ", " ")
        parts.append(f'<datafield tag="{_xml(field.tag)}" ind1="{_xml(first or " ")}" ind2="{_xml(second or " ")}">')
        parts.extend(f'<subfield code="{_xml(s.code)}">{_xml(s.value or "")}</subfield>' for s in field.subfields)
        parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)


def _first(record: pymarc.Record, tag: str, *codes: str) -> str:
    for found in record.get_fields(tag):
        values = [v.strip() for v in found.get_subfields(*codes) if v and v.strip()]
        if values:
            return " ".join(values).rstrip(" /:;,.").strip()
    return ""


@dataclass(frozen=True)
class Facts:
    key: str
    title: str
    author: str
    issn: str
    isbn: str
    library_value: str
    marcxml: str


def record_key(record: pymarc.Record, raw: bytes) -> str:
    """The record's deterministic key: its control number (001), else a digest of its bytes."""
    control = record.get("001")
    number = (control.data or "").strip() if control is not None and control.data else ""
    if number and len(number) <= 70:
        return f"001:{number}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def facts_of(record: pymarc.Record, raw: bytes, profile: ImportProfile) -> Facts:
    title = _first(record, "245", "a", "b")
    if not title:
        raise mf.MarcProblem("the record has no title (field 245 $a)")
    library_value = ""
    if profile.type == REPOSITORY and profile.library_tag and profile.library_subfield:
        library_value = _first(record, profile.library_tag, profile.library_subfield)
    return Facts(
        key=record_key(record, raw),
        title=title[:500],
        author=_first(record, "100", "a")[:300],
        issn=_first(record, "022", "a")[:40],
        isbn=_first(record, "020", "a")[:40],
        library_value=library_value,
        marcxml=to_marcxml(record),
    )


# --- the job --------------------------------------------------------------------------------------


def _profile_id(session: Session, institution_id: int | None, value: str) -> str:
    text = value.strip()
    found = (
        session.get(ImportProfile, int(text)) if text.isdecimal() and len(text) <= 10 and int(text) < 2**31 else None
    )
    if found is None or found.institution_id != institution_id:
        raise BadRequest(
            f"Param value is invalid: profile_id {value} is not an import profile of the institution.", "401871"
        )
    return str(found.id)


def _file_id(session: Session, institution_id: int | None, value: str) -> str:
    text = value.strip()
    found = session.get(ImportFile, int(text)) if text.isdecimal() and len(text) <= 10 and int(text) < 2**31 else None
    if found is None or found.institution_id != institution_id or not found.format:
        raise BadRequest(
            f"Param value is invalid: file_id {value} is not a file uploaded to the institution.", "40166411"
        )
    return str(found.id)


@dataclass(frozen=True)
class Plan:
    """What the profile asks of every record: the collection and service, their library, the libraries."""

    profile: ImportProfile
    collection_id: int | None
    service_id: int | None
    collection_library_id: int | None
    libraries: dict[str, int]

    @classmethod
    def of(cls, session: Session, profile: ImportProfile) -> Plan:
        collection_library = None
        if profile.portfolio_type == PART_OF_COLLECTION and profile.collection_id is not None:
            collection_library = session.scalar(
                select(ElectronicCollection.library_id).where(ElectronicCollection.id == profile.collection_id)
            )
        libraries = {
            code.upper(): i
            for i, code in session.execute(
                select(Library.id, Library.code).where(Library.institution_id == profile.institution_id)
            )
        }
        in_collection = profile.portfolio_type == PART_OF_COLLECTION
        return cls(
            profile,
            profile.collection_id if in_collection else None,
            profile.service_id if in_collection else None,
            collection_library,
            libraries,
        )

    def library_for(self, value: str) -> tuple[bool, int | None, bool]:
        """(create the portfolio?, its own library, was the Default library used?)."""
        if self.profile.type != REPOSITORY:
            return True, None, False
        library_id, defaulted = None, False
        if value:
            library_id = self.libraries.get(value.strip().upper())
            if library_id is None:
                library_id, defaulted = self.profile.default_library_id, self.profile.default_library_id is not None
        if self.collection_id is not None and self.collection_library_id is not None:
            if library_id is not None and library_id != self.collection_library_id:
                return False, None, defaulted
            return True, None, defaulted  # the portfolio inherits the collection's library (ER-8)
        return True, library_id, defaulted


def _start(session: Session, instance: JobInstance) -> dict[str, Any]:
    stored = session.get(ImportFile, int((instance.parameters or {})["file_id"]))
    if stored is None or stored.institution_id != instance.institution_id:
        raise DomainError("The uploaded file no longer exists.")
    head = next(file_blocks(session, stored.id, 0), b"")[:4096]
    encoding = mf.xml_encoding(head) if stored.format == mf.MARCXML else None
    return {"offset": 0, "record": 0, "size": stored.size, "format": stored.format, "encoding": encoding}


def _import_chunk(session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None) -> ChunkResult:
    state = dict(checkpoint) if checkpoint else _start(session, instance)
    parameters = instance.parameters or {}
    profile = session.get(ImportProfile, int(parameters["profile_id"]))
    if profile is None or profile.institution_id != instance.institution_id:
        raise DomainError("The import profile no longer exists.")
    plan = Plan.of(session, profile)
    limit = chunk_size(CHUNK)
    xml = state["format"] == mf.MARCXML
    framer = mf.frame_marcxml if xml else mf.frame_marc21
    number, offset, done = int(state["record"]), int(state["offset"]), True
    events: list[JobEventNote] = []
    good: list[tuple[int, Facts]] = []
    for framed in framer(file_blocks(session, int(parameters["file_id"]), offset), offset):
        number += 1
        offset = framed.next_offset
        try:
            if framed.raw is None:
                raise mf.MarcProblem(framed.problem)
            record = mf.parse_marcxml_record(framed.raw, state.get("encoding")) if xml else mf.parse_marc21(framed.raw)
            good.append((number, facts_of(record, framed.raw, profile)))
        except mf.MarcProblem as exc:
            events.append(JobEventNote(registry.ERROR, f"Record {number} was not imported: {exc}.", number))
        if number - int(state["record"]) >= limit:
            done = False
            break
    counters = dict.fromkeys((CREATED, PORTFOLIOS, CONFLICT, DEFAULT_USED, ALREADY), 0)
    counters[INVALID] = len(events)
    known = (
        set(
            session.scalars(
                select(ImportedRecord.record_key).where(
                    ImportedRecord.institution_id == instance.institution_id,
                    ImportedRecord.record_key.in_({facts.key for _, facts in good}),
                )
            )
        )
        if good
        else set()
    )
    bibs: list[dict[str, Any]] = []
    plans: list[tuple[Facts, int | None]] = []
    now, actor = utcnow(), job_actor(session, instance)
    for n, facts in good:
        if facts.key in known:
            counters[ALREADY] += 1
            continue
        create, library_id, defaulted = plan.library_for(facts.library_value)
        counters[DEFAULT_USED] += int(defaulted)
        if not create:
            counters[CONFLICT] += 1
            events.append(
                JobEventNote(
                    registry.WARNING,
                    f"Record {n}: {CONFLICT_LABEL} (library {facts.library_value!r}).",
                    n,
                )
            )
            continue
        known.add(facts.key)
        bibs.append(
            {
                "institution_id": instance.institution_id,
                "title": facts.title,
                "author": facts.author,
                "issn": facts.issn,
                "isbn": facts.isbn,
                "marcxml": facts.marcxml,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        plans.append((facts, library_id))
    if bibs:
        _create(session, instance, plan, bibs, plans, actor)
        counters[CREATED] = counters[PORTFOLIOS] = len(bibs)
    state["record"], state["offset"] = number, offset
    return ChunkResult(
        checkpoint=state,
        done=done,
        progress=offset * 100 // max(int(state["size"]), 1),
        counters=counters,
        events=events,
    )


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def _create(
    session: Session,
    instance: JobInstance,
    plan: Plan,
    bibs: list[dict[str, Any]],
    plans: list[tuple[Facts, int | None]],
    actor: Any,
) -> None:
    """The chunk's records, portfolios and keys: ids reserved up front, then one executemany per table
    (Core, no ORM objects), and the history rows by `INSERT ... SELECT` over the new ids."""
    bib_ids = reserve_ids(session, _table(BibRecord), len(bibs))
    portfolio_ids = reserve_ids(session, _table(Portfolio), len(bibs))
    for row, bib_id in zip(bibs, bib_ids, strict=True):
        row["id"] = bib_id
    session.execute(insert(_table(BibRecord)), bibs)
    now, activated = bibs[0]["created_at"], today()
    session.execute(
        insert(_table(Portfolio)),
        [
            {
                "id": portfolio_id,
                "institution_id": instance.institution_id,
                "bib_id": bib_id,
                "collection_id": plan.collection_id,
                "service_id": plan.service_id,
                "library_id": library_id,
                "title": facts.title,
                "issn": facts.issn,
                "isbn": facts.isbn,
                "is_local": True,
                "activation_date": activated,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for portfolio_id, bib_id, (facts, library_id) in zip(portfolio_ids, bib_ids, plans, strict=True)
        ],
    )
    session.execute(
        insert(_table(ImportedRecord)),
        [
            {
                "institution_id": instance.institution_id,
                "record_key": facts.key,
                "bib_id": bib_id,
                "portfolio_id": portfolio_id,
                "job_instance_id": instance.id,
            }
            for (facts, _), bib_id, portfolio_id in zip(plans, bib_ids, portfolio_ids, strict=True)
        ],
    )
    _history(session, bib_ids, portfolio_ids, actor)


def _among(column: Any, ids: list[int]) -> Any:
    """`column` is one of `ids`: a range when they follow each other (SQLite, a lone writer on PostgreSQL)."""
    if ids[-1] - ids[0] + 1 == len(ids) and ids == sorted(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def _history(session: Session, bib_ids: list[int], portfolio_ids: list[int], actor: Any) -> None:
    for entity, model, ids in ((BIB, BibRecord, bib_ids), (scope.PORTFOLIO, Portfolio, portfolio_ids)):
        session.execute(
            history_insert_from_select(
                entity=entity,
                entity_id=cast(model.id, String),
                institution_id=model.institution_id.expression,
                field="created",
                old=None,
                new=model.title.expression,
                actor=actor,
                where_from=select(model.id).where(_among(model.id, ids)),
            )
        )
    session.execute(
        history_insert_from_select(
            entity=scope.PORTFOLIO,
            entity_id=cast(Portfolio.id, String),
            institution_id=Portfolio.institution_id.expression,
            field="library",
            old=None,
            new=Library.code.expression,
            actor=actor,
            where_from=select(Portfolio.id)
            .join(Library, Library.id == Portfolio.library_id)
            .where(_among(Portfolio.id, portfolio_ids)),
        )
    )


# Its job kinds, handed over in `eresources.domain`.
KINDS = (
    registry.JobKind(
        job_id=REPOSITORY_IMPORT,
        name="Repository Import",
        description="Loads a MARC file (binary MARC21 or MARCXML) with a Repository import profile: bibliographic "
        "records and their portfolios, following the library of the electronic collection.",
        category="IMPORT",
        category_desc="Import",
        content="BIB_MMS",
        content_desc="Bibliographic records",
        permission=P.IMPORT_RUN,
        parameters=(
            JobParameter("profile_id", "Import profile", required=True, validate=_profile_id),
            JobParameter("file_id", "Uploaded file", required=True, validate=_file_id),
        ),
        counters=(
            CounterDefinition(CREATED, "Records imported", "Bibliographic records created from the file."),
            CounterDefinition(
                PORTFOLIOS,
                "Electronic portfolios created",
                "Portfolios created, one per imported record; each has a history row naming this job.",
            ),
            CounterDefinition(
                CONFLICT,
                CONFLICT_LABEL,
                "Records skipped because the library extracted from the record differs from the library set on the "
                "profile's electronic collection (its portfolios inherit the collection's library).",
            ),
            CounterDefinition(
                DEFAULT_USED,
                "Default library used",
                "Records whose extracted library named no library of the institution: the profile's Default library "
                "was used instead.",
            ),
            CounterDefinition(
                ALREADY,
                "Records already imported",
                "Records whose key (001 control number, else a digest of the record) the institution imported before: "
                "nothing was created again.",
            ),
            CounterDefinition(
                INVALID,
                "Records not imported (malformed)",
                "Records that could not be read; each is an event with its number in the file and the reason.",
            ),
        ),
        run_chunk=_import_chunk,
    ),
)

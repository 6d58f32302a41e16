"""The "Set Electronic Collection Library" job (ER-7, N-2, R-1).

Started by setting a collection's library (the collection takes the library in the request, see
`service.set_collection_library`), or with `POST /almaws/v1/conf/jobs/M2001?op=run` and the parameters
`collection_id` and `library`. The first chunk re-checks, as the person who submitted it, that they may
set that library on that collection (a job run directly is refused there, and changes nothing), and
gives the collection the library when it does not have it yet.

Then, set-based in chunks of the collection's portfolios in id order: the chunk's upper id is found
with one index read; one `INSERT ... SELECT` writes a history row (field `library`, old code, new
none, the job instance) for each portfolio of the range that has a library of its own, and one UPDATE
clears those libraries. The runner commits each chunk with the checkpoint (the last id done), so a
worker killed in a chunk leaves nothing of it, and the next worker resumes after the last committed
one: every portfolio is changed exactly once, with exactly one history row. Publishing is not
triggered: `updated_at`, what publishing picks up, is not touched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, identity_for_user_id
from consortia.access.policy import Decision
from consortia.audit.service import history_insert_from_select, record
from consortia.eresources import policy as scope
from consortia.eresources.models import SET_COLLECTION_LIBRARY, ElectronicCollection, Portfolio
from consortia.errors import BadRequest, DomainError
from consortia.jobs.models import JobInstance
from consortia.jobs.registry import (
    ChunkResult,
    CounterDefinition,
    JobKind,
    JobParameter,
    chunk_size,
    job_actor,
)
from consortia.platform.models import Library

PORTFOLIOS_CLEARED = "portfolios_cleared"
CHUNK = 20_000


def _collection_id(session: Session, institution_id: int | None, value: str) -> str:
    text = value.strip()
    found = (
        session.get(ElectronicCollection, int(text))
        if text.isdecimal() and len(text) <= 10 and int(text) < 2**31
        else None
    )
    if found is None or found.institution_id != institution_id:
        raise BadRequest(
            f"Param value is invalid: collection_id {value} is not a collection of the institution.", "40166411"
        )
    return str(found.id)


def _library_code(session: Session, institution_id: int | None, value: str) -> str:
    code = value.strip().upper()
    found = session.scalars(
        select(Library).where(Library.code == code, Library.institution_id == institution_id)
    ).first()
    if found is None:
        raise BadRequest(f"Param value is invalid: library {value} is not a library of the institution.", "402469")
    return code


def _libraries(session: Session, institution_id: int | None) -> list[tuple[str, str]]:
    rows = session.scalars(select(Library).where(Library.institution_id == institution_id).order_by(Library.code))
    return [(library.code, library.name) for library in rows]


def _may_run(identity: Identity, institution_id: int | None, _parameters: Any) -> Decision:
    if identity.is_operator or (identity.institution_id == institution_id and identity.has_role(*scope.EDITING_ROLES)):
        return Decision(
            True, "eresource_editing_role", "Holders of an electronic inventory editing role set collection libraries."
        )
    return Decision(
        False, "deny_by_default", "Setting a collection's library needs an electronic inventory editing role."
    )


def _start(session: Session, instance: JobInstance) -> dict[str, Any]:
    """The first chunk: check the submitter's scope, give the collection its library, count the work."""
    from consortia.eresources import service

    parameters = instance.parameters or {}
    collection = session.get(ElectronicCollection, int(parameters["collection_id"]))
    library = session.scalars(
        select(Library).where(Library.code == parameters["library"], Library.institution_id == instance.institution_id)
    ).first()
    if collection is None or library is None or collection.institution_id != instance.institution_id:
        raise DomainError("The collection or the library no longer exists.")
    identity = identity_for_user_id(session, instance.submitted_by_id) if instance.submitted_by_id else None
    if identity is None:
        raise DomainError("The person who submitted the job can no longer sign in.")
    identity = identity.acting_in(instance.institution_id)
    if collection.library_id != library.id:
        decision = scope.can_edit(identity, service.scoped(session, collection))
        if not decision or library not in service.library_choices(session, identity, collection.institution_id):
            raise DomainError(
                f"{identity.primary_id} may not set the library {library.code} on the electronic collection "
                f"{collection.public_name} (out of the role scope); nothing was changed."
            )
        record(
            session,
            entity=scope.COLLECTION,
            entity_id=collection.id,
            field="library",
            old=collection.library.code if collection.library else None,
            new=library.code,
            actor=job_actor(session, instance),
            institution_id=collection.institution_id,
        )
        collection.library_id = library.id
    total = session.scalar(
        select(func.count())
        .select_from(Portfolio)
        .where(Portfolio.collection_id == collection.id, Portfolio.library_id.is_not(None))
    )
    return {"collection_id": collection.id, "after_id": 0, "done": 0, "total": int(total or 0)}


def _clear_portfolio_libraries(
    session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None
) -> ChunkResult:
    state = dict(checkpoint) if checkpoint else _start(session, instance)
    collection_id = int(state["collection_id"])
    size = chunk_size(CHUNK)
    in_collection = [Portfolio.collection_id == collection_id, Portfolio.id > state["after_id"]]
    upper = session.scalar(select(Portfolio.id).where(*in_collection).order_by(Portfolio.id).offset(size - 1).limit(1))
    chunk = [*in_collection, Portfolio.library_id.is_not(None)]
    if upper is not None:
        chunk.append(Portfolio.id <= upper)
    session.execute(
        history_insert_from_select(
            entity=scope.PORTFOLIO,
            entity_id=cast(Portfolio.id, String),
            institution_id=Portfolio.institution_id.expression,
            field="library",
            old=Library.code.expression,
            new=None,
            actor=job_actor(session, instance),
            where_from=select(Portfolio.id).join(Library, Library.id == Portfolio.library_id).where(*chunk),
        )
    )
    changed = int(
        session.execute(
            update(Portfolio)
            .where(*chunk)
            .values(library_id=None, version=Portfolio.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )
    state["done"] = int(state["done"]) + changed
    done = upper is None
    if upper is not None:
        state["after_id"] = int(upper)
    total = max(int(state["total"]), state["done"], 1)
    return ChunkResult(
        checkpoint=state,
        done=done,
        progress=state["done"] * 100 // total,
        counters={PORTFOLIOS_CLEARED: changed},
    )


# Its job kinds, handed over in `eresources.domain`.
KINDS = (
    JobKind(
        job_id=SET_COLLECTION_LIBRARY,
        name="Set Electronic Collection Library",
        description="Gives an electronic collection a library and deletes the library of every one of its portfolios, "
        "which then inherit the collection's (cannot be reversed).",
        category="ELECTRONIC_RESOURCES",
        category_desc="Electronic Resources",
        content="IEP",
        content_desc="Electronic portfolios",
        may_run=_may_run,
        parameters=(
            JobParameter("collection_id", "Electronic collection", required=True, validate=_collection_id),
            JobParameter("library", "Library", required=True, validate=_library_code, choices=_libraries),
        ),
        counters=(
            CounterDefinition(
                PORTFOLIOS_CLEARED,
                "Portfolio libraries deleted",
                "Portfolios of the collection that had a library of their own, now without one (they inherit the "
                "collection's library); each has one history row naming this job.",
            ),
        ),
        run_chunk=_clear_portfolio_libraries,
        related_page="/eresources/collections/{id}",
    ),
)

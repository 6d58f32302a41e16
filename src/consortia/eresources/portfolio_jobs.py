"""The "Change Electronic Portfolio Information" job (ER-21) over an itemized set of portfolios.

Parameters `set_id` (a set of the institution) and `library` (formerly "Set owner"): the library to put
on the set's portfolios. Who may run it is `portfolio:bulk-change` in the one permission map (the
Repository Manager; the electronic inventory roles alone may not). Per portfolio, by its collection:

- the collection has the library asked for: only the library update is skipped ("Library update skipped",
  the portfolio inherits it already);
- the collection has another library: the whole portfolio is skipped ("Portfolios update skipped");
- otherwise (standalone, or a collection without a library): the portfolio takes the library
  ("Portfolios updated"; one already holding it is counted under "Portfolios unchanged").

Set-based like "Set Electronic Collection Library": the set's members in portfolio id order, in chunks
whose upper id is found with one index read; per chunk one grouped count, one `INSERT ... SELECT` of
history (field `library`, old and new code, the job instance) and one UPDATE. The runner commits each
chunk with its checkpoint (the last portfolio id done), so a killed worker's successor resumes there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from consortia.access.permissions import Permission as P
from consortia.audit.service import history_insert_from_select
from consortia.db import utcnow
from consortia.eresources import policy as scope
from consortia.eresources.import_models import PortfolioSet, PortfolioSetMember
from consortia.eresources.jobs import _libraries, _library_code
from consortia.eresources.models import ElectronicCollection, Portfolio
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

CHANGE_PORTFOLIO_INFORMATION = "M2101"
UPDATED, LIBRARY_SKIPPED, PORTFOLIO_SKIPPED, UNCHANGED = (
    "portfolios_updated",
    "library_update_skipped",
    "portfolios_update_skipped",
    "portfolios_unchanged",
)
CHUNK = 20_000


def _set_id(session: Session, institution_id: int | None, value: str) -> str:
    text = value.strip()
    found = session.get(PortfolioSet, int(text)) if text.isdecimal() and len(text) <= 10 and int(text) < 2**31 else None
    if found is None or found.institution_id != institution_id:
        raise BadRequest(f"Param value is invalid: set_id {value} is not a set of the institution.", "40166411")
    return str(found.id)


def _start(session: Session, instance: JobInstance) -> dict[str, Any]:
    parameters = instance.parameters or {}
    library_id = session.scalar(
        select(Library.id).where(
            Library.code == parameters["library"], Library.institution_id == instance.institution_id
        )
    )
    found = session.get(PortfolioSet, int(parameters["set_id"]))
    if library_id is None or found is None or found.institution_id != instance.institution_id:
        raise DomainError("The set or the library no longer exists.")
    total = session.scalar(
        select(func.count()).select_from(PortfolioSetMember).where(PortfolioSetMember.set_id == found.id)
    )
    return {"set_id": found.id, "library_id": int(library_id), "after_id": 0, "done": 0, "total": int(total or 0)}


def _change_portfolios(session: Session, instance: JobInstance, checkpoint: dict[str, Any] | None) -> ChunkResult:
    state = dict(checkpoint) if checkpoint else _start(session, instance)
    set_id, library_id = int(state["set_id"]), int(state["library_id"])
    member = PortfolioSetMember.portfolio_id
    in_range = [PortfolioSetMember.set_id == set_id, member > state["after_id"]]
    upper = session.scalar(select(member).where(*in_range).order_by(member).offset(chunk_size(CHUNK) - 1).limit(1))
    if upper is not None:
        in_range.append(member <= upper)
    members = select(member).where(*in_range)
    collection_library = ElectronicCollection.library_id
    takes_library = or_(Portfolio.collection_id.is_(None), collection_library.is_(None))
    outcome = case(
        (collection_library == library_id, LIBRARY_SKIPPED),
        (collection_library.is_not(None), PORTFOLIO_SKIPPED),
        (and_(Portfolio.library_id.is_not(None), Portfolio.library_id == library_id), UNCHANGED),
        else_=UPDATED,
    )
    counts = {
        str(row[0]): int(row[1])
        for row in session.execute(
            select(outcome, func.count())
            .select_from(Portfolio)
            .outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
            .where(Portfolio.id.in_(members))
            .group_by(outcome)
        )
    }
    to_change = [
        Portfolio.id.in_(members),
        takes_library,
        or_(Portfolio.library_id.is_(None), Portfolio.library_id != library_id),
    ]
    old_library, new_library = aliased(Library), aliased(Library)
    session.execute(
        history_insert_from_select(
            entity=scope.PORTFOLIO,
            entity_id=cast(Portfolio.id, String),
            institution_id=Portfolio.institution_id.expression,
            field="library",
            old=old_library.code.expression,
            new=new_library.code.expression,
            actor=job_actor(session, instance),
            where_from=select(Portfolio.id)
            .outerjoin(ElectronicCollection, ElectronicCollection.id == Portfolio.collection_id)
            .outerjoin(old_library, old_library.id == Portfolio.library_id)
            .join(new_library, new_library.id == library_id)
            .where(*to_change),
        )
    )
    in_collection_without_library = select(ElectronicCollection.id).where(ElectronicCollection.library_id.is_(None))
    changed = int(
        session.execute(
            update(Portfolio)
            .where(
                Portfolio.id.in_(members),
                or_(Portfolio.collection_id.is_(None), Portfolio.collection_id.in_(in_collection_without_library)),
                or_(Portfolio.library_id.is_(None), Portfolio.library_id != library_id),
            )
            .values(library_id=library_id, version=Portfolio.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )
    if changed != counts.get(UPDATED, 0):
        raise DomainError("The set's portfolios changed while the job ran; the chunk was not saved.")
    state["done"] = int(state["done"]) + sum(counts.values())
    if upper is not None:
        state["after_id"] = int(upper)
    total = max(int(state["total"]), state["done"], 1)
    return ChunkResult(
        checkpoint=state,
        done=upper is None,
        progress=state["done"] * 100 // total,
        counters={code: counts.get(code, 0) for code in (UPDATED, LIBRARY_SKIPPED, PORTFOLIO_SKIPPED, UNCHANGED)},
    )


# Its job kinds, handed over in `eresources.domain`.
KINDS = (
    JobKind(
        job_id=CHANGE_PORTFOLIO_INFORMATION,
        name="Change Electronic Portfolio Information",
        description="Changes information of the portfolios of a set in bulk: puts the library chosen on each portfolio "
        "that does not inherit one from its electronic collection.",
        category="ELECTRONIC_RESOURCES",
        category_desc="Electronic Resources",
        content="IEP",
        content_desc="Electronic portfolios",
        permission=P.PORTFOLIO_BULK_CHANGE,
        parameters=(
            JobParameter("set_id", "Set", required=True, validate=_set_id),
            JobParameter(
                "library",
                "Library",
                required=True,
                description='The library to set on the portfolios (formerly "Set owner").',
                validate=_library_code,
                choices=_libraries,
            ),
        ),
        counters=(
            CounterDefinition(
                UPDATED,
                "Portfolios updated",
                "Portfolios that now have the library chosen (standalone, or of a collection without a library); each "
                "has one history row naming this job.",
            ),
            CounterDefinition(
                LIBRARY_SKIPPED,
                "Library update skipped",
                "Portfolios where the library update was skipped because that library is already set on the electronic "
                "collection (the portfolio inherits the electronic collection's library).",
            ),
            CounterDefinition(
                PORTFOLIO_SKIPPED,
                "Portfolios update skipped",
                "Portfolios not updated at all because a different library is already set on the electronic collection "
                "(the portfolio inherits the electronic collection's library).",
            ),
            CounterDefinition(
                UNCHANGED,
                "Portfolios unchanged",
                "Portfolios that already had the library chosen; nothing was changed.",
            ),
        ),
        run_chunk=_change_portfolios,
        related_page="/eresources/sets/{id}",
    ),
)

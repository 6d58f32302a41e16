"""Synthetic data at scale for the benchmarks (`consortia generate`, SPEC N): the platform's structure and
patrons (`platform.generate`), then every domain's volumes, in the order `consortia.domains` lists them.

Each step is one transaction that also writes the step's marker (a history row of entity
`generated_data`): running a size again skips the steps already done, and an interrupted run resumes
with the step it was in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.db import Database, utcnow
from consortia.domain import Domain
from consortia.domains import DOMAINS
from consortia.errors import BadRequest
from consortia.platform.generate import MARKER_ACTOR, MARKER_ENTITY, GenerationContext, Run, load_structure

# Share of size L that each size builds.
SIZES: dict[str, float] = {"XS": 0.001, "S": 0.01, "M": 0.1, "L": 1.0}


def generate_data(
    database: Database,
    size: str,
    console: Console | None = None,
    *,
    seed: int = 20240601,
    domains: Sequence[Domain] = DOMAINS,
) -> GenerationContext:
    """Build (or complete) the synthetic data of `size` in `database`, whose schema is current.

    Steps already done for this size are skipped; the answer describes the generated structure.
    """
    size = size.strip().upper()
    if size not in SIZES:
        raise BadRequest(f"Unknown size {size}: choose one of {', '.join(SIZES)}.")
    context = GenerationContext(database=database, size=size, fraction=SIZES[size], seed=seed)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )

    def step(name: str, run: Run) -> None:
        _step(context, name, run)

    with progress:
        context.progress = progress
        for domain in domains:
            if domain.generate is not None:
                domain.generate(context, step)
    context.progress = None
    return context


def _step(context: GenerationContext, name: str, run: Run) -> None:
    """Run one step once: skipped when its marker is there, else `run` and the marker in one transaction."""
    with context.database.session() as session:
        if step_done(session, context.size, name):
            return
        run(session, context)
        session.add(
            HistoryEvent(
                entity=MARKER_ENTITY,
                entity_id=context.size,
                institution_id=None,
                field=name,
                old=None,
                new=json.dumps({"fraction": context.fraction}),
                actor_id=None,
                actor=MARKER_ACTOR,
                at=utcnow(),
                job_instance_id=None,
            )
        )


def step_done(session: Session, size: str, name: str) -> bool:
    """Whether step `name` of `size` has been generated in this database."""
    found = session.scalar(
        select(HistoryEvent.id).where(
            HistoryEvent.entity == MARKER_ENTITY, HistoryEvent.entity_id == size, HistoryEvent.field == name
        )
    )
    return found is not None


def load_context(database: Database, size: str) -> GenerationContext:
    """The context of a size generated earlier (for benchmarks that did not generate it themselves)."""
    size = size.strip().upper()
    context = GenerationContext(database=database, size=size, fraction=SIZES[size])
    load_structure(context)
    return context

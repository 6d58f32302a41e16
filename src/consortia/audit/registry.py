"""History kinds: which governed things have a History tab, and who may read it (P-6, P-8).

Each domain hands over the kinds it records (`Domain.history_kinds`: kind -> `resolve`), and the
assembly (`consortia.domains`) registers them with `register_history_kind(kind, resolve)`.
`resolve(session, identity, id)` fetches the thing with its own read permission — raising
NotFound alike for unknown ids and ids outside the caller's tenancy — and answers which history rows
are that thing's:

- an institution id: the rows of `id` recorded for that institution (ids unique per institution:
  a user's primary id, a parameter name);
- None: every row of `id` (ids unique on the whole platform: codes of consortia, institutions, ...);
- a `HistoryScope`, when the id stored in the rows differs from the one asked (`east` → `EAST`).

This module imports no domain module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.errors import BadRequest

if TYPE_CHECKING:
    from consortia.access.identity import Identity


@dataclass(frozen=True)
class HistoryScope:
    """The rows of one governed thing: its id as recorded, and its institution (None: any)."""

    entity_id: str
    institution_id: int | None


Resolve = Callable[[Session, "Identity", str], "HistoryScope | int | None"]

_KINDS: dict[str, Resolve] = {}


def register_history_kind(kind: str, resolve: Resolve) -> None:
    """Make `kind` readable through the history API and pages; a kind is registered once."""
    known = _KINDS.get(kind)
    if known is not None and known is not resolve:
        raise ValueError(f"history kind {kind!r} is already registered")
    _KINDS[kind] = resolve


def history_kinds() -> list[str]:
    return sorted(_KINDS)


def history_scope(session: Session, identity: Identity, kind: str, entity_id: str) -> HistoryScope:
    """Which rows `identity` may read as the history of (`kind`, `entity_id`).

    BadRequest for an unknown kind; NotFound (from the kind's resolver) for a thing the caller cannot see.
    """
    resolve = _KINDS.get(kind)
    if resolve is None:
        raise BadRequest(
            f"Unknown history entity {kind!r}; use one of: {', '.join(history_kinds())}.",
            "40166411",
        )
    found = resolve(session, identity, entity_id)
    if isinstance(found, HistoryScope):
        return found
    return HistoryScope(entity_id, found)


def history_page(
    session: Session,
    identity: Identity,
    kind: str,
    entity_id: str,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[Sequence[HistoryEvent], int]:
    """One page of a governed thing's history, oldest first, and the number of rows in all."""
    scope = history_scope(session, identity, kind, entity_id)
    condition = [HistoryEvent.entity == kind, HistoryEvent.entity_id == scope.entity_id]
    if scope.institution_id is not None:
        condition.append(HistoryEvent.institution_id == scope.institution_id)
    total = session.scalar(select(func.count()).select_from(HistoryEvent).where(*condition)) or 0
    query = select(HistoryEvent).where(*condition).order_by(HistoryEvent.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all(), int(total)

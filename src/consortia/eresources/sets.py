"""Itemized sets of portfolios (the input of ER-21): create one from portfolio ids, read it and its members.

A set belongs to the institution it was made in. Its members must be portfolios of that institution: an
unknown id and another institution's are refused alike, by a 400 naming them, and nothing is saved
(R-3). Members are written with one batch INSERT. Creating a set is recorded in history (`set`,
`created`, with the number of members).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, demand, where
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.eresources.import_models import PortfolioSet, PortfolioSetMember
from consortia.eresources.models import Portfolio
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import Institution

SET = "set"
MAX_MEMBERS = 100_000
MAX_ID = 2**31 - 1
_SEPARATORS = re.compile(r"[\s,;]+")


def set_not_found(set_id: object) -> NotFound:
    return NotFound(f"Set {set_id} was not found.", "402459")


def parse_ids(text: str) -> list[str]:
    """Ids pasted by a person: separated by spaces, commas, semicolons or new lines."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _number(value: str) -> int | None:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


def access_set(session: Session, identity: Identity, set_id: str | int, permission: P = P.SET_READ) -> PortfolioSet:
    """A set the caller may see (404 alike for unknown ids and other institutions' sets)."""
    number = _number(str(set_id))
    found = session.get(PortfolioSet, number) if number is not None else None
    if found is not None and found.institution_id != identity.acting_institution_id:
        found = None
    authorize(identity, permission, found, not_found=set_not_found(set_id))
    assert found is not None
    return found


def create_set(
    session: Session,
    identity: Identity,
    institution: Institution,
    *,
    name: str,
    description: str = "",
    member_ids: Sequence[str | int],
) -> PortfolioSet:
    """Make an itemized set of the portfolios `member_ids` (each once, in the order given)."""
    demand(identity, P.SET_MANAGE, InInstitution(institution.id))
    name = name.strip()
    if not name:
        raise BadRequest("name: a set needs a name.", "402458")
    if len(member_ids) > MAX_MEMBERS:
        raise BadRequest(f"members: a set holds at most {MAX_MEMBERS} portfolios.", "402458")
    wanted: dict[int, str] = {}
    invalid: list[str] = []
    for value in member_ids:
        number = _number(str(value))
        if number is None:
            invalid.append(str(value)[:40])
        else:
            wanted.setdefault(number, str(value))
    found: set[int] = set()
    ids = list(wanted)
    for start in range(0, len(ids), 5000):
        batch = ids[start : start + 5000]
        found.update(
            session.scalars(
                select(Portfolio.id).where(Portfolio.institution_id == institution.id, Portfolio.id.in_(batch))
            )
        )
    invalid.extend(wanted[i] for i in ids if i not in found)
    if invalid:
        shown = ", ".join(invalid[:20]) + (f" and {len(invalid) - 20} more" if len(invalid) > 20 else "")
        raise BadRequest(f"members: these are not portfolios of the institution: {shown}.", "402458")
    row = PortfolioSet(
        institution_id=institution.id,
        name=name[:200],
        description=description[:2000],
        created_by_id=identity.user_id,
        created_by=identity.primary_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if ids:
        session.execute(insert(PortfolioSetMember), [{"set_id": row.id, "portfolio_id": i} for i in ids])
    record(
        session,
        entity=SET,
        entity_id=row.id,
        field="created",
        old=None,
        new=f"{row.name} ({len(ids)} portfolios)",
        actor=identity.actor,
        institution_id=institution.id,
    )
    return row


def list_sets(
    session: Session, identity: Identity, institution: Institution, *, name: str | None, limit: int, offset: int
) -> tuple[list[PortfolioSet], int]:
    demand(identity, P.SET_READ, InInstitution(institution.id))
    conditions = [PortfolioSet.institution_id == institution.id, where(identity, P.SET_READ, PortfolioSet)]
    if name:
        conditions.append(func.lower(PortfolioSet.name).contains(name.lower(), autoescape=True))
    total = int(session.scalar(select(func.count()).select_from(PortfolioSet).where(*conditions)) or 0)
    rows = list(
        session.scalars(select(PortfolioSet).where(*conditions).order_by(PortfolioSet.id).limit(limit).offset(offset))
    )
    return rows, total


def member_counts(session: Session, set_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(PortfolioSetMember.set_id, func.count())
        .where(PortfolioSetMember.set_id.in_(ids))
        .group_by(PortfolioSetMember.set_id)
    )
    return {row[0]: int(row[1]) for row in rows}


def members(session: Session, portfolio_set: PortfolioSet, *, limit: int, offset: int) -> tuple[list[Portfolio], int]:
    """The portfolios of a set, in id order, with their number."""
    condition = PortfolioSetMember.set_id == portfolio_set.id
    total = int(session.scalar(select(func.count()).select_from(PortfolioSetMember).where(condition)) or 0)
    rows = list(
        session.scalars(
            select(Portfolio)
            .join(PortfolioSetMember, PortfolioSetMember.portfolio_id == Portfolio.id)
            .where(condition)
            .order_by(Portfolio.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, total


def set_history(session: Session, identity: Identity, set_id: str) -> int:
    return access_set(session, identity, set_id).institution_id

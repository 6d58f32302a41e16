"""Looking up institutions and libraries by code.

The institution a request works in is `access.identity.acting_institution`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.errors import BadRequest
from consortia.platform.models import Institution, Library


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalars(select(Institution).where(Institution.code == code.strip().upper())).first()


def library_by_code(session: Session, institution: Institution, code: str) -> Library:
    """A library of `institution`; a library of another institution is reported exactly like an unknown one."""
    library = session.scalars(
        select(Library).where(Library.code == code.strip().upper(), Library.institution_id == institution.id)
    ).first()
    if library is None:
        raise BadRequest(f"The library code is not valid: {code}.", "402469")
    return library


def libraries_of(session: Session, institution_id: int) -> list[Library]:
    return list(session.scalars(select(Library).where(Library.institution_id == institution_id).order_by(Library.code)))

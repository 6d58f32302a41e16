"""Looking up the places a request works in: institutions, libraries, consortia by code."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import Institution, Library


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalars(select(Institution).where(Institution.code == code.strip().upper())).first()


def acting_institution(session: Session, identity: Identity) -> Institution:
    """The institution an institution-bound request works in.

    Staff work in their own institution; the operator names one with `?institution=CODE`
    (API) or picks one on the start page (web).
    """
    if identity.acting_institution_id is None:
        raise BadRequest(
            "Name the institution to work in with ?institution=CODE."
            if identity.is_operator
            else "This account belongs to no institution.",
            "60224",
        )
    institution = session.get(Institution, identity.acting_institution_id)
    if institution is None:
        raise NotFound("Institution not found.", "60224")
    return institution


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

"""Libraries of an institution (P-1): fetch-and-authorize by code, lists and the operator's add (conventions
in `common`).

The history kind and access-check object type `library` are at the end (handed over in `platform.domain`).
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, where
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.errors import BadRequest, NotFound
from consortia.platform.common import INVALID, page_of, record_created, valid_code, valid_name, valid_text
from consortia.platform.consortium_service import access_institution
from consortia.platform.models import Institution, Library
from consortia.platform.tenancy import libraries_of
from consortia.text import has_control_characters


def library_not_found(code: str) -> NotFound:
    return NotFound(f"Library {code.strip().upper()} was not found.", "402119")


def access_library(session: Session, identity: Identity, code: str, permission: P = P.LIBRARY_READ) -> Library:
    """The library with this code (codes are unique on the platform), checked for `permission`."""
    library = session.scalars(
        select(Library).where(Library.code == code.strip().upper()).options(selectinload(Library.institution))
    ).first()
    authorize(identity, permission, library, not_found=library_not_found(code))
    assert library is not None
    return library


def libraries_here(session: Session, identity: Identity) -> tuple[Institution, list[Library]]:
    """The institution the caller works in and its libraries, by code (`library:read` there)."""
    institution = acting_institution(session, identity)
    authorize(identity, P.LIBRARY_READ, InInstitution(institution.id), not_found=NotFound("Institution not found."))
    return institution, libraries_of(session, institution.id)


def access_library_here(
    session: Session, identity: Identity, code: str, *, not_found: NotFound
) -> tuple[Institution, Library]:
    """A library of the institution the caller works in, by code, checked for `library:read`: a library of
    another institution answers `not_found`, exactly like an unknown code."""
    institution = acting_institution(session, identity)
    library = (
        None
        if has_control_characters(code)
        else session.scalars(
            select(Library).where(Library.code == code.strip().upper(), Library.institution_id == institution.id)
        ).first()
    )
    authorize(identity, P.LIBRARY_READ, library, not_found=not_found)
    assert library is not None
    return institution, library


def list_libraries(
    session: Session, identity: Identity, institution_code: str, *, limit: int | None = None, offset: int = 0
) -> tuple[Institution, list[Library], int]:
    """The libraries of one institution that `identity` may read, by code."""
    institution = access_institution(session, identity, institution_code, P.LIBRARY_READ)
    condition = and_(Library.institution_id == institution.id, where(identity, P.LIBRARY_READ, Library))
    rows, total = page_of(session, Library, condition, Library.code, limit, offset)
    return institution, rows, total


def add_library(
    session: Session,
    identity: Identity,
    institution_code: str,
    *,
    code: str,
    name: str,
    campus: str = "",
    resource_sharing: bool = True,
) -> Library:
    """A new library of an institution; its code is unique on the whole platform."""
    institution = access_institution(session, identity, institution_code, P.LIBRARY_MANAGE)
    code = valid_code(code, "library")
    if session.scalar(select(Library.id).where(Library.code == code)) is not None:
        raise BadRequest(f"The library code {code} is already in use.", INVALID)
    library = Library(
        institution_id=institution.id,
        code=code,
        name=valid_name(name, "library"),
        campus=valid_text(campus, "campus", 100),
        resource_sharing=resource_sharing,
    )
    session.add(library)
    session.flush()
    record_created(
        session,
        identity,
        "library",
        code,
        institution.id,
        code=code,
        name=library.name,
        campus=library.campus,
        resource_sharing=resource_sharing,
    )
    record(
        session,
        entity="institution",
        entity_id=institution.code,
        field="library",
        old=None,
        new=code,
        actor=identity.actor,
        institution_id=institution.id,
    )
    return library


# --- history kind and access-check object -------------------------------------------------------


def library_history(session: Session, identity: Identity, code: str) -> HistoryScope:
    return HistoryScope(access_library(session, identity, code).code, None)

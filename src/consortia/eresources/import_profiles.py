"""Metadata import profiles (ER-22): read, create and change them.

A profile's type is REPOSITORY, INVENTORY_UPDATE or NEW_ORDER; only REPOSITORY profiles take a portfolio
library ("Extract library from field" and the "Default library"), the other types ignore both. Portfolio
type STANDALONE or PART_OF_ELECTRONIC_COLLECTION; the collection is then mandatory and must be in the
caller's role scope (the scope rule of `eresources.policy`, through `service.collection_in_scope`). The
default library may be any library of the institution. Changes are recorded in history (`import_profile`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, demand
from consortia.audit.service import record
from consortia.db import utcnow
from consortia.eresources import service
from consortia.eresources.import_models import (
    PART_OF_COLLECTION,
    PORTFOLIO_TYPES,
    PROFILE_TYPES,
    REPOSITORY,
    STANDALONE,
    ImportProfile,
)
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import Institution, Library

PROFILE = "import_profile"
MAX_ID = 2**31 - 1


def profile_not_found(profile_id: object) -> NotFound:
    return NotFound(f"Failed to find the Profile ID: {profile_id}.", "401871")


@dataclass
class ProfileChange:
    """A profile as a body gives it; None leaves a field as it is (on a change) or takes the default."""

    name: str | None = None
    description: str | None = None
    type: str | None = None
    portfolio_type: str | None = None
    collection_id: str | None = None
    service_id: str | None = None
    library_tag: str | None = None
    library_subfield: str | None = None
    default_library: str | None = None
    version: int | None = None


def access_profile(
    session: Session, identity: Identity, profile_id: str | int, permission: P = P.IMPORT_PROFILE_READ
) -> ImportProfile:
    text = str(profile_id).strip()
    number = int(text) if text.isdecimal() and len(text) <= 10 and 1 <= int(text) <= MAX_ID else None
    found = session.get(ImportProfile, number) if number is not None else None
    if found is not None and found.institution_id != identity.acting_institution_id:
        found = None
    authorize(identity, permission, found, not_found=profile_not_found(profile_id))
    assert found is not None
    return found


def list_profiles(
    session: Session, identity: Identity, institution: Institution, *, type: str | None = None
) -> list[ImportProfile]:
    demand(identity, P.IMPORT_PROFILE_READ, InInstitution(institution.id))
    conditions = [ImportProfile.institution_id == institution.id]
    if type:
        conditions.append(ImportProfile.type == type.strip().upper())
    return list(session.scalars(select(ImportProfile).where(*conditions).order_by(ImportProfile.id)))


def count_profiles(session: Session, institution_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ImportProfile).where(ImportProfile.institution_id == institution_id)
        )
        or 0
    )


def _choice(value: str, table: dict[str, str], field: str) -> str:
    code = value.strip().upper()
    if code not in table:
        raise BadRequest(f"{field}: {value} is not one of {', '.join(table)}.", "40166411")
    return code


def _apply(session: Session, identity: Identity, profile: ImportProfile, change: ProfileChange) -> dict[str, object]:
    """The profile's new values, checked (400 naming the field); nothing is changed yet."""
    values: dict[str, object] = {}
    if change.name is not None:
        if not change.name.strip():
            raise BadRequest("name: a profile needs a name.", "40166411")
        values["name"] = change.name.strip()[:200]
    if change.description is not None:
        values["description"] = change.description[:2000]
    kind = _choice(change.type, PROFILE_TYPES, "type") if change.type is not None else profile.type
    values["type"] = kind
    portfolio_type = (
        _choice(change.portfolio_type, PORTFOLIO_TYPES, "portfolio_type")
        if change.portfolio_type is not None
        else profile.portfolio_type
    )
    values["portfolio_type"] = portfolio_type
    if portfolio_type == PART_OF_COLLECTION:
        cid = change.collection_id if change.collection_id is not None else profile.collection_id
        if cid is None or not str(cid).strip():
            raise BadRequest(
                "electronic_collection: a profile of portfolios part of an electronic collection needs the "
                "electronic collection.",
                "60151",
            )
        sid = change.service_id if change.service_id is not None else profile.service_id
        collection, found_service = service.collection_in_scope(
            session, identity, profile.institution_id, str(cid), str(sid) if sid else None
        )
        values["collection_id"], values["service_id"] = collection.id, found_service.id
    else:
        values["collection_id"] = values["service_id"] = None
    tag = change.library_tag if change.library_tag is not None else profile.library_tag
    code = change.library_subfield if change.library_subfield is not None else profile.library_subfield
    tag, code = (tag or "").strip(), (code or "").strip()
    if tag and (len(tag) != 3 or not tag.isalnum() or tag < "010"):
        raise BadRequest(f"library_field.tag: {tag} is not a MARC data field tag (010-999).", "40166411")
    if bool(tag) != bool(code) or (code and (len(code) != 1 or not code.isalnum())):
        raise BadRequest("library_field: give a tag and one subfield code (e.g. 950 $l), or neither.", "40166411")
    values["library_tag"], values["library_subfield"] = tag, code.lower()
    if change.default_library is not None:
        wanted = change.default_library.strip().upper()
        library = (
            session.scalars(
                select(Library).where(Library.institution_id == profile.institution_id, Library.code == wanted)
            ).first()
            if wanted
            else None
        )
        if wanted and library is None:
            raise BadRequest(
                f"default_library: {change.default_library} is not a library of the institution.", "402469"
            )
        values["default_library_id"] = library.id if library else None
    if kind != REPOSITORY:
        # Only Repository profiles take a portfolio library.
        values["library_tag"] = values["library_subfield"] = ""
        values["default_library_id"] = None
    return values


def _save(
    session: Session, identity: Identity, profile: ImportProfile, values: dict[str, object], *, new: bool
) -> None:
    for field, value in values.items():
        old = getattr(profile, field)
        if not new and old != value:
            record(
                session,
                entity=PROFILE,
                entity_id=profile.id,
                field=field,
                old=old,
                new=value,
                actor=identity.actor,
                institution_id=profile.institution_id,
            )
        setattr(profile, field, value)
    profile.updated_at = utcnow()
    session.flush()


def create_profile(
    session: Session, identity: Identity, institution: Institution, change: ProfileChange
) -> ImportProfile:
    demand(identity, P.IMPORT_PROFILE_MANAGE, InInstitution(institution.id))
    if not change.name or not change.name.strip():
        raise BadRequest("name: a profile needs a name.", "40166411")
    profile = ImportProfile(
        institution_id=institution.id,
        name="",
        type=REPOSITORY,
        portfolio_type=STANDALONE,
        library_tag="",
        library_subfield="",
    )
    values = _apply(session, identity, profile, change)
    session.add(profile)
    _save(session, identity, profile, values, new=True)
    record(
        session,
        entity=PROFILE,
        entity_id=profile.id,
        field="created",
        old=None,
        new=profile.name,
        actor=identity.actor,
        institution_id=institution.id,
    )
    return profile


def update_profile(session: Session, identity: Identity, profile: ImportProfile, change: ProfileChange) -> None:
    demand(identity, P.IMPORT_PROFILE_MANAGE, profile)
    service.check_version(profile, change.version, "import profile")
    _save(session, identity, profile, _apply(session, identity, profile, change), new=False)


def profile_history(session: Session, identity: Identity, profile_id: str) -> int:
    return access_profile(session, identity, profile_id).institution_id

"""`/almaws/v1/conf/md-import-profiles`: metadata import profiles (Alma notes §4.4; SPEC ER-22).

Translation only: the verbs are in consortia.eresources.import_profiles. A profile answers
`type {value}`, `portfolio_type {value}`, `electronic_collection {value}`, `electronic_service {value}`,
`library_field {tag, subfield}` and `default_library {value, desc}`; bodies take the same fields (coded
values as `{"value"}` or plain text). Alma's paging parameters are accepted and ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import import_profiles as profiles
from consortia.eresources.import_models import PORTFOLIO_TYPES, PROFILE_TYPES, ImportProfile
from consortia.eresources.models import ElectronicCollection
from consortia.formats import alma_datetime, coded
from consortia.http.answers import envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.platform.models import Library

router = APIRouter(prefix="/almaws/v1/conf/md-import-profiles", tags=["Import profiles"])

ProfileId = Annotated[str, Path(min_length=1, max_length=20)]


def _code(value: Any) -> Any:
    if isinstance(value, dict):
        value = value.get("value")
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Code = Annotated[str | None, BeforeValidator(_code)]


class LibraryField(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    tag: str = Field("", max_length=3)
    subfield: str = Field("", max_length=1)


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    type: Code = Field(None, max_length=30)
    portfolio_type: Code = Field(None, max_length=40)
    electronic_collection: Code = Field(None, max_length=20)
    electronic_service: Code = Field(None, max_length=20)
    library_field: LibraryField | None = None
    default_library: Code = Field(None, max_length=40)
    version: int | None = Field(None, ge=1, le=2**31 - 1)

    def change(self) -> profiles.ProfileChange:
        return profiles.ProfileChange(
            name=self.name,
            description=self.description,
            type=self.type,
            portfolio_type=self.portfolio_type,
            collection_id=self.electronic_collection,
            service_id=self.electronic_service,
            library_tag=self.library_field.tag if self.library_field else None,
            library_subfield=self.library_field.subfield if self.library_field else None,
            default_library=self.default_library,
            version=self.version,
        )


def profile_json(request: Request, session: Session, profile: ImportProfile) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    collection = session.get(ElectronicCollection, profile.collection_id) if profile.collection_id else None
    library = session.get(Library, profile.default_library_id) if profile.default_library_id else None
    return {
        "id": str(profile.id),
        "name": profile.name,
        "description": profile.description,
        "type": coded(profile.type, PROFILE_TYPES.get(profile.type)),
        "portfolio_type": coded(profile.portfolio_type, PORTFOLIO_TYPES.get(profile.portfolio_type)),
        "electronic_collection": {
            "value": str(collection.id) if collection else "",
            "desc": collection.public_name if collection else None,
            "link": f"{base}/almaws/v1/electronic/e-collections/{collection.id}" if collection else None,
        },
        "electronic_service": coded(str(profile.service_id) if profile.service_id else "", None),
        "library_field": {"tag": profile.library_tag, "subfield": profile.library_subfield},
        "default_library": coded(library.code if library else "", library.name if library else None),
        "version": profile.version,
        "updated": alma_datetime(profile.updated_at),
        "link": f"{base}/almaws/v1/conf/md-import-profiles/{profile.id}",
    }


@router.get("", summary="The import profiles of the institution")
def list_profiles(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.IMPORT_PROFILE_READ))],
    profile_type: Annotated[str | None, Query(alias="type", max_length=30)] = None,
) -> Response:
    institution = acting_institution(session, identity)
    rows = profiles.list_profiles(session, identity, institution, type=profile_type)
    items = [profile_json(request, session, row) for row in rows]
    return respond(request, envelope("import_profile", items, len(items)), root="import_profiles")


@router.post("", summary="Create an import profile")
def create_profile(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.IMPORT_PROFILE_MANAGE))],
    body: Annotated[ProfileIn, Body()],
) -> Response:
    institution = acting_institution(session, identity)
    row = profiles.create_profile(session, identity, institution, body.change())
    return respond(request, profile_json(request, session, row), root="import_profile")


@router.get("/{profile_id}", summary="One import profile")
def get_profile(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.IMPORT_PROFILE_READ))],
    profile_id: ProfileId,
) -> Response:
    row = profiles.access_profile(session, identity, profile_id)
    return respond(request, profile_json(request, session, row), root="import_profile")


@router.put("/{profile_id}", summary="Change an import profile")
def put_profile(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.IMPORT_PROFILE_MANAGE))],
    profile_id: ProfileId,
    body: Annotated[ProfileIn, Body()],
) -> Response:
    row = profiles.access_profile(session, identity, profile_id, P.IMPORT_PROFILE_MANAGE)
    profiles.update_profile(session, identity, row, body.change())
    return respond(request, profile_json(request, session, row), root="import_profile")

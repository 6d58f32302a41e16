"""`/almaws/v1/conf`: libraries and code tables of the institution the caller works in (Alma notes §4.1, §4.2).

Translation only; jobs live in almaws/jobs.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.errors import NotFound
from consortia.formats import coded
from consortia.http.answers import envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.platform import codetables, library_service
from consortia.platform.models import Institution, Library

router = APIRouter(prefix="/almaws/v1/conf", tags=["Configuration"])

TableName = Annotated[str, Path(max_length=100, description="UserGroups, UserIdentifierTypes or UserRoles.")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def library_not_found(code: str) -> NotFound:
    return NotFound(f"Library {code} was not found.", "402119")


def library_json(library: Library, institution: Institution, base_url: str) -> dict[str, Any]:
    return {
        "code": library.code,
        "path": f"{institution.code}.{library.code}",
        "name": library.name,
        "description": library.name,
        "resource_sharing": library.resource_sharing,
        "campus": coded(library.campus, library.campus or None),
        "proxy": "",
        "link": f"{base_url}/almaws/v1/conf/libraries/{library.code}",
    }


@router.get("/libraries", summary="The libraries of the institution")
def list_libraries(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(declares(P.LIBRARY_READ))]
) -> Response:
    institution, libraries = library_service.libraries_here(session, identity)
    base = _base(request)
    items = [library_json(library, institution, base) for library in libraries]
    return respond(request, envelope("library", items, len(items)), root="library")


@router.get("/libraries/{code}", summary="One library")
def get_library(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LIBRARY_READ))],
    code: Annotated[str, Path(max_length=40)],
) -> Response:
    institution, library = library_service.access_library_here(
        session, identity, code, not_found=library_not_found(code)
    )
    return respond(request, library_json(library, institution, _base(request)), root="library")


# --- code tables ------------------------------------------------------------------------------


def code_table_json(
    name: str, rows: list[codetables.CodeRow], institution: Institution, base_url: str
) -> dict[str, Any]:
    return {
        "name": name,
        "description": codetables.TABLES[name],
        "sub_system": coded("USERS", "Users"),
        "patron_facing": False,
        "language": coded("en", "English"),
        "scope": {
            "institution_id": coded(institution.code, institution.name),
            "library_id": coded("", None),
        },
        "row": [
            {"code": row.code, "description": row.description, "default": row.default, "enabled": row.enabled}
            for row in rows
        ],
        "link": f"{base_url}/almaws/v1/conf/code-tables/{name}",
    }


class CodeRowIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=60)
    description: str = Field("", max_length=200)
    default: bool = False
    enabled: bool = True


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class CodeTableIn(BaseModel):
    """A code table as `GET` answers it; only `row` is read."""

    model_config = ConfigDict(extra="ignore")

    row: Annotated[list[CodeRowIn], BeforeValidator(_listed)] = Field(default_factory=list, max_length=1000)


@router.get("/code-tables/{name}", summary="A code table")
def get_code_table(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CODE_TABLE_READ))],
    name: TableName,
) -> Response:
    name = codetables.check_table_name(name)
    institution = acting_institution(session, identity)
    codetables.access_code_table(identity, institution, P.CODE_TABLE_READ)
    rows = codetables.code_table(session, institution.id, name)
    return respond(request, code_table_json(name, rows, institution, _base(request)), root="code_table")


@router.put("/code-tables/{name}", summary="Replace the rows of a code table")
def put_code_table(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CODE_TABLE_EDIT))],
    name: TableName,
    body: Annotated[CodeTableIn, Body()],
) -> Response:
    name = codetables.check_table_name(name)
    institution = acting_institution(session, identity)
    rows = [codetables.CodeRow(r.code, r.description, r.default, r.enabled) for r in body.row]
    saved = codetables.set_code_table(session, identity, institution, name, rows)
    return respond(request, code_table_json(name, saved, institution, _base(request)), root="code_table")

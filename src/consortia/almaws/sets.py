"""`/almaws/v1/conf/sets`: itemized sets of portfolios (Alma notes §4.5; API.md "Configuration and jobs").

Translation only: the verbs are in consortia.eresources.sets. Bodies are Alma's
`{"name", "type": {"value": "ITEMIZED"}, "content": {"value": "IEP"}, "members": {"member": [{"id"}]}}`;
only itemized sets of electronic portfolios exist here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import sets
from consortia.eresources.import_models import PortfolioSet
from consortia.eresources.models import Portfolio
from consortia.eresources.schemas import portfolio_link
from consortia.errors import BadRequest
from consortia.formats import alma_datetime, coded
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares

router = APIRouter(prefix="/almaws/v1/conf/sets", tags=["Sets"])

SetId = Annotated[str, Path(min_length=1, max_length=20)]


def _code(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) else value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] = Field(max_length=40)


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    member: Annotated[list[MemberIn], BeforeValidator(_listed)] = Field(default_factory=list, max_length=100_000)


class SetIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    type: Annotated[str | None, BeforeValidator(_code)] = Field(None, max_length=20)
    content: Annotated[str | None, BeforeValidator(_code)] = Field(None, max_length=20)
    members: MembersIn | None = None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def set_json(request: Request, row: PortfolioSet, count: int) -> dict[str, Any]:
    link = f"{_base(request)}/almaws/v1/conf/sets/{row.id}"
    return {
        "id": str(row.id),
        "name": row.name,
        "description": row.description,
        "type": coded("ITEMIZED", "Itemized"),
        "content": coded("IEP", "Electronic portfolios"),
        "private": coded("false", "No"),
        "status": coded("ACTIVE", "Active"),
        "created_by": coded(row.created_by, None),
        "created_date": alma_datetime(row.created_at),
        "number_of_members": {"value": count, "link": f"{link}/members"},
        "link": link,
    }


def member_json(request: Request, portfolio: Portfolio) -> dict[str, Any]:
    return {"id": str(portfolio.id), "description": portfolio.title, "link": portfolio_link(_base(request), portfolio)}


@router.get("", summary="The sets of the institution")
def list_sets(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SET_READ))],
    limit: Limit = 10,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200, description="name~<words>")] = None,
) -> Response:
    institution = acting_institution(session, identity)
    name = None
    if q and q.strip():
        field, sep, value = q.strip().partition("~")
        if not sep or field.strip().lower() != "name":
            raise BadRequest(f"Invalid query format: {q}. Use name~<words>.", "60106")
        name = value.replace("_", " ").replace("+", " ").strip()
    rows, total = sets.list_sets(session, identity, institution, name=name, limit=limit, offset=offset)
    counts = sets.member_counts(session, [row.id for row in rows])
    items = [set_json(request, row, counts.get(row.id, 0)) for row in rows]
    return respond(request, envelope("set", items, total), root="sets")


@router.post("", summary="Create an itemized set of portfolios")
def create_set(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SET_MANAGE))],
    body: Annotated[SetIn, Body()],
) -> Response:
    if body.type is not None and body.type.strip().upper() != "ITEMIZED":
        raise BadRequest("type: only ITEMIZED sets can be created.", "402458")
    if body.content is not None and body.content.strip().upper() != "IEP":
        raise BadRequest("content: only sets of electronic portfolios (IEP) can be created.", "402458")
    institution = acting_institution(session, identity)
    ids = [m.id for m in body.members.member] if body.members else []
    row = sets.create_set(session, identity, institution, name=body.name, description=body.description, member_ids=ids)
    return respond(request, set_json(request, row, len(set(ids))), root="set")


@router.get("/{set_id}", summary="One set")
def get_set(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SET_READ))],
    set_id: SetId,
) -> Response:
    row = sets.access_set(session, identity, set_id)
    return respond(request, set_json(request, row, sets.member_counts(session, [row.id]).get(row.id, 0)), root="set")


@router.get("/{set_id}/members", summary="The members of a set")
def get_members(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SET_READ))],
    set_id: SetId,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    row = sets.access_set(session, identity, set_id)
    rows, total = sets.members(session, row, limit=limit, offset=offset)
    return respond(request, envelope("member", [member_json(request, p) for p in rows], total), root="members")

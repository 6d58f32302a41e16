"""`/api/v1` of the platform (API.md "Platform"): tenancy, parameters and access checks.

Routes translate: they parse input, call a verb of `consortium_service`, `library_service`,
`network_service` or `parameters` (or the access explanation) and answer the `*_json` shapes of
`platform.schemas` through `respond` in the conventions of API.md. History is `audit.api`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.http.answers import Limit, Offset, base_url, envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.platform import consortium_service, library_service, network_service, parameters
from consortia.platform.common import UNCHANGED
from consortia.platform.explain import explain_access
from consortia.platform.models import Consortium, Institution
from consortia.platform.schemas import (
    ConsortiumChange,
    ConsortiumCreate,
    InstitutionChange,
    InstitutionCreate,
    LibraryCreate,
    NetworkChange,
    NetworkCreate,
    NetworkMembers,
    ParameterChange,
    code_of,
    consortium_json,
    institution_json,
    library_json,
    network_json,
    parameter_json,
)

router = APIRouter(prefix="/api/v1", tags=["platform"])


def _consortium(request: Request, identity: Identity, consortium: Consortium) -> dict[str, Any]:
    members = consortium_service.consortium_members(identity, consortium)
    return consortium_json(base_url(request), consortium, members)


def _institution(request: Request, identity: Identity, institution: Institution) -> dict[str, Any]:
    """The institution, with what the domains add for those who may see it (the registration link, SC-3)."""
    extras = {extra.name: value for extra, value in consortium_service.institution_extras(identity, institution)}
    return institution_json(base_url(request), institution, extras)


# --- consortia ----------------------------------------------------------------------------------


@router.get("/consortia", summary="Consortia the caller may read")
def get_consortia(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CONSORTIUM_READ))],
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    rows, total = consortium_service.list_consortia(session, identity, limit=limit, offset=offset)
    items = [_consortium(request, identity, c) for c in rows]
    return respond(request, envelope("consortium", items, total), root="consortium")


@router.post("/consortia", status_code=201, summary="Create a consortium (operator)")
def post_consortium(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CONSORTIUM_MANAGE))],
    body: ConsortiumCreate,
) -> Response:
    consortium = consortium_service.create_consortium(
        session, identity, code=body.code, name=body.name, parent_account=body.parent_account
    )
    return respond(request, _consortium(request, identity, consortium), root="consortium", status=201)


@router.get("/consortia/{code}", summary="One consortium")
def get_consortium(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CONSORTIUM_READ))],
    code: str,
) -> Response:
    consortium = consortium_service.access_consortium(session, identity, code)
    return respond(request, _consortium(request, identity, consortium), root="consortium")


@router.patch("/consortia/{code}", summary="Change a consortium's name or parent account (operator)")
def patch_consortium(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CONSORTIUM_MANAGE))],
    code: str,
    body: ConsortiumChange,
) -> Response:
    consortium = consortium_service.update_consortium(
        session, identity, code, name=body.name, parent_account=body.parent_account, new_code=body.code
    )
    return respond(request, _consortium(request, identity, consortium), root="consortium")


# --- institutions and libraries -----------------------------------------------------------------


@router.get("/institutions", summary="Institutions the caller may read")
def get_institutions(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.INSTITUTION_READ))],
    limit: Limit = 10,
    offset: Offset = 0,
    consortium: Annotated[str | None, Query(max_length=40, description="Only members of this consortium.")] = None,
) -> Response:
    rows, total = consortium_service.list_institutions(
        session, identity, consortium=consortium, limit=limit, offset=offset
    )
    items = [_institution(request, identity, i) for i in rows]
    return respond(request, envelope("institution", items, total), root="institution")


@router.post("/institutions", status_code=201, summary="Create an institution (operator)")
def post_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.INSTITUTION_MANAGE))],
    body: InstitutionCreate,
) -> Response:
    institution = consortium_service.create_institution(
        session,
        identity,
        code=body.code,
        name=body.name,
        consortium=code_of(body.consortium),
        email_domains=body.email_domains,
    )
    return respond(request, _institution(request, identity, institution), root="institution", status=201)


@router.get("/institutions/{code}", summary="One institution")
def get_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.INSTITUTION_READ))],
    code: str,
) -> Response:
    institution = consortium_service.access_institution(session, identity, code)
    return respond(request, _institution(request, identity, institution), root="institution")


@router.patch("/institutions/{code}", summary="Change an institution's name, consortium or email domains (operator)")
def patch_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.INSTITUTION_MANAGE))],
    code: str,
    body: InstitutionChange,
) -> Response:
    given = body.model_fields_set
    institution = consortium_service.update_institution(
        session,
        identity,
        code,
        name=body.name,
        consortium=code_of(body.consortium) if "consortium" in given else UNCHANGED,
        email_domains=body.email_domains,
        new_code=body.code,
    )
    return respond(request, _institution(request, identity, institution), root="institution")


@router.get("/institutions/{code}/libraries", summary="Libraries of an institution")
def get_libraries(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LIBRARY_READ))],
    code: str,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    _institution, rows, total = library_service.list_libraries(session, identity, code, limit=limit, offset=offset)
    items = [library_json(base_url(request), library) for library in rows]
    return respond(request, envelope("library", items, total), root="library")


@router.post("/institutions/{code}/libraries", status_code=201, summary="Add a library to an institution (operator)")
def post_library(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LIBRARY_MANAGE))],
    code: str,
    body: LibraryCreate,
) -> Response:
    library = library_service.add_library(
        session,
        identity,
        code,
        code=body.code,
        name=body.name,
        campus=code_of(body.campus) or "",
        resource_sharing=body.resource_sharing,
    )
    return respond(request, library_json(base_url(request), library), root="library", status=201)


@router.get("/institutions/{code}/libraries/{library}", summary="One library of an institution")
def get_library(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LIBRARY_READ))],
    code: str,
    library: str,
) -> Response:
    institution = consortium_service.access_institution(session, identity, code, P.LIBRARY_READ)
    found = library_service.access_library(session, identity, library)
    if found.institution_id != institution.id:
        raise library_service.library_not_found(library)
    return respond(request, library_json(base_url(request), found), root="library")


# --- fulfillment networks -----------------------------------------------------------------------


@router.get("/fulfillment-networks", summary="Fulfillment networks the caller may read")
def get_networks(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.NETWORK_READ))],
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    rows, total = network_service.list_networks(session, identity, limit=limit, offset=offset)
    items = [network_json(base_url(request), n) for n in rows]
    return respond(request, envelope("fulfillment_network", items, total), root="fulfillment_network")


@router.post("/fulfillment-networks", status_code=201, summary="Create a fulfillment network (operator)")
def post_network(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.NETWORK_MANAGE))],
    body: NetworkCreate,
) -> Response:
    network = network_service.create_network(
        session,
        identity,
        code=body.code,
        name=body.name,
        members=[code_of(m) or "" for m in body.members],
    )
    return respond(request, network_json(base_url(request), network), root="fulfillment_network", status=201)


@router.get("/fulfillment-networks/{code}", summary="One fulfillment network")
def get_network(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.NETWORK_READ))],
    code: str,
) -> Response:
    network = network_service.access_network(session, identity, code)
    return respond(request, network_json(base_url(request), network), root="fulfillment_network")


@router.patch("/fulfillment-networks/{code}", summary="Rename a fulfillment network (operator)")
def patch_network(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.NETWORK_MANAGE))],
    code: str,
    body: NetworkChange,
) -> Response:
    network = network_service.update_network(session, identity, code, name=body.name, new_code=body.code)
    return respond(request, network_json(base_url(request), network), root="fulfillment_network")


@router.put("/fulfillment-networks/{code}/members", summary="Replace the members of a fulfillment network (operator)")
def put_network_members(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.NETWORK_MANAGE))],
    code: str,
    body: NetworkMembers,
) -> Response:
    network = network_service.set_network_members(session, identity, code, [code_of(m) or "" for m in body.members])
    return respond(request, network_json(base_url(request), network), root="fulfillment_network")


# --- parameters ---------------------------------------------------------------------------------


@router.get("/institutions/{code}/parameters", summary="An institution's parameters (SPEC P-2)")
def get_parameters(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PARAMETER_READ))],
    code: str,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    _institution, rows = parameters.institution_parameters(session, identity, code)
    items = [parameter_json(row) for row in rows[offset : offset + limit]]
    return respond(request, envelope("parameter", items, len(rows)), root="parameter")


@router.put("/institutions/{code}/parameters/{name}", summary="Change one parameter of an institution (SPEC P-2)")
def put_parameter(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PARAMETER_EDIT))],
    code: str,
    name: str,
    body: ParameterChange,
) -> Response:
    row = parameters.set_institution_parameter(session, identity, code, name, body.value)
    return respond(request, parameter_json(row), root="parameter")


# --- access checks ------------------------------------------------------------------


@router.get("/access/check", summary="Why an action on an object is allowed or denied (SPEC P-9)")
def get_access_check(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.ACCESS_EXPLAIN))],
    action: Annotated[str, Query(min_length=1, max_length=60, description="A permission, e.g. user:edit.")],
    obj: Annotated[
        str | None, Query(alias="object", max_length=200, description="<type>:<id>, e.g. library:EAST_LAW.")
    ] = None,
    user: Annotated[
        str | None, Query(max_length=100, description="Primary id of the user; default: the caller.")
    ] = None,
) -> Response:
    answer = explain_access(session, identity, action=action, obj=obj, user=user)
    return respond(
        request,
        {
            "allowed": answer.allowed,
            "reason": answer.reason,
            "rule": answer.rule,
            "action": answer.action,
            "object": answer.object,
            "user": answer.user,
        },
        root="access_check",
    )

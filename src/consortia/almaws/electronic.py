"""`/almaws/v1/electronic/...`: Alma's Electronic API (API.md "Electronic resources"; Alma notes §3).
Translation only: parse, call `eresources.service`, answer Alma's shapes.

Reads need `eresource:read`; writes declare the kind's permission and are decided per resource by the
scope rule (403 with the reason; other institutions' ids answer like unknown ones, 404). Answers carry
the resource's version as ETag; a PUT with `If-Match` (or `version` in the body) made from an older
version is refused with 409 (R-4).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import service
from consortia.eresources.models import ElectronicCollection, ElectronicService, Portfolio
from consortia.eresources.schemas import (
    CollectionIn,
    PortfolioIn,
    PortfolioRecord,
    ServiceIn,
    collection_json,
    portfolio_json,
    service_json,
)
from consortia.errors import BadRequest
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.jobs.models import JobInstance

router = APIRouter(prefix="/almaws/v1/electronic", tags=["Electronic"])

Id = Annotated[str, Path(min_length=1, max_length=20)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]
Reader = Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def if_match(value: str | None) -> int | None:
    """The version named by `If-Match` (`"3"` or `W/"3"`); None without one or for `*`."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdecimal() or len(text) > 9:
        raise BadRequest("If-Match must name the version of the resource (the ETag of its last answer).", "40166411")
    return int(text)


def parse_q(q: str | None, fields: set[str]) -> dict[str, str]:
    """Alma's brief search `field~value [AND field~value]`; `_` and `+` in values are spaces (60106 if invalid)."""
    if q is None or not q.strip():
        return {}
    terms: dict[str, str] = {}
    for part in q.split(" AND "):
        name, sep, value = part.strip().partition("~")
        name = name.strip().lower()
        if not sep or name not in fields or not value.strip():
            raise BadRequest(f"Invalid query format: {q}. Use {' or '.join(sorted(fields))} with ~.", "60106")
        terms[name] = value.replace("_", " ").replace("+", " ").strip()
    return terms


def _etag(resource: Any) -> dict[str, str]:
    return {"ETag": f'"{resource.version}"'}


def collection_answer(
    request: Request, session: Session, collection: ElectronicCollection, instance: JobInstance | None = None
) -> Response:
    counts = service.portfolio_counts(session, Portfolio.collection_id, [collection.id])
    body = collection_json(collection, base_url(request), portfolios=counts.get(collection.id, 0))
    if instance is not None:
        link = f"{base_url(request)}/almaws/v1/conf/jobs/{instance.job_code}/instances/{instance.id}"
        body["additional_info"] = {
            "value": f"Job no. {instance.id} triggered on {instance.submit_time:%Y-%m-%d}",
            "link": link,
        }
    return respond(request, body, root="electronic_collection", headers=_etag(collection))


def _collection_change(body: CollectionIn) -> service.CollectionChange:
    return service.CollectionChange(
        public_name=body.public_name,
        description=body.description,
        type=body.type,
        library=body.library,
        interface_name=body.interface.name if body.interface else None,
        vendor=body.interface.vendor if body.interface else None,
        activation_status=body.activation_status,
        po_line=body.po_line,
        license=body.license,
        version=body.version,
    )


# --- collections ------------------------------------------------------------------------------


@router.get("/e-collections", summary="Electronic collections")
def list_collections(
    request: Request,
    session: DbSession,
    identity: Reader,
    q: Annotated[str | None, Query(max_length=500, description="name~words or keywords~words")] = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    institution = acting_institution(session, identity)
    terms = parse_q(q, {"name", "keywords", "interface_name", "po_line_id"})
    name = terms.get("name") or terms.get("keywords")
    rows, total = service.list_collections(session, identity, institution, name=name, limit=limit, offset=offset)
    counts = service.portfolio_counts(session, Portfolio.collection_id, [c.id for c in rows])
    base = base_url(request)
    items = [collection_json(c, base, portfolios=counts.get(c.id, 0)) for c in rows]
    return respond(request, envelope("electronic_collection", items, total), root="electronic_collection")


@router.post("/e-collections", summary="Create a local electronic collection")
def post_collection(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.COLLECTION_CREATE))],
    body: Annotated[CollectionIn, Body()],
) -> Response:
    institution = acting_institution(session, identity)
    collection = service.create_collection(session, identity, institution, _collection_change(body))
    return collection_answer(request, session, collection)


@router.get("/e-collections/{collection_id}", summary="One electronic collection")
def get_collection(request: Request, session: DbSession, identity: Reader, collection_id: Id) -> Response:
    collection = service.access_collection(session, identity, collection_id)
    return collection_answer(request, session, collection)


@router.put("/e-collections/{collection_id}", summary="Update an electronic collection")
def put_collection(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.COLLECTION_EDIT))],
    collection_id: Id,
    body: Annotated[CollectionIn, Body()],
    if_match_header: IfMatch = None,
) -> Response:
    collection = service.access_collection(session, identity, collection_id, P.COLLECTION_EDIT)
    change = _collection_change(body)
    if change.version is None:
        change.version = if_match(if_match_header)
    instance = service.update_collection(session, identity, collection, change)
    return collection_answer(request, session, collection, instance)


@router.delete("/e-collections/{collection_id}", status_code=204, summary="Delete an electronic collection")
def delete_collection(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.COLLECTION_DELETE))],
    collection_id: Id,
) -> Response:
    collection = service.access_collection(session, identity, collection_id, P.COLLECTION_DELETE)
    service.delete_collection(session, identity, collection)
    return Response(status_code=204)


# --- services ---------------------------------------------------------------------------------


def service_answer(request: Request, session: Session, svc: ElectronicService) -> Response:
    counts = service.portfolio_counts(session, Portfolio.service_id, [svc.id])
    body = service_json(svc, base_url(request), portfolios=counts.get(svc.id, 0))
    return respond(request, body, root="electronic_service", headers=_etag(svc))


@router.get("/e-collections/{collection_id}/e-services", summary="The services of a collection")
def list_services(request: Request, session: DbSession, identity: Reader, collection_id: Id) -> Response:
    collection = service.access_collection(session, identity, collection_id)
    rows = service.list_services(session, collection)
    counts = service.portfolio_counts(session, Portfolio.service_id, [s.id for s in rows])
    base = base_url(request)
    items = [service_json(s, base, portfolios=counts.get(s.id, 0)) for s in rows]
    return respond(request, envelope("electronic_service", items, len(items)), root="electronic_service")


@router.post("/e-collections/{collection_id}/e-services", summary="Add a service to a collection")
def post_service(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.COLLECTION_EDIT))],
    collection_id: Id,
    body: Annotated[ServiceIn, Body()],
) -> Response:
    collection = service.access_collection(session, identity, collection_id, P.COLLECTION_EDIT)
    svc = service.create_service(
        session,
        identity,
        collection,
        type=body.type,
        public_description=body.public_description,
        activation_status=body.activation_status,
    )
    return service_answer(request, session, svc)


@router.get("/e-collections/{collection_id}/e-services/{service_id}", summary="One service")
def get_service(request: Request, session: DbSession, identity: Reader, collection_id: Id, service_id: Id) -> Response:
    return service_answer(request, session, service.access_service(session, identity, collection_id, service_id))


@router.put("/e-collections/{collection_id}/e-services/{service_id}", summary="Update a service")
def put_service(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SERVICE_EDIT))],
    collection_id: Id,
    service_id: Id,
    body: Annotated[ServiceIn, Body()],
    if_match_header: IfMatch = None,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id, P.SERVICE_EDIT)
    service.update_service(
        session,
        identity,
        svc,
        type=body.type,
        public_description=body.public_description,
        activation_status=body.activation_status,
        version=body.version if body.version is not None else if_match(if_match_header),
    )
    return service_answer(request, session, svc)


@router.delete("/e-collections/{collection_id}/e-services/{service_id}", status_code=204, summary="Delete a service")
def delete_service(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.SERVICE_DELETE))],
    collection_id: Id,
    service_id: Id,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id, P.SERVICE_DELETE)
    service.delete_service(session, identity, svc)
    return Response(status_code=204)


# --- portfolios of a service ------------------------------------------------------------------


def portfolio_answer(request: Request, portfolio: Portfolio | PortfolioRecord) -> Response:
    return respond(request, portfolio_json(portfolio, base_url(request)), root="portfolio", headers=_etag(portfolio))


def portfolio_change(body: PortfolioIn) -> service.PortfolioChange:
    ref = body.electronic_collection
    return service.PortfolioChange(
        library=body.library,
        availability=body.availability,
        coverage=body.coverage_details,
        po_line=body.po_line,
        license=body.license,
        collection_id=ref.id if ref else None,
        service_id=ref.service if ref else None,
        version=body.version,
    )


@router.get("/e-collections/{collection_id}/e-services/{service_id}/portfolios", summary="Portfolios of a service")
def list_service_portfolios(
    request: Request,
    session: DbSession,
    identity: Reader,
    collection_id: Id,
    service_id: Id,
    limit: Limit = 10,
    offset: Offset = 0,
    library: Annotated[
        str | None, Query(max_length=40, description="Only portfolios with this library of their own (ER-12).")
    ] = None,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    library_id = None
    if library and library.strip() and library.strip().upper() != "ALL":
        found = next(
            (
                lib
                for lib in service.libraries_of(session, svc.institution_id).values()
                if lib.code == library.strip().upper()
            ),
            None,
        )
        if found is None:
            raise BadRequest(f"library: The library code is not valid: {library}.", "402469")
        library_id = found.id
    rows, total = service.portfolios_of(session, service_id=svc.id, library_id=library_id, limit=limit, offset=offset)
    base = base_url(request)
    return respond(request, envelope("portfolio", [portfolio_json(p, base) for p in rows], total), root="portfolio")


@router.post(
    "/e-collections/{collection_id}/e-services/{service_id}/portfolios", summary="Add a portfolio to a service"
)
def post_service_portfolio(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_CREATE))],
    collection_id: Id,
    service_id: Id,
    body: Annotated[PortfolioIn, Body()],
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    mms = body.resource_metadata.mms_id if body.resource_metadata else None
    if not mms:
        raise BadRequest("resource_metadata.mms_id: The MMS ID is required.", "60159")
    bib = service.access_bib(session, identity, mms)
    change = portfolio_change(body)
    change.collection_id, change.service_id = str(svc.collection_id), str(svc.id)
    institution = acting_institution(session, identity)
    portfolio = service.create_portfolio(session, identity, institution, bib, change)
    return portfolio_answer(request, portfolio)


@router.get("/e-collections/{collection_id}/e-services/{service_id}/portfolios/{portfolio_id}", summary="One portfolio")
def get_service_portfolio(
    request: Request, session: DbSession, identity: Reader, collection_id: Id, service_id: Id, portfolio_id: Id
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    return portfolio_answer(request, service.access_portfolio(session, identity, portfolio_id, service_id=svc.id))


@router.put(
    "/e-collections/{collection_id}/e-services/{service_id}/portfolios/{portfolio_id}", summary="Update a portfolio"
)
def put_service_portfolio(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_EDIT))],
    collection_id: Id,
    service_id: Id,
    portfolio_id: Id,
    body: Annotated[PortfolioIn, Body()],
    if_match_header: IfMatch = None,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    portfolio = service.access_portfolio(session, identity, portfolio_id, P.PORTFOLIO_EDIT, service_id=svc.id)
    change = portfolio_change(body)
    if change.version is None:
        change.version = if_match(if_match_header)
    service.update_portfolio(session, identity, portfolio, change)
    return portfolio_answer(request, portfolio)


@router.delete(
    "/e-collections/{collection_id}/e-services/{service_id}/portfolios/{portfolio_id}",
    status_code=204,
    summary="Delete a portfolio",
)
def delete_service_portfolio(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.PORTFOLIO_DELETE))],
    collection_id: Id,
    service_id: Id,
    portfolio_id: Id,
) -> Response:
    svc = service.access_service(session, identity, collection_id, service_id)
    portfolio = service.access_portfolio(session, identity, portfolio_id, P.PORTFOLIO_DELETE, service_id=svc.id)
    service.delete_portfolio(session, identity, portfolio)
    return Response(status_code=204)

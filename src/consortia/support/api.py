"""`/api/v1/support/...` and `/api/v1/mail/outbox` (API.md "Support center"): parse, call a verb, respond.

Lists answer the exact `total_record_count` (the API is not the page path of N-5; pages bound
their counts, see `support.views`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import demand
from consortia.audit.schemas import event_json
from consortia.errors import BadRequest
from consortia.http.answers import Limit, Offset, download, envelope, respond
from consortia.http.deps import DbSession, declares, public
from consortia.mail import outbox
from consortia.platform.consortium_service import access_consortium
from consortia.platform.tenancy import institution_by_code
from consortia.support import comments, enablement, licences, registration, service, views
from consortia.support.models import CaseAttachment
from consortia.support.policy import demand_support_center
from consortia.support.registration import Registration
from consortia.support.schemas import (
    CaseSharingSwitch,
    CaseUpdate,
    CommentCreate,
    ContactChange,
    LicenceGrant,
    ShareWithChange,
    SharingRequestCreate,
    ViewClone,
    ViewUpdate,
    attachment_json,
    case_json,
    change_json,
    comment_json,
    contact_json,
    licence_json,
    message_json,
    report_json,
    view_json,
)
from consortia.support.service import CaseCreate
from consortia.support.views import ViewFilters, ViewSort

router = APIRouter(prefix="/api/v1", tags=["support"])

Reader = Annotated[Identity, Depends(declares(P.CASE_READ))]


def _case_body(identity: Identity, case: Any) -> dict[str, Any]:
    return case_json(case, service.case_abilities(identity, case).as_json())


def _first_error(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:5]]
    return "Invalid input. " + "; ".join(parts)


def _query_filters(request: Request) -> tuple[ViewFilters, ViewSort]:
    """Filters and sort of a case list from the query string (`status` etc. may repeat)."""
    params = request.query_params
    raw: dict[str, Any] = {}
    for name in ("status", "priority", "issue_type", "institution"):
        values = [v for value in params.getlist(name) for v in value.split(",") if v.strip()]
        if values:
            raw[name] = values
    for name in ("opened_from", "opened_to", "updated_from", "updated_to", "text"):
        if params.get(name):
            raw[name] = params[name]
    sort: dict[str, Any] = {}
    if params.get("sort"):
        sort["field"] = params["sort"]
    if params.get("direction"):
        sort["direction"] = params["direction"].lower()
    try:
        return ViewFilters.model_validate(raw), ViewSort.model_validate(sort)
    except ValidationError as exc:
        raise BadRequest(_first_error(exc), "40166411") from None


def _expected_version(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is not None:
        return body_version
    if not if_match:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdecimal():
        raise BadRequest("If-Match must carry the case's version number.", "40166411")
    return int(text)


# --- registration (public) --------------------------------------------------------------------


@router.post("/support/registrations", status_code=202, dependencies=[Depends(public())])
def register(request: Request, session: DbSession, body: Registration) -> Response:
    registration.register(session, body, client=request.client.host if request.client else "")
    return respond(
        request,
        {"status": "PENDING_CONFIRMATION", "message": "A confirmation link was sent to the address given."},
        status=202,
    )


@router.post("/support/registrations/{token}/confirm", dependencies=[Depends(public())])
def confirm_registration(request: Request, session: DbSession, token: str) -> Response:
    user = registration.confirm(session, token)
    return respond(request, {"primary_id": user.primary_id, "email_confirmed": True}, root="registration")


# --- cases ------------------------------------------------------------------------------------


@router.get("/support/cases")
def list_cases(
    request: Request, session: DbSession, identity: Reader, limit: Limit = 10, offset: Offset = 0
) -> Response:
    """Every case the caller may see, filtered (`status`, `priority`, `issue_type`, `institution`,
    `opened_from`..`updated_to`, `text`) and sorted (`sort`, `direction`)."""
    demand_support_center(identity)
    filters, sort = _query_filters(request)
    page = views.page_of_cases(
        session, views.cases_query(identity, None, filters), sort=sort, limit=limit, offset=offset, count_cap=None
    )
    return respond(request, envelope("case", [_case_body(identity, c) for c in page.cases], page.total), root="case")


@router.post("/support/cases", status_code=201)
def create_case(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_CREATE))],
    body: CaseCreate,
) -> Response:
    case = service.create_case(session, identity, body)
    return respond(request, _case_body(identity, case), root="case", status=201)


@router.get("/support/cases/{number}")
def get_case(request: Request, session: DbSession, identity: Reader, number: str) -> Response:
    case = service.access_case(session, identity, number)
    service.note_partner_view(session, identity, case)
    return respond(request, _case_body(identity, case), root="case")


@router.patch("/support/cases/{number}")
def patch_case(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_EDIT))],
    number: str,
    body: CaseUpdate,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_EDIT)
    service.update_case(
        session,
        identity,
        case,
        subject=body.subject,
        description=body.description,
        priority=body.priority,
        status=body.status,
        expected_version=_expected_version(body.version, if_match),
    )
    return respond(request, _case_body(identity, case), root="case")


@router.put("/support/cases/{number}/sharing")
def put_sharing(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_SHARE))],
    number: str,
    body: ShareWithChange,
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_SHARE)
    service.set_share_with(session, identity, case, body.share_with)
    return respond(request, _case_body(identity, case), root="case")


@router.get("/support/cases/{number}/comments")
def list_comments(
    request: Request, session: DbSession, identity: Reader, number: str, limit: Limit = 10, offset: Offset = 0
) -> Response:
    case = service.access_case(session, identity, number)
    rows, total = comments.comments_of(session, case, limit=limit, offset=offset)
    return respond(request, envelope("comment", [comment_json(c) for c in rows], total), root="comment")


@router.post("/support/cases/{number}/comments", status_code=201)
def post_comment(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_COMMENT))],
    number: str,
    body: CommentCreate,
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_COMMENT)
    comment = comments.add_comment(session, identity, case, body.text)
    return respond(request, comment_json(comment), root="comment", status=201)


@router.get("/support/cases/{number}/history")
def case_history(request: Request, session: DbSession, identity: Reader, number: str) -> Response:
    case = service.access_case(session, identity, number)
    events = [event_json(e) for e in service.case_history(session, case)]
    return respond(request, envelope("event", events, len(events)), root="event")


@router.get("/support/cases/{number}/attachments")
def list_attachments(request: Request, session: DbSession, identity: Reader, number: str) -> Response:
    case = service.access_case(session, identity, number)
    rows = [attachment_json(a, case.number) for a in comments.attachments_of(session, case)]
    return respond(request, envelope("attachment", rows, len(rows)), root="attachment")


# Not `async`: the verb waits on the database (on PostgreSQL for the case's row lock while another
# comment commits), which must not hold up the event loop that the other request needs to commit.
@router.post("/support/cases/{number}/attachments", status_code=201)
def post_attachment(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_COMMENT))],
    number: str,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_COMMENT)
    content = file.file.read(comments.MAX_ATTACHMENT_BYTES + 1)
    attachment = comments.add_attachment(
        session,
        identity,
        case,
        name=name or file.filename or "attachment",
        content_type=file.content_type or "application/octet-stream",
        content=content,
    )
    return respond(request, attachment_json(attachment, case.number), root="attachment", status=201)


AttachmentId = Annotated[int, Path(ge=1, le=2_000_000_000)]


@router.get("/support/cases/{number}/attachments/{attachment_id}")
def download_attachment(session: DbSession, identity: Reader, number: str, attachment_id: AttachmentId) -> Response:
    return attachment_download(comments.access_attachment(session, identity, number, attachment_id))


def attachment_download(attachment: CaseAttachment) -> Response:
    """An attachment as a download (the API's and the case page's)."""
    return download(attachment.name, attachment.content_type, attachment.content)


# --- list views -------------------------------------------------------------------------------

ViewKeeper = Annotated[Identity, Depends(declares(P.LIST_VIEW_MANAGE))]


@router.get("/support/list-views")
def list_views(request: Request, session: DbSession, identity: ViewKeeper) -> Response:
    found = views.views_for(session, identity)
    return respond(request, envelope("list_view", [view_json(v) for v in found], len(found)), root="list_view")


@router.get("/support/list-views/{view_id}")
def get_view(request: Request, session: DbSession, identity: ViewKeeper, view_id: str) -> Response:
    return respond(request, view_json(views.access_view(session, identity, view_id)), root="list_view")


@router.post("/support/list-views/{view_id}/clone", status_code=201)
def clone_view(request: Request, session: DbSession, identity: ViewKeeper, view_id: str, body: ViewClone) -> Response:
    view = views.access_view(session, identity, view_id)
    clone = views.clone_view(session, identity, view, body.name)
    return respond(request, view_json(clone), root="list_view", status=201)


@router.patch("/support/list-views/{view_id}")
def patch_view(request: Request, session: DbSession, identity: ViewKeeper, view_id: str, body: ViewUpdate) -> Response:
    view = views.access_view(session, identity, view_id)
    changed = views.update_view(
        session,
        identity,
        view,
        name=body.name,
        filters=body.filters,
        columns=list(body.columns) if body.columns is not None else None,
        sort=body.sort,
    )
    return respond(request, view_json(changed), root="list_view")


@router.delete("/support/list-views/{view_id}", status_code=204)
def delete_view(session: DbSession, identity: ViewKeeper, view_id: str) -> Response:
    views.delete_view(session, identity, views.access_view(session, identity, view_id))
    return Response(status_code=204)


@router.get("/support/list-views/{view_id}/cases")
def view_cases(
    request: Request, session: DbSession, identity: Reader, view_id: str, limit: Limit = 10, offset: Offset = 0
) -> Response:
    view = views.access_view(session, identity, view_id)
    _filters, sort = _query_filters(request)
    page = views.view_cases(
        session,
        identity,
        view,
        limit=limit,
        offset=offset,
        sort=sort if request.query_params.get("sort") else None,
        count_cap=None,
    )
    return respond(request, envelope("case", [_case_body(identity, c) for c in page.cases], page.total), root="case")


# --- enablement (SC-10, SC-1) -----------------------------------------------------------------


@router.post("/support/sharing-requests", status_code=201)
def request_sharing(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_CREATE))],
    body: SharingRequestCreate,
) -> Response:
    case = enablement.create_sharing_request(session, identity, body.consortium, body.contacts)
    return respond(request, _case_body(identity, case), root="case", status=201)


@router.put("/support/consortia/{code}/case-sharing")
def put_case_sharing(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.CASE_SHARING_MANAGE))],
    code: str,
    body: CaseSharingSwitch,
) -> Response:
    change = enablement.set_case_sharing(session, identity, code, enabled=body.enabled, request_case=body.request_case)
    case = _case_body(identity, change.request_case) if change.request_case is not None else None
    return respond(request, change_json(change, case), root="case_sharing")


# --- licences, contacts, access review (SC-11, SC-12) -----------------------------------------

LicenceManager = Annotated[Identity, Depends(declares(P.LICENCE_MANAGE))]


@router.get("/support/licences")
def list_licences(
    request: Request,
    session: DbSession,
    identity: LicenceManager,
    consortium: Annotated[str | None, Query(max_length=40)] = None,
    institution: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    demand(identity, P.LICENCE_MANAGE)
    in_consortium = access_consortium(session, identity, consortium, P.LICENCE_MANAGE) if consortium else None
    in_institution = institution_by_code(session, institution) if institution else None
    if institution and in_institution is None:
        raise BadRequest(f"Institution {institution} was not found.", "60224")
    rows, total = licences.licences(
        session, identity, consortium=in_consortium, institution=in_institution, limit=limit, offset=offset
    )
    return respond(request, envelope("licence", [licence_json(r) for r in rows], total), root="licence")


@router.post("/support/licences", status_code=201)
def grant_licence(request: Request, session: DbSession, identity: LicenceManager, body: LicenceGrant) -> Response:
    user, institution = licences.licence_contact(session, identity, body.institution, body.primary_id)
    granted = licences.grant_licence(session, identity, user, institution)
    return respond(request, licence_json(granted.licence, granted.warnings), root="licence", status=201)


@router.delete("/support/licences/{institution}/{primary_id}", status_code=204)
def remove_licence(session: DbSession, identity: LicenceManager, institution: str, primary_id: str) -> Response:
    user, found = licences.licence_contact(session, identity, institution, primary_id)
    licences.remove_licence(session, identity, user, found)
    return Response(status_code=204)


ContactManager = Annotated[Identity, Depends(declares(P.CONTACT_MANAGE))]


@router.get("/support/contacts/{institution}/{primary_id}")
def get_contact(
    request: Request, session: DbSession, identity: ContactManager, institution: str, primary_id: str
) -> Response:
    user, found = licences.access_contact(session, identity, institution, primary_id, P.CONTACT_MANAGE)
    return respond(request, contact_json(user, found), root="contact")


@router.patch("/support/contacts/{institution}/{primary_id}")
def patch_contact(
    request: Request,
    session: DbSession,
    identity: ContactManager,
    institution: str,
    primary_id: str,
    body: ContactChange,
) -> Response:
    user, found = licences.access_contact(session, identity, institution, primary_id, P.CONTACT_MANAGE)
    if body.support_level is None and body.status is None:
        raise BadRequest("Send support_level or status.", "40166411")
    warnings = licences.set_contact(
        session, identity, user, found, support_level=body.support_level, status=body.status
    )
    return respond(request, {**contact_json(user, found), "warnings": warnings}, root="contact")


ReviewManager = Annotated[Identity, Depends(declares(P.ACCESS_REVIEW))]


@router.get("/support/access-review")
def access_review(
    request: Request,
    session: DbSession,
    identity: ReviewManager,
    consortium: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    demand(identity, P.ACCESS_REVIEW)
    if not consortium:
        raise BadRequest("Name the consortium with ?consortium=CODE.", "40166411")
    found = access_consortium(session, identity, consortium, P.ACCESS_REVIEW)
    report = licences.access_report(session, identity, found)
    return respond(request, report_json(report), root="consortia_user")


@router.post("/support/access-review/{consortium}", status_code=201)
def mark_reviewed(request: Request, session: DbSession, identity: ReviewManager, consortium: str) -> Response:
    found = access_consortium(session, identity, consortium, P.ACCESS_REVIEW)
    licences.mark_reviewed(session, identity, found)
    report = licences.access_report(session, identity, found)
    return respond(request, report_json(report), root="consortia_user", status=201)


# --- mail outbox ------------------------------------------------------------------------------


@router.get("/mail/outbox")
def mail_outbox(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.MAIL_OUTBOX_READ))],
    to: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    demand(identity, P.MAIL_OUTBOX_READ)
    rows, total = outbox(session, to=to, limit=limit, offset=offset)
    return respond(request, envelope("message", [message_json(m) for m in rows], total), root="message")

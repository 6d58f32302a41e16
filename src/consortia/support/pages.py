"""Support Center pages: the case list with its views, a case with comments, status and the Share
Case pop-up, the new-case form and the case-sharing request (the custom view editor: `view_pages`).

Routes parse the form, call the same verbs as the API and redirect (303) with a flash message.
What a person may do is decided here from the policy (`can_*`) and passed to the templates.
The operator's administration pages and the public registration pages live in `admin_pages` and
`registration_pages`, included below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, demand
from consortia.audit.models import HistoryEvent
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.http.deps import DbSession, page_declares
from consortia.platform.models import Institution
from consortia.support import admin_pages, comments, enablement, registration_pages, service, sharing_pages, views
from consortia.support.api import AttachmentId, attachment_download
from consortia.support.models import (
    ISSUE_TYPES,
    MY_INSTITUTION_LABEL,
    PRIORITIES,
    SHARE_CONSORTIUM,
    SHARE_INSTITUTION,
    STATUSES,
    SupportCase,
)
from consortia.support.policy import demand_support_center
from consortia.support.schemas import share_level_desc, share_with_desc
from consortia.support.service import CaseCreate
from consortia.support.views import ViewSort
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
router.include_router(admin_pages.router)
router.include_router(registration_pages.router)
router.include_router(sharing_pages.router)

PAGE_SIZE = 25


def share_choices(institution: Institution | None) -> list[tuple[str, str]]:
    """The "Share with" options (SC-5): "My Institution", then the consortium's name."""
    consortium = institution.consortium if institution is not None else None
    choices = [(SHARE_INSTITUTION, MY_INSTITUTION_LABEL)]
    if consortium is not None:
        choices.append((SHARE_CONSORTIUM, consortium.name))
    return choices


def form_error(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


# --- the list a case was opened from -----------------------------------------------------------
# A case link from the list carries the list's view, sort and page in its query string, and the case
# page carries them on to its "← Cases" link and through its forms, so that a person comes back to
# the list they came from. Only these parameters pass, each checked (the view must be one the caller
# may use); anything else is dropped, and every link built from them is a path of this site.

MAX_PAGE = 100_000


def list_state(session: Session, identity: Identity, params: Mapping[str, str]) -> dict[str, str]:
    """The valid list parameters (`view`, `sort`, `dir`, `page`) of a query string."""
    state: dict[str, str] = {}
    view = params.get("view", "")
    if view and len(view) <= 40:
        with contextlib.suppress(NotFound):
            state["view"] = views.access_view(session, identity, view).id
    sort = params.get("sort", "")
    if sort in views.SORTABLE:
        state["sort"] = sort
        state["dir"] = "asc" if params.get("dir") == "asc" else "desc"
    page = params.get("page", "")
    if 0 < len(page) <= 6 and page.isascii() and page.isdecimal() and 1 < int(page) <= MAX_PAGE:
        state["page"] = str(int(page))
    return state


def query_of(state: Mapping[str, str]) -> str:
    return "?" + urlencode(state) if state else ""


def case_url(number: str, state: Mapping[str, str], anchor: str = "") -> str:
    """A case's page, with the list it was opened from."""
    return f"/support/cases/{number}{query_of(state)}{anchor}"


# --- the case list ----------------------------------------------------------------------------


@router.get("/support/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_READ))],
    view: Annotated[str, Query(max_length=40)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
    dir: Annotated[str, Query(max_length=4)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    demand_support_center(identity)
    chosen = views.access_view(session, identity, view or views.default_view_id(identity))
    sort_by = chosen.sort
    if sort in views.SORTABLE:
        sort_by = ViewSort(field=sort, direction="asc" if dir == "asc" else "desc")
    result = views.view_cases(
        session,
        identity,
        chosen,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        sort=sort_by,
        count_cap=views.PAGE_COUNT_CAP,
    )
    can = service.case_list_abilities(session, identity)

    def sort_link(column: str) -> str:
        direction = "asc" if sort_by.field == column and sort_by.direction == "desc" else "desc"
        return "?" + urlencode({"view": chosen.id, "sort": column, "dir": direction})

    def page_link(number: int) -> str:
        query = {"view": chosen.id, "page": str(number)}
        if sort in views.SORTABLE:
            query.update({"sort": sort_by.field, "dir": sort_by.direction})
        return "?" + urlencode(query)

    here = {"view": chosen.id}
    if sort in views.SORTABLE:
        here.update({"sort": sort_by.field, "dir": sort_by.direction})
    if page > 1:
        here["page"] = str(page)

    return render(
        request,
        "support/cases.html",
        {
            "view": chosen,
            "views": views.views_for(session, identity),
            "result": result,
            "rows": [case_row(case) for case in result.cases],
            "columns": [(c, views.COLUMN_LABELS[c]) for c in chosen.columns],
            "sortable": views.SORTABLE,
            "sort_by": sort_by,
            "sort_link": sort_link,
            "previous_link": page_link(page - 1) if page > 1 else None,
            "next_link": page_link(page + 1) if result.has_more else None,
            "page": page,
            "case_query": query_of(here),
            "can_create": can.create,
            "can_keep_views": can.keep_views,
            "can_request_sharing": can.request_sharing,
            "can_manage_contacts": can.manage_contacts,
            "count_cap": views.PAGE_COUNT_CAP,
        },
    )


def case_row(case: SupportCase) -> dict[str, Any]:
    return {
        "number": case.number,
        "subject": case.subject,
        "status": case.status,
        "priority": case.priority,
        "issue_type": case.issue_type,
        "product": case.product,
        "institution": case.institution.code,
        "institution_name": case.institution.name,
        "opened_by": case.opened_by.full_name or case.opened_by.primary_id,
        "share_with": share_with_desc(case),
        "created": case.created_at,
        "updated": case.updated_at,
    }


# --- a new case -------------------------------------------------------------------------------


def _new_case_context(session: Session, identity: Identity, values: dict[str, str], error: str = "") -> dict[str, Any]:
    institution = acting_institution(session, identity)
    return {
        "institution": institution,
        "issue_types": ISSUE_TYPES,
        "priorities": PRIORITIES,
        "can_choose_share_with": service.can_choose_share_with(identity, institution),
        "share_choices": share_choices(institution),
        "values": values,
        "error": error,
    }


@router.get("/support/cases/new", response_class=HTMLResponse)
def new_case_page(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(page_declares(P.CASE_CREATE))]
) -> Response:
    institution = acting_institution(session, identity)
    demand(identity, P.CASE_CREATE, InInstitution(institution.id))
    values = {"issue_type": "Technical", "priority": "Medium", "share_with": SHARE_INSTITUTION}
    return render(request, "support/case_new.html", _new_case_context(session, identity, values))


@router.post("/support/cases/new")
def create_case(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_CREATE))],
    subject: Annotated[str, Form(max_length=255)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    issue_type: Annotated[str, Form(max_length=40)] = "Technical",
    product: Annotated[str, Form(max_length=100)] = "",
    priority: Annotated[str, Form(max_length=20)] = "Medium",
    share_with: Annotated[str, Form(max_length=20)] = SHARE_INSTITUTION,
) -> Response:
    values = {
        "subject": subject,
        "description": description,
        "issue_type": issue_type,
        "product": product,
        "priority": priority,
        "share_with": share_with,
    }
    try:
        data = CaseCreate.model_validate(values)
        case = service.create_case(session, identity, data)
    except ValidationError as exc:
        context = _new_case_context(session, identity, values, form_error(exc))
        return render(request, "support/case_new.html", context, status=400)
    except (BadRequest, Forbidden) as exc:
        context = _new_case_context(session, identity, values, exc.message)
        return render(request, "support/case_new.html", context, status=exc.status)
    return redirect(f"/support/cases/{case.number}", f"Case {case.number} opened.")


# --- one case ---------------------------------------------------------------------------------


@router.get("/support/cases/{number}", response_class=HTMLResponse)
def case_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_READ))],
    number: str,
    share: bool = False,
) -> Response:
    case = service.access_case(session, identity, number)
    service.note_partner_view(session, identity, case)
    state = list_state(session, identity, request.query_params)
    return render(request, "support/case.html", _case_context(session, identity, case, state, open_share=share))


def _case_context(
    session: Session, identity: Identity, case: SupportCase, state: dict[str, str], *, open_share: bool
) -> dict[str, Any]:
    can = service.case_abilities(identity, case)
    case_comments, _total = comments.comments_of(session, case, limit=500, offset=0)
    request_row = enablement.sharing_request_of(session, case)
    offered = service.share_with_choices(can)
    return {
        "case": case,
        "can": can,
        "read_only_partner": can.read_only,
        "share_label": share_with_desc(case),
        "share_choices": [(value, label) for value, label in share_choices(case.institution) if value in offered],
        "next_statuses": service.next_statuses(case.status),
        "priorities": PRIORITIES,
        "comments": case_comments,
        "attachments": comments.attachments_of(session, case),
        "events": case_history_rows(case, service.case_history(session, case)),
        "list_state": state,
        "list_query": query_of(state),
        "open_share": open_share and can.share_case,
        "sharing_request": request_row,
        "can_resolve_request": enablement.may_resolve(identity, request_row),
    }


@router.get("/support/cases/{number}/share", response_class=HTMLResponse)
def share_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_SHARE))],
    number: str,
) -> Response:
    """The Share Case pop-up as a page of its own (without JavaScript the button leads here)."""
    case = service.access_case(session, identity, number, P.CASE_SHARE)
    if not service.case_abilities(identity, case).share_case:
        raise BadRequest("Case sharing is not enabled for this institution's consortium.")
    state = list_state(session, identity, request.query_params)
    return render(request, "support/case.html", _case_context(session, identity, case, state, open_share=True))


# The labels of a case's fields in its History, as the rest of the case page names them.
HISTORY_FIELD_LABELS = {
    **views.COLUMN_LABELS,
    "description": "Description",
    "comment": "Comment",
    "attachment": "Attachment",
}


def case_history_rows(case: SupportCase, events: Sequence[HistoryEvent]) -> list[dict[str, Any]]:
    """A case's history rows for templates/history.html, with the page's labels: "Share with" and
    its levels ("My Institution", the consortium's name) instead of the stored codes."""

    def shown(field: str, value: str | None) -> str | None:
        if field == "share_with" and value:
            return share_level_desc(case.institution, value)
        return value

    return [
        {
            "id": event.id,
            "at": event.at,
            "field": HISTORY_FIELD_LABELS.get(event.field, event.field),
            "old": shown(event.field, event.old),
            "new": shown(event.field, event.new),
            "actor": event.actor,
            "job_instance_id": event.job_instance_id,
        }
        for event in events
    ]


@router.post("/support/cases/{number}/sharing")
def change_sharing(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_SHARE))],
    number: str,
    share_with: Annotated[str, Form(max_length=20)],
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_SHARE)
    if share_with not in (SHARE_INSTITUTION, SHARE_CONSORTIUM):
        raise BadRequest("Choose who to share the case with.")
    service.set_share_with(session, identity, case, share_with)
    return redirect(
        case_url(case.number, list_state(session, identity, request.query_params)),
        f"Case {case.number} is now shared with: {share_with_desc(case)}.",
    )


@router.post("/support/cases/{number}/update")
def update_case(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_EDIT))],
    number: str,
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    status: Annotated[str, Form(max_length=30)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    subject: Annotated[str | None, Form(max_length=255)] = None,
    description: Annotated[str | None, Form(max_length=20_000)] = None,
) -> Response:
    """Status, priority, subject and description (the API's PATCH); a field left out stays as it is."""
    case = service.access_case(session, identity, number, P.CASE_EDIT)
    if status and status not in STATUSES:
        raise BadRequest(f"Unknown status {status}.")
    service.update_case(
        session,
        identity,
        case,
        status=status or None,
        priority=priority or None,
        subject=subject.strip() if subject is not None else None,
        # Trimmed like the API's bodies; browsers send a textarea's line breaks as CRLF, so that an
        # untouched description is no change.
        description=description.replace("\r\n", "\n").strip() if description is not None else None,
        expected_version=version,
    )
    state = list_state(session, identity, request.query_params)
    return redirect(case_url(case.number, state), f"Case {case.number} updated.")


@router.post("/support/cases/{number}/comments")
def add_comment(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_COMMENT))],
    number: str,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    case = service.access_case(session, identity, number, P.CASE_COMMENT)
    comments.add_comment(session, identity, case, text)
    state = list_state(session, identity, request.query_params)
    return redirect(case_url(case.number, state, "#comments"), "Comment added.")


@router.post("/support/cases/{number}/attachments")
def add_attachment(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_COMMENT))],
    number: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Not `async`, like the API's upload: the verb waits on the database, never on the event loop."""
    case = service.access_case(session, identity, number, P.CASE_COMMENT)
    content = file.file.read(comments.MAX_ATTACHMENT_BYTES + 1)
    attachment = comments.add_attachment(
        session,
        identity,
        case,
        name=file.filename or "attachment",
        content_type=file.content_type or "application/octet-stream",
        content=content,
    )
    state = list_state(session, identity, request.query_params)
    return redirect(case_url(case.number, state, "#attachments"), f"Attachment {attachment.name} added.")


@router.get("/support/cases/{number}/attachments/{attachment_id}")
def download_attachment(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_READ))],
    number: str,
    attachment_id: AttachmentId,
) -> Response:
    return attachment_download(comments.access_attachment(session, identity, number, attachment_id))

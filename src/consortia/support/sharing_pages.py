"""The page asking for consortium case sharing (SC-10): one row per contact, each with an institution
of the consortium and a user name, then the same verb as the API (`enablement`).

Without JavaScript the form has one row per member institution (the recommendation is one contact
per institution) and rows left empty are ignored; with it, rows can be added and removed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.platform.models import Institution, User
from consortia.support import enablement
from consortia.support.enablement import MAX_INSTITUTION_CODE, MAX_PRIMARY_ID, MAX_REQUEST_CONTACTS
from consortia.support.models import CONTACT_LEVELS
from consortia.support.schemas import SharingRequestCreate
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

NO_CONSORTIUM = "Your institution belongs to no consortium: there is nothing to share cases with."

Rows = Annotated[list[str] | None, Form()]


def _members(session: Session, institution: Institution) -> list[Institution]:
    """The consortium's institutions for the drop-down: the requester's own first, then by name."""
    if institution.consortium_id is None:
        return []
    found = session.scalars(
        select(Institution).where(Institution.consortium_id == institution.consortium_id).order_by(Institution.name)
    ).all()
    return sorted(found, key=lambda member: member.id != institution.id)


def _context(
    session: Session, identity: Identity, rows: list[tuple[str, str]] | None = None, error: str = ""
) -> dict[str, Any]:
    institution = acting_institution(session, identity)
    if institution.consortium is None:
        raise BadRequest(NO_CONSORTIUM)
    members = _members(session, institution)
    # The requester's own Support Center users, offered as suggestions for the user name.
    colleagues = session.scalars(
        select(User)
        .where(
            User.institution_id == institution.id,
            User.record_type == "STAFF",
            User.status == "ACTIVE",
            User.support_level.in_(sorted(CONTACT_LEVELS)),
        )
        .order_by(User.last_name, User.first_name, User.primary_id_key)
        .limit(200)
    ).all()
    return {
        "institution": institution,
        "consortium": institution.consortium,
        "members": members,
        "rows": rows if rows else [(member.code, "") for member in members],
        "colleagues": colleagues,
        "max_primary_id": MAX_PRIMARY_ID,
        "max_rows": MAX_REQUEST_CONTACTS,
        "error": error,
    }


@router.get("/support/sharing-request", response_class=HTMLResponse)
def sharing_request_page(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(page_declares(P.CASE_CREATE))]
) -> Response:
    return render(request, "support/sharing_request.html", _context(session, identity))


def _form_problem(rows: list[tuple[str, str]]) -> str:
    """What is wrong with the rows as typed ("" when nothing), before the verb checks the contacts."""
    named = [(number, code, pid) for number, (code, pid) in enumerate(rows, start=1) if pid]
    if not named:
        return "Name at least one contact."
    if len(named) > MAX_REQUEST_CONTACTS:
        return f"Name at most {MAX_REQUEST_CONTACTS} contacts."
    for number, code, pid in named:
        if len(pid) > MAX_PRIMARY_ID:
            return f"Contact {number}: a user name has at most {MAX_PRIMARY_ID} characters."
        if not code or len(code) > MAX_INSTITUTION_CODE:
            return f"Contact {number}: choose the contact's institution."
    return ""


@router.post("/support/sharing-request")
def sharing_request(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_CREATE))],
    contact_institution: Rows = None,
    contact_primary_id: Rows = None,
) -> Response:
    institution = acting_institution(session, identity)
    if institution.consortium is None:
        raise BadRequest(NO_CONSORTIUM)
    codes, pids = contact_institution or [], contact_primary_id or []
    if len(codes) != len(pids) or len(codes) > 2 * MAX_REQUEST_CONTACTS:
        raise BadRequest("The form is incomplete; reload the page and try again.")
    rows = [(code.strip(), pid.strip()) for code, pid in zip(codes, pids, strict=True)]
    problem = _form_problem(rows)
    if not problem:
        try:
            body = SharingRequestCreate.model_validate(
                {
                    "consortium": institution.consortium.code,
                    "contacts": [{"institution": code, "primary_id": pid} for code, pid in rows if pid],
                }
            )
            case = enablement.create_sharing_request(session, identity, body.consortium, body.contacts)
        except ValidationError:
            problem = "Check the contacts: each needs an institution and a user name."
        except BadRequest as exc:
            problem = exc.message
        else:
            return redirect(
                f"/support/cases/{case.number}", f"Case {case.number} asks the operator to enable case sharing."
            )
    context = _context(session, identity, rows[:MAX_REQUEST_CONTACTS], problem)
    return render(request, "support/sharing_request.html", context, status=400)

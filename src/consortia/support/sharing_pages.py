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
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.support import enablement
from consortia.support.enablement import MAX_INSTITUTION_CODE, MAX_PRIMARY_ID, MAX_REQUEST_CONTACTS
from consortia.support.schemas import SharingRequestCreate
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Rows = Annotated[list[str] | None, Form()]


def _context(
    session: Session, identity: Identity, rows: list[tuple[str, str]] | None = None, error: str = ""
) -> dict[str, Any]:
    form = enablement.request_form(session, identity)
    return {
        "institution": form.institution,
        "consortium": form.consortium,
        "members": form.members,
        "rows": rows if rows else [(member.code, "") for member in form.members],
        "colleagues": form.colleagues,
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
    _institution, consortium = enablement.requesting_institution(session, identity)
    codes, pids = contact_institution or [], contact_primary_id or []
    if len(codes) != len(pids) or len(codes) > 2 * MAX_REQUEST_CONTACTS:
        raise BadRequest("The form is incomplete; reload the page and try again.")
    rows = [(code.strip(), pid.strip()) for code, pid in zip(codes, pids, strict=True)]
    problem = _form_problem(rows)
    if not problem:
        try:
            body = SharingRequestCreate.model_validate(
                {
                    "consortium": consortium.code,
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

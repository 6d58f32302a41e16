"""Support Center administration pages: the operator's (case sharing per consortium, enablement
requests resolved in one step, Consortia licences, access review) and the contacts page that the
operator and an institution's General System Administrator share.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import demand
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.platform.consortium_service import access_consortium, list_consortia
from consortia.platform.models import Consortium
from consortia.support import enablement, licences
from consortia.support.models import CONSORTIA, SUPPORT_LEVELS
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _with_warning(url: str, flash: str, warnings: list[str]) -> Response:
    return redirect(url, flash, warning=" ".join(warnings))


def _consortia(session: Session, identity: Identity) -> list[Consortium]:
    """The consortia to choose from (the operator's pages: all of them, by code)."""
    return list_consortia(session, identity)[0]


# --- case sharing per consortium and enablement requests --------------------------------------


@router.get("/support/admin", response_class=HTMLResponse)
def admin_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_SHARING_MANAGE))],
) -> Response:
    requests = enablement.open_requests(session, identity)
    return render(
        request,
        "support/admin.html",
        {"consortia": _consortia(session, identity), "requests": requests},
    )


@router.post("/support/admin/consortia/{code}/case-sharing")
def switch_case_sharing(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CASE_SHARING_MANAGE))],
    code: str,
    enabled: Annotated[str, Form(max_length=5)],
    request_case: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if enabled not in {"true", "false"}:
        raise BadRequest("Choose to enable or disable case sharing.")
    change = enablement.set_case_sharing(
        session, identity, code, enabled=enabled == "true", request_case=request_case or None
    )
    state = "enabled" if change.consortium.case_sharing_enabled else "disabled"
    flash = f"Case sharing is {state} for {change.consortium.name}."
    if change.request_case is not None:
        granted = ", ".join(lic.user.primary_id for lic in change.granted) or "nobody new"
        flash += f" Licences granted to: {granted}. Case {change.request_case.number} is Solved."
        return _with_warning(f"/support/cases/{change.request_case.number}", flash, change.warnings)
    return _with_warning("/support/admin", flash, change.warnings)


# --- licences ---------------------------------------------------------------------------------


@router.get("/support/admin/licences", response_class=HTMLResponse)
def licences_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LICENCE_MANAGE))],
    consortium: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    demand(identity, P.LICENCE_MANAGE)
    chosen = access_consortium(session, identity, consortium, P.LICENCE_MANAGE) if consortium else None
    rows, total = licences.licences(session, identity, consortium=chosen, limit=100, offset=0)
    return render(
        request,
        "support/licences.html",
        {
            "licences": rows,
            "total": total,
            "consortia": _consortia(session, identity),
            "chosen": chosen,
        },
    )


@router.post("/support/admin/licences")
def grant_licence(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LICENCE_MANAGE))],
    institution: Annotated[str, Form(max_length=40)],
    primary_id: Annotated[str, Form(max_length=100)],
) -> Response:
    user, found = licences.licence_contact(session, identity, institution, primary_id)
    granted = licences.grant_licence(session, identity, user, found)
    return _with_warning(
        "/support/admin/licences", f"Consortia licence granted to {user.primary_id} ({found.code}).", granted.warnings
    )


@router.post("/support/admin/licences/{institution}/{primary_id}/remove")
def remove_licence(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LICENCE_MANAGE))],
    institution: str,
    primary_id: str,
) -> Response:
    user, found = licences.licence_contact(session, identity, institution, primary_id)
    licences.remove_licence(session, identity, user, found)
    return redirect("/support/admin/licences", f"Licence removed: {user.primary_id} ({found.code}) is STANDARD now.")


# --- access review ----------------------------------------------------------------------------


@router.get("/support/admin/access-review", response_class=HTMLResponse)
def access_review_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.ACCESS_REVIEW))],
    consortium: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    demand(identity, P.ACCESS_REVIEW)
    report = None
    if consortium:
        found = access_consortium(session, identity, consortium, P.ACCESS_REVIEW)
        report = licences.access_report(session, identity, found)
    return render(
        request,
        "support/access_review.html",
        {"consortia": _consortia(session, identity), "report": report, "period": licences.REVIEW_PERIOD_MONTHS},
    )


@router.post("/support/admin/access-review/{code}")
def mark_reviewed(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.ACCESS_REVIEW))],
    code: str,
) -> Response:
    found = access_consortium(session, identity, code, P.ACCESS_REVIEW)
    licences.mark_reviewed(session, identity, found)
    return redirect(f"/support/admin/access-review?consortium={found.code}", f"Review of {found.name} recorded.")


# --- contacts (operator, General System Administrator) ----------------------------------------


@router.get("/support/contacts", response_class=HTMLResponse)
def contacts_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONTACT_MANAGE))],
    institution: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The contacts of the institution named (or the caller's own); the choice offers every institution whose
    contacts the caller manages, shown when there is more than one."""
    directory = licences.contact_directory(session, identity, institution or None)
    return render(
        request,
        "support/contacts.html",
        {
            "institution": directory.institution,
            "institutions": directory.institutions,
            "contacts": directory.contacts,
            "levels": directory.levels,
            "consortia_level": CONSORTIA,
            "can_change_status": directory.can_change_status,
        },
    )


@router.post("/support/contacts/{institution}/{primary_id}")
def change_contact(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONTACT_MANAGE))],
    institution: str,
    primary_id: str,
    support_level: Annotated[str, Form(max_length=20)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    user, found = licences.access_contact(session, identity, institution, primary_id, P.CONTACT_MANAGE)
    if support_level and support_level not in SUPPORT_LEVELS:
        raise BadRequest(f"Unknown Support Center level {support_level}.")
    if status and status not in {"ACTIVE", "INACTIVE"}:
        raise BadRequest(f"Unknown status {status}.")
    warnings = licences.set_contact(
        session, identity, user, found, support_level=support_level or None, status=status or None
    )
    target = f"/support/contacts?institution={quote(found.code)}"
    return _with_warning(target, f"{user.primary_id}: {user.support_level}, {user.status.lower()}.", warnings)

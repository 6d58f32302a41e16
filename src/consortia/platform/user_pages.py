"""Web pages of users: create, and a user's Details and History tabs, with what every tab of a user shares.

The list is `user_list_pages`; the Roles tab `user_roles_pages`, the API keys tab `user_keys_pages`;
"My account" is `account_pages`.

Administrators work in their institution; the operator works in the institution chosen on the
start page. What the viewer may change is decided here from the policy and passed to the
templates as `can_*` flags; a page the viewer may see but not change is shown read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, decide
from consortia.audit.registry import history_page
from consortia.errors import BadRequest, DomainError, Forbidden, NotFound
from consortia.formats import parse_alma_date
from consortia.http.deps import DbSession, page_declares
from consortia.platform import codetables
from consortia.platform.models import Institution, User
from consortia.platform.tenancy import libraries_of
from consortia.platform.user_changes import IdentifierSpec, UserChanges
from consortia.platform.user_labels import user_labels
from consortia.platform.user_list_pages import page_institution
from consortia.platform.user_roles import (
    SETTABLE_SUPPORT_LEVELS,
    SUPPORT_LEVELS,
)
from consortia.platform.user_service import create_user, update_user
from consortia.platform.users import access_user
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
ShortText = Annotated[str, Form(max_length=60)]
DateText = Annotated[str, Form(max_length=20)]


def user_url(user: User, tab: str = "") -> str:
    return f"/admin/users/{quote(user.primary_id, safe='')}" + (f"/{tab}" if tab else "")


def page_user(session: Session, identity: Identity, primary_id: str, permission: P) -> User:
    page_institution(session, identity)
    return access_user(session, identity, primary_id, permission, id_type="primary_id")


@dataclass(frozen=True)
class Choices:
    """What the forms of a user offer: groups, identifier types, role types, scopes, levels."""

    groups: list[codetables.CodeRow]
    id_types: list[codetables.CodeRow]
    role_types: list[codetables.CodeRow]
    scopes: list[tuple[str, str]]
    record_types: tuple[str, ...] = ("STAFF", "PUBLIC")
    statuses: tuple[str, ...] = ("ACTIVE", "INACTIVE")
    support_levels: tuple[str, ...] = SETTABLE_SUPPORT_LEVELS


def form_choices(session: Session, institution: Institution) -> Choices:
    return Choices(
        groups=codetables.code_table(session, institution.id, codetables.USER_GROUPS),
        id_types=codetables.code_table(session, institution.id, codetables.USER_IDENTIFIER_TYPES),
        role_types=codetables.code_table(session, institution.id, codetables.USER_ROLES),
        scopes=[("", f"Institution ({institution.code})")]
        + [(lib.code, f"{lib.name} ({lib.code})") for lib in libraries_of(session, institution.id)],
    )


def user_context(session: Session, identity: Identity, user: User, tab: str) -> dict[str, Any]:
    labels = user_labels(session, user)
    edit = decide(identity, P.USER_EDIT, user)
    return {
        "user": user,
        "labels": labels,
        "tab": tab,
        "user_url": user_url(user),
        "support_levels": SUPPORT_LEVELS,
        "can_edit": edit.allowed,
        "read_only_reason": "" if edit.allowed else edit.reason,
        "can_grant": allows(identity, P.ROLE_GRANT, user),
        # Passwords and API keys are the same credentials: one rule for both (`user:credentials`).
        "can_manage_keys": allows(identity, P.USER_CREDENTIALS, user),
        "can_set_password": allows(identity, P.USER_CREDENTIALS, user),
    }


def form_date(value: str, name: str) -> Any:
    return parse_alma_date(value or None, name)


# --- create -----------------------------------------------------------------------------------


def _new_form(
    request: Request, session: Session, institution: Institution, values: dict[str, str], error: str = ""
) -> Response:
    return render(
        request,
        "users/new.html",
        {"institution": institution, "choices": form_choices(session, institution), "values": values, "error": error},
        status=400 if error else 200,
    )


@router.get("/admin/users/new", response_class=HTMLResponse)
def new_user_page(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(page_declares(P.USER_CREATE))]
) -> Response:
    institution = page_institution(session, identity)
    decision = decide(identity, P.USER_CREATE, InInstitution(institution.id))
    if not decision.allowed:
        raise Forbidden(decision.reason)
    return _new_form(request, session, institution, {"record_type": "STAFF", "status": "ACTIVE"})


@router.post("/admin/users/new")
def create_user_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREATE))],
    primary_id: Annotated[str, Form(max_length=100)] = "",
    first_name: Annotated[str, Form(max_length=100)] = "",
    middle_name: Annotated[str, Form(max_length=100)] = "",
    last_name: Annotated[str, Form(max_length=100)] = "",
    record_type: ShortText = "STAFF",
    status: ShortText = "ACTIVE",
    user_group: ShortText = "",
    email: Text = "",
    phone: ShortText = "",
    job_category: ShortText = "",
    birth_date: DateText = "",
    expiry_date: DateText = "",
    purge_date: DateText = "",
    password: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    institution = page_institution(session, identity)
    values = {
        "primary_id": primary_id,
        "first_name": first_name,
        "middle_name": middle_name,
        "last_name": last_name,
        "record_type": record_type,
        "status": status,
        "user_group": user_group,
        "email": email,
        "phone": phone,
        "job_category": job_category,
        "birth_date": birth_date,
        "expiry_date": expiry_date,
        "purge_date": purge_date,
    }
    try:
        changes = UserChanges(
            primary_id=primary_id,
            fields={
                "first_name": first_name.strip(),
                "middle_name": middle_name.strip(),
                "last_name": last_name.strip(),
                "record_type": record_type,
                "status": status,
                "user_group": user_group,
                "email": email.strip(),
                "phone": phone.strip(),
                "job_category": job_category.strip(),
                "birth_date": form_date(birth_date, "Birth date"),
                "expiry_date": form_date(expiry_date, "Expiry date"),
                "purge_date": form_date(purge_date, "Purge date"),
            },
            password=password or None,
        )
        user = create_user(session, identity, institution, changes)
    except BadRequest as exc:
        return _new_form(request, session, institution, values, exc.message)
    return redirect(user_url(user), f"User {user.primary_id} created.")


# --- details ----------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    identity: Identity,
    user: User,
    *,
    error: str = "",
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    institution = page_institution(session, identity)
    context = user_context(session, identity, user, "details")
    context.update({"choices": form_choices(session, institution), "error": error, "typed": typed})
    return render(request, "users/detail.html", context, status=status)


@router.get("/admin/users/{primary_id}", response_class=HTMLResponse)
def user_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = page_user(session, identity, primary_id, P.USER_READ)
    return _detail(request, session, identity, user)


@router.post("/admin/users/{primary_id}")
def edit_user_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_EDIT))],
    primary_id: str,
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    first_name: Annotated[str, Form(max_length=100)] = "",
    middle_name: Annotated[str, Form(max_length=100)] = "",
    last_name: Annotated[str, Form(max_length=100)] = "",
    record_type: ShortText = "STAFF",
    status: ShortText = "ACTIVE",
    user_group: ShortText = "",
    email: Text = "",
    phone: ShortText = "",
    job_category: ShortText = "",
    birth_date: DateText = "",
    expiry_date: DateText = "",
    purge_date: DateText = "",
    support_level: ShortText = "",
    password: Annotated[str, Form(max_length=500)] = "",
    identifier_type: Annotated[list[str] | None, Form()] = None,
    identifier_value: Annotated[list[str] | None, Form()] = None,
) -> Response:
    user = page_user(session, identity, primary_id, P.USER_EDIT)
    typed = {
        "first_name": first_name,
        "middle_name": middle_name,
        "last_name": last_name,
        "record_type": record_type,
        "status": status,
        "user_group": user_group,
        "email": email,
        "phone": phone,
        "job_category": job_category,
        "birth_date": birth_date,
        "expiry_date": expiry_date,
        "purge_date": purge_date,
    }
    types, values = identifier_type or [], identifier_value or []
    try:
        if len(types) != len(values) or len(types) > 100:
            raise BadRequest("The identifier rows of the form do not match; reload the page.")
        changes = UserChanges(
            fields={
                "first_name": first_name.strip(),
                "middle_name": middle_name.strip(),
                "last_name": last_name.strip(),
                "record_type": record_type,
                "status": status,
                "user_group": user_group,
                "email": email.strip(),
                "phone": phone.strip(),
                "job_category": job_category.strip(),
                "birth_date": form_date(birth_date, "Birth date"),
                "expiry_date": form_date(expiry_date, "Expiry date"),
                "purge_date": form_date(purge_date, "Purge date"),
            },
            identifiers=[
                IdentifierSpec(id_type, value.strip())
                for id_type, value in zip(types, values, strict=True)
                if id_type and value.strip()
            ],
            support_level=support_level or None,
            password=password or None,
            version=version,
        )
        update_user(session, identity, user, changes, current_session_id=request.state.signed_in.web_session.id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _detail(request, session, identity, user, error=exc.message, status=exc.status, typed=typed)
    return redirect(user_url(user), "Changes saved.")


# --- history ----------------------------------------------------------------------------------


@router.get("/admin/users/{primary_id}/history", response_class=HTMLResponse)
def user_history_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = page_user(session, identity, primary_id, P.USER_READ)
    context = user_context(session, identity, user, "history")
    events, _total = history_page(session, identity, "user", user.primary_id)
    context["events"] = list(events)
    return render(request, "users/history.html", context)

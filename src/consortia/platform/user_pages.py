"""Web pages of users: create, details with Roles / API keys / History tabs.

The list is `user_list_pages`; "My account" is `account_pages`.

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
from pydantic import Field
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, decide
from consortia.access.roles import RoleSpec
from consortia.audit.service import events_for
from consortia.errors import BadRequest, DomainError, Forbidden, NotFound
from consortia.formats import parse_alma_date
from consortia.http.deps import DbSession, page_declares
from consortia.platform import codetables
from consortia.platform.account_pages import KeyId, key_created
from consortia.platform.models import Institution, User
from consortia.platform.tenancy import libraries_of
from consortia.platform.user_changes import IdentifierSpec, UserChanges
from consortia.platform.user_keys import access_api_key, create_user_api_key, revoke_user_api_key, user_api_keys
from consortia.platform.user_labels import user_labels
from consortia.platform.user_list_pages import page_institution
from consortia.platform.user_list_pages import router as list_router
from consortia.platform.user_roles import (
    SETTABLE_SUPPORT_LEVELS,
    SUPPORT_LEVELS,
    RoleProblems,
    role_specs_of,
    set_user_roles,
)
from consortia.platform.user_service import create_user, update_user
from consortia.platform.users import access_user
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
router.include_router(list_router)

NEW_ROLE_ROWS = 3
Text = Annotated[str, Form(max_length=200)]
ShortText = Annotated[str, Form(max_length=60)]
DateText = Annotated[str, Form(max_length=20)]


def _user_url(user: User, tab: str = "") -> str:
    return f"/admin/users/{quote(user.primary_id, safe='')}" + (f"/{tab}" if tab else "")


def _page_user(session: Session, identity: Identity, primary_id: str, permission: P) -> User:
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


def _choices(session: Session, institution: Institution) -> Choices:
    return Choices(
        groups=codetables.code_table(session, institution.id, codetables.USER_GROUPS),
        id_types=codetables.code_table(session, institution.id, codetables.USER_IDENTIFIER_TYPES),
        role_types=codetables.code_table(session, institution.id, codetables.USER_ROLES),
        scopes=[("", f"Institution ({institution.code})")]
        + [(lib.code, f"{lib.name} ({lib.code})") for lib in libraries_of(session, institution.id)],
    )


def _user_context(session: Session, identity: Identity, user: User, tab: str) -> dict[str, Any]:
    labels = user_labels(session, user)
    edit = decide(identity, P.USER_EDIT, user)
    return {
        "user": user,
        "labels": labels,
        "tab": tab,
        "user_url": _user_url(user),
        "support_levels": SUPPORT_LEVELS,
        "can_edit": edit.allowed,
        "read_only_reason": "" if edit.allowed else edit.reason,
        "can_grant": allows(identity, P.ROLE_GRANT, user),
        # Passwords and API keys are the same credentials: one rule for both (`user:credentials`).
        "can_manage_keys": allows(identity, P.USER_CREDENTIALS, user),
        "can_set_password": allows(identity, P.USER_CREDENTIALS, user),
    }


def _date(value: str, name: str) -> Any:
    return parse_alma_date(value or None, name)


# --- create -----------------------------------------------------------------------------------


def _new_form(
    request: Request, session: Session, institution: Institution, values: dict[str, str], error: str = ""
) -> Response:
    return render(
        request,
        "users/new.html",
        {"institution": institution, "choices": _choices(session, institution), "values": values, "error": error},
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
                "birth_date": _date(birth_date, "Birth date"),
                "expiry_date": _date(expiry_date, "Expiry date"),
                "purge_date": _date(purge_date, "Purge date"),
            },
            password=password or None,
        )
        user = create_user(session, identity, institution, changes)
    except BadRequest as exc:
        return _new_form(request, session, institution, values, exc.message)
    return redirect(_user_url(user), f"User {user.primary_id} created.")


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
    context = _user_context(session, identity, user, "details")
    context.update({"choices": _choices(session, institution), "error": error, "typed": typed})
    return render(request, "users/detail.html", context, status=status)


@router.get("/admin/users/{primary_id}", response_class=HTMLResponse)
def user_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_READ)
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
    user = _page_user(session, identity, primary_id, P.USER_EDIT)
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
                "birth_date": _date(birth_date, "Birth date"),
                "expiry_date": _date(expiry_date, "Expiry date"),
                "purge_date": _date(purge_date, "Purge date"),
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
    return redirect(_user_url(user), "Changes saved.")


# --- roles ------------------------------------------------------------------------------------


def _roles_page(
    request: Request,
    session: Session,
    identity: Identity,
    user: User,
    rows: list[RoleSpec],
    *,
    problems: list[str] | None = None,
) -> Response:
    institution = page_institution(session, identity)
    context = _user_context(session, identity, user, "roles")
    context.update(
        {
            "choices": _choices(session, institution),
            "rows": rows,
            "new_rows": NEW_ROLE_ROWS,
            "problems": problems or [],
            "role_names": R.ROLE_TYPES,
        }
    )
    return render(request, "users/roles.html", context, status=400 if problems else 200)


@router.get("/admin/users/{primary_id}/roles", response_class=HTMLResponse)
def roles_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_READ)
    return _roles_page(request, session, identity, user, role_specs_of(user))


@router.post("/admin/users/{primary_id}/roles")
def set_roles_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.ROLE_GRANT))],
    primary_id: str,
    role_type: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[list[str] | None, Form()] = None,
    status: Annotated[list[str] | None, Form()] = None,
    expiry_date: Annotated[list[str] | None, Form()] = None,
    remove: Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]] | None, Form()] = None,
) -> Response:
    user = _page_user(session, identity, primary_id, P.ROLE_GRANT)
    types, scopes, statuses, expiries = role_type or [], scope or [], status or [], expiry_date or []
    if not (len(types) == len(scopes) == len(statuses) == len(expiries)) or len(types) > 200:
        raise BadRequest("The role rows of the form do not match; reload the page.")
    removed = set(remove or [])
    wanted: list[RoleSpec] = []
    shown: list[RoleSpec] = []
    problems: list[str] = []
    for index, (kind, where, state, until) in enumerate(zip(types, scopes, statuses, expiries, strict=True)):
        if not kind:
            continue
        try:
            expiry = _date(until, "Expiry date")
        except BadRequest as exc:
            problems.append(exc.message)
            expiry = None
        spec = RoleSpec(kind, where or None, state or "ACTIVE", expiry)
        shown.append(spec)
        if index not in removed:
            wanted.append(spec)
    try:
        if problems:
            raise RoleProblems(problems)
        set_user_roles(session, identity, user, wanted)
    except RoleProblems as exc:
        return _roles_page(request, session, identity, user, shown, problems=exc.problems)
    return redirect(_user_url(user, "roles"), "Roles saved.")


# --- API keys ---------------------------------------------------------------------------------


def _keys_page(request: Request, session: Session, identity: Identity, user: User) -> Response:
    context = _user_context(session, identity, user, "api-keys")
    context["keys"] = user_api_keys(session, identity, user) if context["can_manage_keys"] else []
    context["keys_reason"] = "" if context["can_manage_keys"] else decide(identity, P.USER_CREDENTIALS, user).reason
    return render(request, "users/api_keys.html", context)


@router.get("/admin/users/{primary_id}/api-keys", response_class=HTMLResponse)
def api_keys_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_READ)
    return _keys_page(request, session, identity, user)


@router.post("/admin/users/{primary_id}/api-keys")
def create_api_key_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    primary_id: str,
    label: Text = "",
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_CREDENTIALS)
    _key, secret = create_user_api_key(session, identity, user, label)
    return key_created(request, user, secret, _user_url(user, "api-keys"))


@router.post("/admin/users/{primary_id}/api-keys/{key_id}/revoke")
def revoke_api_key_page(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    primary_id: str,
    key_id: KeyId,
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_CREDENTIALS)
    key = access_api_key(session, identity, key_id)
    if key.user_id != user.id:
        raise NotFound(f"API key {key_id} was not found.")
    revoke_user_api_key(session, identity, key)
    return redirect(_user_url(user, "api-keys"), f"API key {key.prefix}… revoked.")


# --- history ----------------------------------------------------------------------------------


@router.get("/admin/users/{primary_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    primary_id: str,
) -> Response:
    user = _page_user(session, identity, primary_id, P.USER_READ)
    context = _user_context(session, identity, user, "history")
    context["events"] = [
        event for event in events_for(session, "user", user.primary_id) if event.institution_id == user.institution_id
    ]
    return render(request, "users/history.html", context)

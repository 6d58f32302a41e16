"""The Roles tab of a user (P-4, ER-4): the assignments, and the editor for those who may grant roles.

Shared parts of the user pages (the user's address, context and form choices) are `user_pages`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.roles import RoleSpec
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.platform.models import User
from consortia.platform.user_list_pages import page_institution
from consortia.platform.user_pages import form_choices, form_date, page_user, user_context, user_url
from consortia.platform.user_roles import RoleProblems, role_specs_of, set_user_roles
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

NEW_ROLE_ROWS = 3


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
    context = user_context(session, identity, user, "roles")
    context.update(
        {
            "choices": form_choices(session, institution),
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
    user = page_user(session, identity, primary_id, P.USER_READ)
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
    user = page_user(session, identity, primary_id, P.ROLE_GRANT)
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
            expiry = form_date(until, "Expiry date")
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
    return redirect(user_url(user, "roles"), "Roles saved.")

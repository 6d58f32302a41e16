"""The "My account" page: the signed-in person's own details, roles, password and API keys (create, revoke), and
the page that shows a new API key once (also after creating one on the API keys tab of a user)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import BadRequest, NotFound, Throttled, Unauthorized
from consortia.http.deps import DbSession, page_declares
from consortia.platform.models import User
from consortia.platform.user_keys import access_api_key, create_user_api_key, revoke_user_api_key, user_api_keys
from consortia.platform.user_labels import user_labels
from consortia.platform.user_roles import SUPPORT_LEVELS
from consortia.platform.user_service import change_own_password
from consortia.platform.users import access_own_account
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]


def key_created(request: Request, user: User, secret: str, back: str) -> Response:
    return render(request, "users/api_key_created.html", {"user": user, "secret": secret, "back": back})


def _account(
    request: Request, session: Session, identity: Identity, user: User, *, password_error: str = "", status: int = 200
) -> Response:
    labels = user_labels(session, user) if user.institution_id is not None else None
    return render(
        request,
        "users/account.html",
        {
            "user": user,
            "labels": labels,
            "support_levels": SUPPORT_LEVELS,
            "keys": user_api_keys(session, identity, user),
            "password_error": password_error,
        },
        status=status,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request, session: DbSession, identity: Annotated[Identity, Depends(page_declares(P.SIGNED_IN))]
) -> Response:
    return _account(request, session, identity, access_own_account(session, identity))


@router.post("/account/password")
def change_password_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    current_password: Annotated[str, Form(max_length=500)] = "",
    new_password: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    user = access_own_account(session, identity)
    found = request.state.signed_in
    try:
        change_own_password(
            session, identity, user, current_password, new_password, current_session_id=found.web_session.id
        )
    except (BadRequest, Unauthorized, Throttled) as exc:
        session.commit()  # a wrong current password stays counted although the request fails
        status = 429 if isinstance(exc, Throttled) else 400
        return _account(request, session, identity, user, password_error=exc.message, status=status)
    return redirect("/account", "Password changed; your other browsers are signed out.")


@router.post("/account/api-keys")
def create_own_api_key(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    label: Text = "",
) -> Response:
    user = access_own_account(session, identity)
    _key, secret = create_user_api_key(session, identity, user, label)
    return key_created(request, user, secret, "/account")


# As the API bounds it (`apikey_api`): beyond, no key exists and the databases' integers overflow.
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/account/api-keys/{key_id}/revoke")
def revoke_own_api_key(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    key_id: KeyId,
) -> Response:
    key = access_api_key(session, identity, key_id)
    if key.user_id != identity.user_id:
        raise NotFound(f"API key {key_id} was not found.")
    revoke_user_api_key(session, identity, key)
    return redirect("/account", f"API key {key.prefix}… revoked.")

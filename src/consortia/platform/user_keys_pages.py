"""The API keys tab of a user (P-5): the keys of a user the caller covers (`user:credentials`), create one
(shown once) and revoke one.

Shared parts of the user pages are `user_pages`; "My account" has the caller's own keys (`account_pages`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import decide
from consortia.errors import NotFound
from consortia.http.deps import DbSession, page_declares
from consortia.platform.account_pages import KeyId, key_created
from consortia.platform.models import User
from consortia.platform.user_keys import access_api_key, create_user_api_key, revoke_user_api_key, user_api_keys
from consortia.platform.user_pages import Text, page_user, user_context, user_url
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _keys_page(request: Request, session: Session, identity: Identity, user: User) -> Response:
    context = user_context(session, identity, user, "api-keys")
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
    user = page_user(session, identity, primary_id, P.USER_READ)
    return _keys_page(request, session, identity, user)


@router.post("/admin/users/{primary_id}/api-keys")
def create_api_key_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    primary_id: str,
    label: Text = "",
) -> Response:
    user = page_user(session, identity, primary_id, P.USER_CREDENTIALS)
    _key, secret = create_user_api_key(session, identity, user, label)
    return key_created(request, user, secret, user_url(user, "api-keys"))


@router.post("/admin/users/{primary_id}/api-keys/{key_id}/revoke")
def revoke_api_key_page(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_CREDENTIALS))],
    primary_id: str,
    key_id: KeyId,
) -> Response:
    user = page_user(session, identity, primary_id, P.USER_CREDENTIALS)
    key = access_api_key(session, identity, key_id)
    if key.user_id != user.id:
        raise NotFound(f"API key {key_id} was not found.")
    revoke_user_api_key(session, identity, key)
    return redirect(user_url(user, "api-keys"), f"API key {key.prefix}… revoked.")

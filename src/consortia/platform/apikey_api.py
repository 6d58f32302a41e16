"""`/api/v1` routes of API keys (P-5): create (the key is shown once), list without secrets, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.http.answers import base_url, envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.platform.schemas import ApiKeyIn, api_key_created_json, api_key_json
from consortia.platform.user_keys import (
    access_api_key,
    create_user_api_key,
    revoke_user_api_key,
    user_api_keys,
)
from consortia.platform.users import access_user

router = APIRouter(prefix="/api/v1", tags=["API keys"])

PrimaryId = Annotated[str, Path(min_length=1, max_length=100, description="The user's primary id.")]


@router.post("/users/{primary_id}/api-keys", status_code=201, summary="Create an API key (shown once)")
def post_api_key(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_CREDENTIALS))],
    primary_id: PrimaryId,
    body: Annotated[ApiKeyIn | None, Body()] = None,
) -> Response:
    user = access_user(session, identity, primary_id, P.USER_CREDENTIALS, id_type="primary_id")
    key, secret = create_user_api_key(session, identity, user, body.label if body is not None else "")
    return respond(request, api_key_created_json(key, secret), root="api_key", status=201)


@router.get("/users/{primary_id}/api-keys", summary="A user's API keys, without secrets")
def list_api_keys(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_CREDENTIALS))],
    primary_id: PrimaryId,
) -> Response:
    user = access_user(session, identity, primary_id, P.USER_CREDENTIALS, id_type="primary_id")
    keys = [api_key_json(base_url(request), key) for key in user_api_keys(session, identity, user)]
    return respond(request, envelope("api_key", keys, len(keys)), root="api_key")


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
def delete_api_key(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_CREDENTIALS))],
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    key = access_api_key(session, identity, key_id)
    revoke_user_api_key(session, identity, key)
    return Response(status_code=204)

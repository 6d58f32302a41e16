"""`/api/v1` routes of API keys (P-5): create (the key is shown once), list without secrets, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.formats import alma_datetime
from consortia.http.answers import envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.platform.models import ApiKey
from consortia.platform.user_keys import (
    access_api_key,
    create_user_api_key,
    revoke_user_api_key,
    user_api_keys,
)
from consortia.platform.users import access_user

router = APIRouter(prefix="/api/v1", tags=["API keys"])

PrimaryId = Annotated[str, Path(min_length=1, max_length=100, description="The user's primary id.")]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field("", max_length=200, description="What the key is for.")


def api_key_json(request: Request, key: ApiKey) -> dict[str, Any]:
    """A key without its secret."""
    return {
        "id": str(key.id),
        "prefix": key.prefix,
        "label": key.label,
        "created": alma_datetime(key.created_at),
        "last_used": alma_datetime(key.last_used_at),
        "revoked": alma_datetime(key.revoked_at),
        "link": f"{str(request.base_url).rstrip('/')}/api/v1/api-keys/{key.id}",
    }


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
    answer = {"id": str(key.id), "key": secret, "prefix": key.prefix, "created": alma_datetime(key.created_at)}
    return respond(request, answer, root="api_key", status=201)


@router.get("/users/{primary_id}/api-keys", summary="A user's API keys, without secrets")
def list_api_keys(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_CREDENTIALS))],
    primary_id: PrimaryId,
) -> Response:
    user = access_user(session, identity, primary_id, P.USER_CREDENTIALS, id_type="primary_id")
    keys = [api_key_json(request, key) for key in user_api_keys(session, identity, user)]
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

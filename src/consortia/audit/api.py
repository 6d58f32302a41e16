"""`/api/v1/history` (SPEC P-6): the history of one governed thing, for whoever may read the thing.

Each domain hands over the kinds it records (`Domain.history_kinds`); `audit.registry` answers which
rows of a kind the caller may read. Listed with the platform's routes in the API document (tag
`platform`), where it has always been.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.audit.registry import history_page
from consortia.audit.schemas import event_json
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares

router = APIRouter(prefix="/api/v1", tags=["platform"])


@router.get("/history", summary="History rows of one governed thing, oldest first (SPEC P-6)")
def get_history(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.HISTORY_READ))],
    entity: Annotated[str, Query(min_length=1, max_length=40, description="The kind: user, parameter, ...")],
    id: Annotated[str, Query(min_length=1, max_length=100, description="The thing's id or code.")],
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    events, total = history_page(session, identity, entity.strip().lower(), id.strip(), limit=limit, offset=offset)
    return respond(request, envelope("event", [event_json(e) for e in events], total), root="event")

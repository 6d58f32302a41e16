"""`/api/v1/eresources/task-lists/...` (ER-14, ER-15) and the operator's changes to the Community Zone
catalogue that feed the CZ Updates Task Lists (API.md "Electronic resources beyond Alma's API"). Parse, call
a verb, respond."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import cz, tasks
from consortia.eresources import policy as scope
from consortia.eresources.schemas import cz_collection_json
from consortia.eresources.task_models import ACTIVATION, CZ_UPDATES
from consortia.eresources.task_schemas import (
    ActivationActionIn,
    ActivationSelectionIn,
    CzCollectionPatch,
    CzPortfolioPatch,
    DismissIn,
    task_json,
)
from consortia.errors import BadRequest
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares

router = APIRouter(prefix="/api/v1", tags=["Electronic resources: task lists"])

Id = Annotated[str, Path(min_length=1, max_length=20)]
Reader = Annotated[Identity, Depends(declares(P.ERESOURCE_READ))]
TaskEditor = Annotated[Identity, Depends(declares(P.TASK_EDIT))]
CzManager = Annotated[Identity, Depends(declares(P.CZ_MANAGE))]
Status = Annotated[str | None, Query(max_length=20, description="Only items of this status (OPEN, DISMISSED, ...).")]
Action = Annotated[str, Path(max_length=20, description=", ".join(scope.ACTIVATION_TASK_ACTIONS))]


def _list(
    request: Request,
    session: DbSession,
    identity: Identity,
    task_list: str,
    status: str | None,
    limit: int,
    offset: int,
) -> Response:
    institution = acting_institution(session, identity)
    page = tasks.task_page(session, identity, institution, task_list, status=status, limit=limit, offset=offset)
    body = envelope("task", [task_json(r) for r in page.rows], page.total, in_scope_open=page.in_scope)
    return respond(request, body, root="task")


@router.get("/eresources/task-lists/cz-updates", summary="Community Zone Updates Task List (ER-14)")
def cz_updates(
    request: Request, session: DbSession, identity: Reader, status: Status = None, limit: Limit = 10, offset: Offset = 0
) -> Response:
    return _list(request, session, identity, CZ_UPDATES, status, limit, offset)


@router.post("/eresources/task-lists/cz-updates/dismiss", summary="Dismiss Selected (ER-14)")
def dismiss(request: Request, session: DbSession, identity: TaskEditor, body: Annotated[DismissIn, Body()]) -> Response:
    institution = acting_institution(session, identity)
    dismissed = tasks.dismiss_tasks(session, identity, institution, body.ids)
    return respond(request, {"dismissed": dismissed}, root="result")


@router.post("/eresources/task-lists/cz-updates/dismiss-all", summary="Dismiss All: in-scope items only (ER-14)")
def dismiss_all(request: Request, session: DbSession, identity: TaskEditor) -> Response:
    institution = acting_institution(session, identity)
    result = tasks.dismiss_all(session, identity, institution)
    return respond(request, {"dismissed": result.dismissed, "skipped": result.skipped}, root="result")


@router.get("/eresources/task-lists/activation", summary="Electronic Resource Activation Task List (ER-15)")
def activation(
    request: Request, session: DbSession, identity: Reader, status: Status = None, limit: Limit = 10, offset: Offset = 0
) -> Response:
    return _list(request, session, identity, ACTIVATION, status, limit, offset)


@router.post(
    "/eresources/task-lists/activation/{action}",
    summary="Activate, Done, Delete (Extended), Unsuppress or Change Status on selected items, all or nothing (ER-15)",
)
def activation_selection(
    request: Request,
    session: DbSession,
    identity: TaskEditor,
    action: Action,
    body: Annotated[ActivationSelectionIn, Body()],
) -> Response:
    institution = acting_institution(session, identity)
    change = tasks.ActivationChange(status=body.status)
    count = tasks.act_on_activation_tasks(session, identity, institution, body.ids, action, change)
    return respond(request, {"action": action, "changed": count}, root="result")


@router.post(
    "/eresources/task-lists/activation/{task_id}/{action}",
    summary="Edit, Edit Resource, Activate, Done, Delete (Extended), Unsuppress, Change Status (ER-15)",
)
def activation_action(
    request: Request,
    session: DbSession,
    identity: TaskEditor,
    task_id: Id,
    action: Action,
    body: Annotated[ActivationActionIn | None, Body()] = None,
) -> Response:
    if action not in scope.ACTIVATION_TASK_ACTIONS:
        raise BadRequest(f"action: {action!r} is not valid; use one of: {', '.join(scope.ACTIVATION_TASK_ACTIONS)}.")
    task = tasks.access_task(session, identity, task_id, ACTIVATION, scope.task_permission(action))
    given = body or ActivationActionIn()
    tasks.act_on_activation_task(
        session, identity, task, action, tasks.ActivationChange(**given.model_dump(exclude_none=True))
    )
    target = tasks.task_scoped(session, task)
    row = tasks.TaskRow(task, target, scope.activation_task_actions(identity, target))
    return respond(request, task_json(row), root="task")


# --- the operator's Community Zone changes ----------------------------------------------------


def _changes(body: Any) -> dict[str, Any]:
    return dict(body.model_dump(exclude_none=True))


@router.patch("/cz/portfolios/{cz_id}", summary="Change a Community Zone portfolio (operator; ER-14)")
def patch_cz_portfolio(
    request: Request, session: DbSession, identity: CzManager, cz_id: Id, body: Annotated[CzPortfolioPatch, Body()]
) -> Response:
    found = cz.access_cz_portfolio(session, identity, cz_id)
    cz.update_cz_portfolio(session, identity, found, _changes(body))
    return respond(
        request,
        {"id": str(found.id), "title": found.title, "issn": found.issn, "isbn": found.isbn, "coverage": found.coverage},
        root="portfolio",
    )


@router.delete("/cz/portfolios/{cz_id}", status_code=204, summary="Remove a Community Zone portfolio (operator)")
def delete_cz_portfolio(session: DbSession, identity: CzManager, cz_id: Id) -> Response:
    cz.delete_cz_portfolio(session, identity, cz.access_cz_portfolio(session, identity, cz_id))
    return Response(status_code=204)


@router.patch("/cz/collections/{cz_id}", summary="Change a Community Zone collection (operator; ER-14)")
def patch_cz_collection(
    request: Request, session: DbSession, identity: CzManager, cz_id: Id, body: Annotated[CzCollectionPatch, Body()]
) -> Response:
    found = cz.access_cz_collection(session, identity, cz_id)
    cz.update_cz_collection(session, identity, found, _changes(body))
    base = str(request.base_url).rstrip("/")
    return respond(request, cz_collection_json(found, base, activated=False), root="collection")


@router.delete("/cz/collections/{cz_id}", status_code=204, summary="Remove a Community Zone collection (operator)")
def delete_cz_collection(session: DbSession, identity: CzManager, cz_id: Id) -> Response:
    cz.delete_cz_collection(session, identity, cz.access_cz_collection(session, identity, cz_id))
    return Response(status_code=204)

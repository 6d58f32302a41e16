"""Task list pages: the Community Zone Updates Task List's Review tab (ER-14: Edit and Dismiss only in scope,
disabled selection boxes otherwise, Dismiss Selected, Dismiss All with the skipped count) and the Electronic
Resource Activation Task List (ER-15: no selection box and no actions out of scope). Routes parse the form,
call the verbs of `eresources.tasks` and redirect (303) with a flash message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.eresources import policy as scope
from consortia.eresources import tasks
from consortia.eresources.task_models import ACTIVATION, ACTIVATION_STATUSES, CZ_UPDATES, OPEN, STATUSES
from consortia.eresources.task_schemas import effective_library, resource_ref, resource_title
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Identity, Depends(page_declares(P.ERESOURCE_READ))]
TaskEditor = Annotated[Identity, Depends(page_declares(P.TASK_EDIT))]
PAGE_SIZE = 50
CZ_PAGE = "/eresources/task-lists/cz-updates"
ACTIVATION_PAGE = "/eresources/task-lists/activation"
SELECTION_LABELS = {
    "activate": "Activate",
    "done": "Done",
    "delete": "Delete",
    "unsuppress": "Unsuppress",
    "change_status": "Change Status",
}


def _page(request: Request, session: DbSession, identity: Identity, task_list: str, status: str, page: int) -> Response:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = acting_institution(session, identity)
    found = tasks.task_page(
        session,
        identity,
        institution,
        task_list,
        status=status or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    template = "eresources/task_cz_updates.html" if task_list == CZ_UPDATES else "eresources/task_activation.html"
    return render(
        request,
        template,
        {
            "found": found,
            "status": status,
            "statuses": STATUSES,
            "activation_statuses": ACTIVATION_STATUSES,
            "page": page,
            "has_next": page * PAGE_SIZE < found.total,
            "ref": resource_ref,
            "title_of": resource_title,
            "library_of": effective_library,
            "selection_actions": [(a, SELECTION_LABELS[a]) for a in tasks.SELECTION_ACTIONS],
        },
    )


Page = Annotated[int, Query(ge=1, le=100_000)]
StatusQuery = Annotated[str, Query(max_length=20)]


@router.get(CZ_PAGE, response_class=HTMLResponse)
def cz_updates_page(
    request: Request, session: DbSession, identity: Reader, status: StatusQuery = OPEN, page: Page = 1
) -> Response:
    return _page(request, session, identity, CZ_UPDATES, status, page)


@router.post(f"{CZ_PAGE}/dismiss")
def dismiss_selected(
    session: DbSession,
    identity: TaskEditor,
    ids: Annotated[list[str], Form(max_length=1000)] = [],  # noqa: B006 (FastAPI copies the default)
) -> Response:
    if not ids:
        raise BadRequest("Select the items to dismiss.")
    dismissed = tasks.dismiss_tasks(session, identity, acting_institution(session, identity), ids)
    return redirect(CZ_PAGE, f"{dismissed} item{'s' if dismissed != 1 else ''} dismissed.")


@router.post(f"{CZ_PAGE}/dismiss-all")
def dismiss_all(session: DbSession, identity: TaskEditor) -> Response:
    result = tasks.dismiss_all(session, identity, acting_institution(session, identity))
    return redirect(
        CZ_PAGE,
        f"{result.dismissed} item{'s' if result.dismissed != 1 else ''} dismissed; "
        f"{result.skipped} skipped (out of your role scope).",
    )


@router.get(ACTIVATION_PAGE, response_class=HTMLResponse)
def activation_page(
    request: Request, session: DbSession, identity: Reader, status: StatusQuery = "", page: Page = 1
) -> Response:
    return _page(request, session, identity, ACTIVATION, status, page)


@router.post(ACTIVATION_PAGE + "/selected")
def activation_selection(
    session: DbSession,
    identity: TaskEditor,
    action: Annotated[str, Form(max_length=20)],
    ids: Annotated[list[str], Form(max_length=1000)] = [],  # noqa: B006 (FastAPI copies the default)
    status: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    if not ids:
        raise BadRequest("Select the items to act on.")
    institution = acting_institution(session, identity)
    count = tasks.act_on_activation_tasks(
        session, identity, institution, ids, action, tasks.ActivationChange(status=status)
    )
    label = SELECTION_LABELS.get(action, action)
    return redirect(ACTIVATION_PAGE, f"{label}: done on {count} item{'s' if count != 1 else ''}.")


@router.post(ACTIVATION_PAGE + "/{tid}/{action}")
def activation_action(
    session: DbSession,
    identity: TaskEditor,
    tid: str,
    action: str,
    note: Annotated[str | None, Form(max_length=1000)] = None,
    status: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    if action not in scope.ACTIVATION_TASK_ACTIONS:
        raise BadRequest(f"Unknown action {action!r}.")
    task = tasks.access_task(session, identity, tid, ACTIVATION, scope.task_permission(action))
    tasks.act_on_activation_task(session, identity, task, action, tasks.ActivationChange(note=note, status=status))
    return redirect(ACTIVATION_PAGE, f"Task item {task.id}: {action.replace('_', ' ')} done.")

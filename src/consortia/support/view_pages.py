"""Support Center pages of custom views (SC-8): clone a view, then edit, save or delete one's own.

Routes parse the form, call the same verbs as the API (`views`) and redirect (303) with a flash message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.support import views
from consortia.support.models import ISSUE_TYPES, PRIORITIES, STATUSES
from consortia.support.pages import form_error
from consortia.support.views import ViewFilters, ViewSort
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.post("/support/views/{view_id}/clone")
def clone_view(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LIST_VIEW_MANAGE))],
    view_id: str,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    source = views.access_view(session, identity, view_id)
    clone = views.clone_view(session, identity, source, name or f"Copy of {source.name}")
    return redirect(f"/support/views/{clone.id}/edit", f"View {clone.name} created from {source.name}.")


@router.get("/support/views/{view_id}/edit", response_class=HTMLResponse)
def edit_view_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LIST_VIEW_MANAGE))],
    view_id: str,
) -> Response:
    view = views.access_view(session, identity, view_id)
    if view.built_in:
        raise BadRequest(f"{view.name} is a built-in view and cannot be changed; clone it to make your own.")
    return render(request, "support/view_edit.html", _editor_context(view))


def _editor_context(view: views.ViewDefinition, error: str = "") -> dict[str, Any]:
    return {
        "view": view,
        "base_name": view.base.name,
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "issue_types": ISSUE_TYPES,
        "all_columns": list(views.COLUMN_LABELS.items()),
        "sort_fields": [(c, label) for c, label in views.COLUMN_LABELS.items() if c in views.SORTABLE],
        "error": error,
    }


@router.post("/support/views/{view_id}")
def save_view(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LIST_VIEW_MANAGE))],
    view_id: str,
    name: Annotated[str, Form(max_length=100)],
    status: Annotated[list[str] | None, Form()] = None,
    priority: Annotated[list[str] | None, Form()] = None,
    issue_type: Annotated[list[str] | None, Form()] = None,
    institution: Annotated[str, Form(max_length=2000)] = "",
    opened_from: Annotated[str, Form(max_length=20)] = "",
    opened_to: Annotated[str, Form(max_length=20)] = "",
    updated_from: Annotated[str, Form(max_length=20)] = "",
    updated_to: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=200)] = "",
    columns: Annotated[list[str] | None, Form()] = None,
    sort_field: Annotated[str, Form(max_length=20)] = "updated",
    sort_direction: Annotated[str, Form(max_length=4)] = "desc",
) -> Response:
    view = views.access_view(session, identity, view_id)
    try:
        filters = ViewFilters.model_validate(
            {
                "status": status or [],
                "priority": priority or [],
                "issue_type": issue_type or [],
                "institution": [c for c in institution.replace(",", " ").split() if c],
                "opened_from": opened_from or None,
                "opened_to": opened_to or None,
                "updated_from": updated_from or None,
                "updated_to": updated_to or None,
                "text": text,
            }
        )
        sort = ViewSort.model_validate({"field": sort_field, "direction": sort_direction})
        views.update_view(session, identity, view, name=name, filters=filters, columns=columns or [], sort=sort)
    except ValidationError as exc:
        return render(request, "support/view_edit.html", _editor_context(view, form_error(exc)), status=400)
    except BadRequest as exc:
        return render(request, "support/view_edit.html", _editor_context(view, exc.message), status=400)
    return redirect(f"/support/cases?view={view.id}", f"View {name} saved.")


@router.post("/support/views/{view_id}/delete")
def delete_view(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LIST_VIEW_MANAGE))],
    view_id: str,
) -> Response:
    view = views.access_view(session, identity, view_id)
    views.delete_view(session, identity, view)
    return redirect("/support/cases", f"View {view.name} deleted.")

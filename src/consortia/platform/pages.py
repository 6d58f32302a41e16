"""Pages of tenancy and parameters: the operator's consortia, institutions (with libraries and
parameters) and fulfillment networks, and the parameters page of the institution one works in.
Both institution pages show what other domains add to an institution (`consortium_service.institution_extras`:
the Support Center's registration link, SC-3, for those who may hand it out).

Staff may open the pages of what they may read; editors they may not use open in View mode with
the reason (P-8). Forms post, then redirect with a message; invalid input shows the form again with
the error and nothing changed. Every decision comes from the permission map via the services.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, decide
from consortia.audit.models import HistoryEvent
from consortia.audit.registry import history_page
from consortia.errors import BadRequest
from consortia.http.deps import DbSession, page_declares
from consortia.platform import consortium_service, library_service, network_service, parameters
from consortia.platform.models import Institution
from consortia.platform.parameters import DEFINITIONS
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

VIEW_MODE = "Opened in View mode due to insufficient editing privileges: {reason}"
MAX_FORM_TEXT = 5000

Text = Annotated[str, Form(max_length=MAX_FORM_TEXT)]
Codes = Annotated[list[str] | None, Form(max_length=1000)]


def _event(event: HistoryEvent, field: str | None = None) -> dict[str, Any]:
    """A history row for templates/history.html (`field` overrides the row's own)."""
    return {
        "id": event.id,
        "at": event.at,
        "field": field or event.field,
        "old": event.old,
        "new": event.new,
        "actor": event.actor,
        "job_instance_id": event.job_instance_id,
    }


def _history(session: Session, identity: Identity, kind: str, entity_id: str) -> list[dict[str, Any]]:
    events, _total = history_page(session, identity, kind, entity_id)
    return [_event(e) for e in events]


def _view_mode(identity: Identity, permission: P, obj: Any) -> tuple[bool, str]:
    """(may edit, the View mode message when not)."""
    decision = decide(identity, permission, obj)
    return decision.allowed, "" if decision.allowed else VIEW_MODE.format(reason=decision.reason)


def _extras(identity: Identity, institution: Institution) -> list[dict[str, Any]]:
    """What the domains add to an institution's pages (the Support Center's registration link, SC-3):
    each a fragment template and its value (templates/platform/_extras.html)."""
    return [
        {"template": extra.template, "value": value}
        for extra, value in consortium_service.institution_extras(identity, institution)
    ]


def _domains(text: str) -> list[str]:
    """Email domains typed one per line (or separated by commas or spaces)."""
    return [part for part in re.split(r"[\s,;]+", text) if part]


def _failed(request: Request, template: str, context: dict[str, Any], error: BadRequest) -> Response:
    """Show the form again with the error (the route has rolled the attempt back)."""
    return render(request, template, {**context, "error": error.message}, status=400)


# --- consortia ----------------------------------------------------------------------------------


def _consortia_context(session: Session, identity: Identity) -> dict[str, Any]:
    rows, _total = consortium_service.list_consortia(session, identity)
    return {
        "consortia": [(c, consortium_service.consortium_members(identity, c)) for c in rows],
        "can_create": allows(identity, P.CONSORTIUM_MANAGE),
        "form": {"code": "", "name": "", "parent_account": ""},
        "error": "",
    }


@router.get("/operator/consortia", response_class=HTMLResponse)
def consortia_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONSORTIUM_READ))],
) -> Response:
    return render(request, "platform/consortia.html", _consortia_context(session, identity))


@router.post("/operator/consortia")
def create_consortium(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONSORTIUM_MANAGE))],
    code: Text,
    name: Text,
    parent_account: Text = "",
) -> Response:
    try:
        consortium = consortium_service.create_consortium(
            session, identity, code=code, name=name, parent_account=parent_account
        )
    except BadRequest as error:
        session.rollback()
        context = _consortia_context(session, identity)
        context["form"] = {"code": code, "name": name, "parent_account": parent_account}
        return _failed(request, "platform/consortia.html", context, error)
    return redirect(f"/operator/consortia/{consortium.code}", f"Consortium {consortium.code} created.")


def _consortium_context(session: Session, identity: Identity, code: str) -> dict[str, Any]:
    consortium = consortium_service.access_consortium(session, identity, code)
    can_edit, view_mode = _view_mode(identity, P.CONSORTIUM_MANAGE, consortium)
    return {
        "consortium": consortium,
        "members": consortium_service.consortium_members(identity, consortium),
        "can_edit": can_edit,
        "view_mode": view_mode,
        "form": {"name": consortium.name, "parent_account": consortium.parent_account},
        "events": _history(session, identity, "consortium", consortium.code),
        "error": "",
    }


@router.get("/operator/consortia/{code}", response_class=HTMLResponse)
def consortium_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONSORTIUM_READ))],
    code: str,
) -> Response:
    return render(request, "platform/consortium.html", _consortium_context(session, identity, code))


@router.post("/operator/consortia/{code}")
def update_consortium(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.CONSORTIUM_MANAGE))],
    code: str,
    name: Text,
    parent_account: Text = "",
) -> Response:
    try:
        consortium = consortium_service.update_consortium(
            session, identity, code, name=name, parent_account=parent_account
        )
    except BadRequest as error:
        session.rollback()
        context = _consortium_context(session, identity, code)
        context["form"] = {"name": name, "parent_account": parent_account}
        return _failed(request, "platform/consortium.html", context, error)
    return redirect(f"/operator/consortia/{consortium.code}", "Consortium saved.")


# --- institutions -------------------------------------------------------------------------------


def _consortium_choices(session: Session, identity: Identity) -> list[Any]:
    return consortium_service.list_consortia(session, identity)[0]


def _institutions_context(session: Session, identity: Identity) -> dict[str, Any]:
    rows, _total = consortium_service.list_institutions(session, identity)
    can_create = allows(identity, P.INSTITUTION_MANAGE)
    return {
        "institutions": rows,
        "can_create": can_create,
        "consortia": _consortium_choices(session, identity) if can_create else [],
        "form": {"code": "", "name": "", "consortium": "", "email_domains": ""},
        "error": "",
    }


@router.get("/operator/institutions", response_class=HTMLResponse)
def institutions_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.INSTITUTION_READ))],
) -> Response:
    return render(request, "platform/institutions.html", _institutions_context(session, identity))


@router.post("/operator/institutions")
def create_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.INSTITUTION_MANAGE))],
    code: Text,
    name: Text,
    consortium: Text = "",
    email_domains: Text = "",
) -> Response:
    try:
        institution = consortium_service.create_institution(
            session,
            identity,
            code=code,
            name=name,
            consortium=consortium or None,
            email_domains=_domains(email_domains),
        )
    except BadRequest as error:
        session.rollback()
        context = _institutions_context(session, identity)
        context["form"] = {"code": code, "name": name, "consortium": consortium, "email_domains": email_domains}
        return _failed(request, "platform/institutions.html", context, error)
    return redirect(f"/operator/institutions/{institution.code}", f"Institution {institution.code} created.")


def _parameter_rows(rows: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """Parameter rows with the form's target and the kind of input (bool: a choice, str: text)."""
    return [
        {**row, "action": f"{action}/{row['name']}", "kind": DEFINITIONS[row["name"]].type.__name__} for row in rows
    ]


def _parameter_events(session: Session, identity: Identity, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History of the parameters of the institution `identity` works in, the parameter's name as field."""
    events: list[dict[str, Any]] = []
    for row in rows:
        page, _total = history_page(session, identity, "parameter", row["name"])
        events.extend(_event(e, f"parameter {row['name']}") for e in page)
    return sorted(events, key=lambda e: int(e["id"]))


def _institution_context(session: Session, identity: Identity, code: str) -> dict[str, Any]:
    institution = consortium_service.access_institution(session, identity, code)
    can_edit, view_mode = _view_mode(identity, P.INSTITUTION_MANAGE, institution)
    _inst, libraries, _total = library_service.list_libraries(session, identity, institution.code)
    _inst, parameter_rows = parameters.institution_parameters(session, identity, institution.code)
    return {
        "institution": institution,
        "can_edit": can_edit,
        "view_mode": view_mode,
        "consortia": _consortium_choices(session, identity) if can_edit else [],
        "form": {
            "name": institution.name,
            "consortium": institution.consortium.code if institution.consortium else "",
            "email_domains": "\n".join(d.domain for d in institution.email_domains),
        },
        "extras": _extras(identity, institution),
        "libraries": libraries,
        "can_add_library": allows(identity, P.LIBRARY_MANAGE, institution),
        "library_form": {"code": "", "name": "", "campus": "", "resource_sharing": True},
        "parameters": _parameter_rows(parameter_rows, f"/operator/institutions/{institution.code}/parameters"),
        # The institution's history with its parameters' (the page works in the institution shown).
        "events": sorted(
            [
                *_history(session, identity, "institution", institution.code),
                *_parameter_events(session, identity.acting_in(institution.id), parameter_rows),
            ],
            key=lambda e: int(e["id"]),
        ),
        "error": "",
    }


@router.get("/operator/institutions/{code}", response_class=HTMLResponse)
def institution_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.INSTITUTION_READ))],
    code: str,
) -> Response:
    return render(request, "platform/institution.html", _institution_context(session, identity, code))


@router.post("/operator/institutions/{code}")
def update_institution(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.INSTITUTION_MANAGE))],
    code: str,
    name: Text,
    consortium: Text = "",
    email_domains: Text = "",
) -> Response:
    try:
        institution = consortium_service.update_institution(
            session, identity, code, name=name, consortium=consortium or None, email_domains=_domains(email_domains)
        )
    except BadRequest as error:
        session.rollback()
        context = _institution_context(session, identity, code)
        context["form"] = {"name": name, "consortium": consortium, "email_domains": email_domains}
        return _failed(request, "platform/institution.html", context, error)
    return redirect(f"/operator/institutions/{institution.code}", "Institution saved.")


@router.post("/operator/institutions/{code}/libraries")
def add_library(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LIBRARY_MANAGE))],
    code: str,
    library_code: Text,
    library_name: Text,
    campus: Text = "",
    resource_sharing: Annotated[bool, Form()] = False,
) -> Response:
    try:
        library = library_service.add_library(
            session,
            identity,
            code,
            code=library_code,
            name=library_name,
            campus=campus,
            resource_sharing=resource_sharing,
        )
    except BadRequest as error:
        session.rollback()
        context = _institution_context(session, identity, code)
        context["library_form"] = {
            "code": library_code,
            "name": library_name,
            "campus": campus,
            "resource_sharing": resource_sharing,
        }
        return _failed(request, "platform/institution.html", context, error)
    return redirect(f"/operator/institutions/{library.institution.code}", f"Library {library.code} added.")


@router.post("/operator/institutions/{code}/parameters/{name}")
def set_institution_parameter(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PARAMETER_EDIT))],
    code: str,
    name: str,
    value: Text = "",
) -> Response:
    try:
        parameters.set_institution_parameter(session, identity, code, name, value)
    except BadRequest as error:
        session.rollback()
        return _failed(request, "platform/institution.html", _institution_context(session, identity, code), error)
    return redirect(f"/operator/institutions/{code.strip().upper()}", f"Parameter {name} saved.")


# --- fulfillment networks -----------------------------------------------------------------------


def _networks_context(session: Session, identity: Identity) -> dict[str, Any]:
    rows, _total = network_service.list_networks(session, identity)
    can_create = allows(identity, P.NETWORK_MANAGE)
    return {
        "networks": rows,
        "can_create": can_create,
        "institutions": consortium_service.institution_choices(session, identity) if can_create else [],
        "form": {"code": "", "name": "", "members": []},
        "error": "",
    }


@router.get("/operator/networks", response_class=HTMLResponse)
def networks_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.NETWORK_READ))],
) -> Response:
    return render(request, "platform/networks.html", _networks_context(session, identity))


@router.post("/operator/networks")
def create_network(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.NETWORK_MANAGE))],
    code: Text,
    name: Text,
    members: Codes = None,
) -> Response:
    try:
        network = network_service.create_network(session, identity, code=code, name=name, members=members or [])
    except BadRequest as error:
        session.rollback()
        context = _networks_context(session, identity)
        context["form"] = {"code": code, "name": name, "members": [m.upper() for m in members or []]}
        return _failed(request, "platform/networks.html", context, error)
    return redirect(f"/operator/networks/{network.code}", f"Fulfillment network {network.code} created.")


def _network_context(session: Session, identity: Identity, code: str) -> dict[str, Any]:
    network = network_service.access_network(session, identity, code)
    can_edit, view_mode = _view_mode(identity, P.NETWORK_MANAGE, network)
    return {
        "network": network,
        "can_edit": can_edit,
        "view_mode": view_mode,
        "institutions": consortium_service.institution_choices(session, identity) if can_edit else [],
        "form": {"name": network.name, "members": [i.code for i in network.members]},
        "events": _history(session, identity, "network", network.code),
        "error": "",
    }


@router.get("/operator/networks/{code}", response_class=HTMLResponse)
def network_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.NETWORK_READ))],
    code: str,
) -> Response:
    return render(request, "platform/network.html", _network_context(session, identity, code))


@router.post("/operator/networks/{code}")
def update_network(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.NETWORK_MANAGE))],
    code: str,
    name: Text,
    members: Codes = None,
) -> Response:
    try:
        network = network_service.update_network(session, identity, code, name=name)
        network_service.set_network_members(session, identity, network.code, members or [])
    except BadRequest as error:
        session.rollback()
        context = _network_context(session, identity, code)
        context["form"] = {"name": name, "members": [m.upper() for m in members or []]}
        return _failed(request, "platform/network.html", context, error)
    return redirect(f"/operator/networks/{network.code}", "Fulfillment network saved.")


# --- the parameters of the institution one works in ---------------------------------------------


def _parameters_context(session: Session, identity: Identity) -> dict[str, Any]:
    if identity.acting_institution_id is None:
        return {"institution": None, "parameters": [], "events": [], "error": "", "extras": []}
    institution = acting_institution(session, identity)
    _inst, rows = parameters.institution_parameters(session, identity, institution.code)
    return {
        "institution": institution,
        # The General System Administrator's page of their institution: the place to find the registration link.
        "extras": _extras(identity, institution),
        "parameters": _parameter_rows(rows, "/admin/parameters"),
        "events": _parameter_events(session, identity, rows),
        "error": "",
    }


@router.get("/admin/parameters", response_class=HTMLResponse)
def parameters_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PARAMETER_READ))],
) -> Response:
    return render(request, "platform/parameters.html", _parameters_context(session, identity))


@router.post("/admin/parameters/{name}")
def set_parameter(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.PARAMETER_EDIT))],
    name: str,
    value: Text = "",
) -> Response:
    institution = acting_institution(session, identity)
    try:
        parameters.set_institution_parameter(session, identity, institution.code, name, value)
    except BadRequest as error:
        session.rollback()
        return _failed(request, "platform/parameters.html", _parameters_context(session, identity), error)
    return redirect("/admin/parameters", f"Parameter {name} saved.")

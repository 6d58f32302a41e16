"""Pages of the collaborative network: the Linked Account Rules page (add, edit, duplicate, delete, move up
and down or drag to a new place, the default rule), the three network tables, and the walk-in desk
(identify a patron, find them in the network, preview, link, refresh, lend).

Forms post, then redirect with a message; invalid input shows the form again with the error and
nothing changed. Every decision comes from the permission map through the services' abilities.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.audit.registry import history_page
from consortia.errors import BadRequest, DomainError, Forbidden, NotFound
from consortia.http.deps import DbSession, page_declares
from consortia.network import rules, service, tables
from consortia.network.models import DATE_TYPES, DEFAULT_RULE_ID, OPERATORS, SHARED_FIELDS, UNITS
from consortia.network.schemas import CodeRowIn, RuleIn, RuleOutputIn, SharedFieldIn
from consortia.platform import codetables
from consortia.platform.models import Institution
from consortia.platform.tenancy import libraries_of
from consortia.platform.users import find_user
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Identity, Depends(page_declares(P.NETWORK_CONFIG_READ))]
Editor = Annotated[Identity, Depends(page_declares(P.NETWORK_CONFIG_EDIT))]
Desk = Annotated[Identity, Depends(page_declares(P.WALK_IN_FIND))]
DESK_PAGE = 10  # walk-in search results per page
TABLE_TITLES = {
    tables.RESTRICTED_USER_GROUPS: "Restricted User Groups",
    tables.SHARED_FIELDS_TABLE: "Linked Account Shared Fields",
    tables.SEARCHABLE_IDENTIFIERS: "Searchable Identifiers",
}


def _first_error(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:5]]
    return "Invalid input. " + "; ".join(parts)


def _history(session: Session, identity: Identity, kind: str, entity_id: str) -> list[dict[str, Any]]:
    events, _total = history_page(session, identity, kind, entity_id)
    return [
        {"id": e.id, "at": e.at, "field": e.field, "old": e.old, "new": e.new, "actor": e.actor,
         "job_instance_id": e.job_instance_id}
        for e in events
    ]  # fmt: skip


# --- rules ------------------------------------------------------------------------------------


def _rules_context(session: Session, identity: Identity) -> dict[str, Any]:
    institution = rules.access_rules(session, identity)
    default = rules.default_output(session, institution.id)
    return {
        "institution": institution,
        "rules": rules.rules_of(session, institution.id),
        "default": default,
        "version": rules.list_version(session, institution.id),
        "can": service.network_abilities(identity, institution.id),
        "events": _history(session, identity, "rule", DEFAULT_RULE_ID),
    }


def _no_institution(request: Request, identity: Identity) -> Response | None:
    """The operator works in an institution chosen on the start page; without one, say so."""
    if identity.acting_institution_id is None:
        return render(request, "network/choose.html")
    return None


@router.get("/network/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: DbSession, identity: Reader) -> Response:
    if (choose := _no_institution(request, identity)) is not None:
        return choose
    return render(request, "network/rules.html", _rules_context(session, identity))


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _version(form: Any) -> int | None:
    value = _form_text(form, "version")
    return int(value) if value.isdecimal() and len(value) < 10 else None


def _date_spec(form: Any, prefix: str) -> dict[str, Any]:
    kind = _form_text(form, f"{prefix}_type") or "NONE"
    spec: dict[str, Any] = {"type": kind}
    if kind == "ABSOLUTE":
        spec["date"] = _form_text(form, f"{prefix}_date") or None
    if kind == "RELATIVE":
        offset = _form_text(form, f"{prefix}_offset") or "0"
        spec["offset"] = offset
        spec["unit"] = _form_text(form, f"{prefix}_unit") or None
    return spec


def _output_from(form: Any) -> dict[str, Any]:
    return {
        "user_group": _form_text(form, "user_group"),
        "expiry": _date_spec(form, "expiry"),
        "purge": _date_spec(form, "purge"),
        "refresh_expiry": form.get("refresh_expiry") == "true",
        "refresh_purge": form.get("refresh_purge") == "true",
        "resource_sharing_library": _form_text(form, "resource_sharing_library") or None,
        "copy_network_blocks": form.get("copy_network_blocks") == "true",
    }


def _rule_from(form: Any) -> dict[str, Any]:
    values = [v for v in form.getlist("value") if isinstance(v, str) and v.strip()]
    return {
        "name": _form_text(form, "name"),
        "description": _form_text(form, "description"),
        "input": [{"parameter": "source_institution", "operator": _form_text(form, "operator") or "in",
                   "value": values}],
        "output": _output_from(form),
        "version": _version(form),
    }  # fmt: skip


def _blank_output() -> dict[str, Any]:
    return {"user_group": "", "expiry": rules.empty_date(), "purge": rules.empty_date(), "refresh_expiry": False,
            "refresh_purge": False, "resource_sharing_library": None, "copy_network_blocks": False}  # fmt: skip


def _edit_context(
    session: Session, identity: Identity, institution: Institution, form: dict[str, Any], rule_id: str | None
) -> dict[str, Any]:
    return {
        "institution": institution,
        "form": form,
        "rule_id": rule_id,
        "is_default": rule_id == DEFAULT_RULE_ID,
        "partners": service.partner_institutions(session, institution.id),
        "groups": codetables.code_table(session, institution.id, codetables.USER_GROUPS),
        "libraries": [lib for lib in libraries_of(session, institution.id) if lib.resource_sharing],
        "operators": OPERATORS,
        "date_types": DATE_TYPES,
        "units": UNITS,
        "can": service.network_abilities(identity, institution.id),
        "events": _history(session, identity, "rule", rule_id) if rule_id else [],
    }


@router.get("/network/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, session: DbSession, identity: Editor) -> Response:
    institution = rules.access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    form = {"name": "", "description": "", "input": [{"operator": "in", "value": []}], "output": _blank_output()}
    return render(request, "network/rule_edit.html", _edit_context(session, identity, institution, form, None))


def _save_failed(
    request: Request, session: Session, identity: Identity, raw: dict[str, Any], rule_id: str | None, message: str
) -> Response:
    session.rollback()
    institution = rules.access_rules(session, identity)
    context = _edit_context(session, identity, institution, raw, rule_id)
    return render(request, "network/rule_edit.html", {**context, "error": message}, status=400)


@router.post("/network/rules/new")
async def create_rule(request: Request, session: DbSession, identity: Editor) -> Response:
    raw = _rule_from(await request.form())
    try:
        rule = rules.create_rule(session, identity, RuleIn.model_validate(raw))
    except ValidationError as exc:
        return _save_failed(request, session, identity, raw, None, _first_error(exc))
    except BadRequest as error:
        return _save_failed(request, session, identity, raw, None, error.message)
    return redirect("/network/rules", f"Rule {rule.name} added.")


@router.post("/network/rules/order")
async def reorder_rules(request: Request, session: DbSession, identity: Editor) -> Response:
    """The order dropped on the rules page (`id` once per rule, in the new order): the same verb, and so
    the same check, as the API's `PUT .../order`. An order that does not name every rule exactly once,
    or names the default rule, shows the page again with the error and nothing changed."""
    form = await request.form()
    ids = [value for value in form.getlist("id") if isinstance(value, str)]
    try:
        rules.reorder_rules(session, identity, ids, version=_version(form))
    except BadRequest as error:
        session.rollback()
        return render(
            request, "network/rules.html", {**_rules_context(session, identity), "error": error.message}, status=400
        )
    return redirect("/network/rules", "The rules were reordered.")


@router.get("/network/rules/default", response_class=HTMLResponse)
def default_rule_page(request: Request, session: DbSession, identity: Reader) -> Response:
    institution = rules.access_rules(session, identity)
    output = rules.default_output(session, institution.id)
    form = {"name": rules.DEFAULT_NAME, "description": output.pop("description", ""), "input": [], "output": output,
            "version": rules.list_version(session, institution.id)}  # fmt: skip
    return render(
        request, "network/rule_edit.html", _edit_context(session, identity, institution, form, DEFAULT_RULE_ID)
    )


@router.post("/network/rules/default")
async def save_default_rule(request: Request, session: DbSession, identity: Editor) -> Response:
    form = await request.form()
    raw = _rule_from(form)
    raw.update({"name": rules.DEFAULT_NAME, "input": []})
    try:
        output = RuleOutputIn.model_validate(raw["output"])
        rules.set_default_rule(session, identity, output, raw["description"], version=raw["version"])
    except ValidationError as exc:
        return _save_failed(request, session, identity, raw, DEFAULT_RULE_ID, _first_error(exc))
    except BadRequest as error:
        return _save_failed(request, session, identity, raw, DEFAULT_RULE_ID, error.message)
    return redirect("/network/rules", "The default rule was saved.")


@router.get("/network/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, session: DbSession, identity: Reader, rule_id: str) -> Response:
    rule = rules.access_rule(session, identity, rule_id)
    institution = rules.access_rules(session, identity)
    form = {"name": rule.name, "description": rule.description, "input": rule.inputs, "output": rule.output,
            "version": rule.version}  # fmt: skip
    return render(request, "network/rule_edit.html", _edit_context(session, identity, institution, form, str(rule.id)))


@router.post("/network/rules/{rule_id}")
async def save_rule(request: Request, session: DbSession, identity: Editor, rule_id: str) -> Response:
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    raw = _rule_from(await request.form())
    try:
        rules.update_rule(session, identity, rule, RuleIn.model_validate(raw))
    except ValidationError as exc:
        return _save_failed(request, session, identity, raw, rule_id, _first_error(exc))
    except BadRequest as error:
        return _save_failed(request, session, identity, raw, rule_id, error.message)
    return redirect("/network/rules", f"Rule {rule.name} saved.")


@router.post("/network/rules/{rule_id}/move")
async def move_rule(request: Request, session: DbSession, identity: Editor, rule_id: str) -> Response:
    form = await request.form()
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    version = _form_text(form, "version")
    institution = rules.access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    if version.isdecimal() and int(version) != rules.list_version(session, institution.id):
        raise rules.stale()
    rules.move_rule(session, identity, rule, -1 if form.get("direction") == "up" else 1)
    return redirect("/network/rules", f"Rule {rule.name} moved.")


@router.post("/network/rules/{rule_id}/duplicate")
def duplicate_rule(session: DbSession, identity: Editor, rule_id: str) -> Response:
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    copy = rules.duplicate_rule(session, identity, rule)
    return redirect(f"/network/rules/{copy.id}", f"Rule {rule.name} duplicated: edit the copy.")


@router.post("/network/rules/{rule_id}/delete")
def delete_rule(session: DbSession, identity: Editor, rule_id: str) -> Response:
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    name = rule.name
    rules.delete_rule(session, identity, rule)
    return redirect("/network/rules", f"Rule {name} deleted.")


# --- tables -----------------------------------------------------------------------------------


def _table_context(session: Session, identity: Identity, table: str) -> dict[str, Any]:
    if table not in tables.TABLES:
        raise NotFound(f"Table {table} was not found.", "402119")
    institution = tables.access_tables(session, identity)
    context: dict[str, Any] = {
        "institution": institution,
        "table": table,
        "title": TABLE_TITLES[table],
        "can": service.network_abilities(identity, institution.id),
        "events": _history(session, identity, "network_table", table),
    }
    if table == tables.SHARED_FIELDS_TABLE:
        context["fields"] = tables.shared_fields(session, institution.id)
    else:
        code_table = (
            codetables.USER_GROUPS if table == tables.RESTRICTED_USER_GROUPS else codetables.USER_IDENTIFIER_TYPES
        )
        rows = (
            tables.restricted_groups(session, institution)
            if table == tables.RESTRICTED_USER_GROUPS
            else tables.searchable_identifiers(session, institution)
        )
        context["rows"] = rows
        listed = {row.code for row in rows}
        context["choices"] = [
            r for r in codetables.code_table(session, institution.id, code_table) if r.code not in listed
        ]
    return context


@router.get("/network/tables/{table}", response_class=HTMLResponse)
def table_page(request: Request, session: DbSession, identity: Reader, table: str) -> Response:
    if (choose := _no_institution(request, identity)) is not None:
        return choose
    return render(request, "network/table.html", _table_context(session, identity, table))


@router.post("/network/tables/{table}")
async def save_table(request: Request, session: DbSession, identity: Editor, table: str) -> Response:
    context = _table_context(session, identity, table)
    form = await request.form()
    try:
        if table == tables.SHARED_FIELDS_TABLE:
            rows = [SharedFieldIn(field=f, shared=form.get(f"shared_{f}") == "true") for f in SHARED_FIELDS]
            tables.set_shared_fields(session, identity, rows)
        else:
            kept = [
                CodeRowIn(code=row.code, description=row.description)
                for row in context["rows"]
                if form.get("remove") != row.code
            ]
            added = _form_text(form, "code")
            if added:
                kept.append(CodeRowIn(code=added, description=_form_text(form, "description")[:200]))
            setter = (
                tables.set_restricted_groups
                if table == tables.RESTRICTED_USER_GROUPS
                else tables.set_searchable_identifiers
            )
            setter(session, identity, kept)
    except (BadRequest, ValidationError) as error:
        session.rollback()
        message = error.message if isinstance(error, BadRequest) else _first_error(error)
        context = _table_context(session, identity, table)
        return render(request, "network/table.html", {**context, "error": message}, status=400)
    return redirect(f"/network/tables/{table}", f"{TABLE_TITLES[table]} saved.")


# --- the walk-in desk ---------------------------------------------------------------------------


def _desk_context(
    session: Session, identity: Identity, *, identifier: str = "", name: str = "", offset: int = 0
) -> dict[str, Any]:
    institution = service.access_desk(session, identity)
    found: list[dict[str, Any]] = []
    total, exact = 0, True
    error = ""
    if identifier or name:
        try:
            patrons, total, exact = service.search_walk_in(
                session, identity, identifier=identifier or None, name=name or None, limit=DESK_PAGE, offset=offset
            )
        except BadRequest as exc:
            patrons, error = [], exc.message
        for patron in patrons:
            found.append({"patron": patron, "preview": service.preview_for(session, institution.id, patron.user)})
    return {
        "institution": institution,
        "identifier": identifier,
        "name": name,
        "found": found,
        "total": total,
        "exact": exact,
        "offset": offset,
        "page_size": DESK_PAGE,
        "searched": bool(identifier or name),
        "error": error,
        "can": service.network_abilities(identity, institution.id),
        "libraries": libraries_of(session, institution.id),
    }


@router.get("/network/walk-in", response_class=HTMLResponse)
def desk_page(
    request: Request, session: DbSession, identity: Desk, identifier: str = "", name: str = "", offset: int = 0
) -> Response:
    context = _desk_context(
        session,
        identity,
        identifier=identifier.strip()[:200],
        name=name.strip()[:200],
        offset=max(0, min(offset, 10**6)),
    )
    return render(request, "network/desk.html", context)


@router.post("/network/walk-in/identify")
async def identify_patron(request: Request, session: DbSession, identity: Desk) -> Response:
    """The patron identification step: a patron of this institution by id; with "Find user in other
    institution", a linked patron is refreshed from the source and an unknown one is looked for in the
    network."""
    form = await request.form()
    identifier = _form_text(form, "identifier")[:200]
    other = form.get("find_other") == "true"
    institution = acting_institution(session, identity)
    user = find_user(session, institution, identifier) if identifier else None
    if user is not None:
        if other and user.source_user_id is not None:
            try:
                outcome = service.refresh(session, identity, user)
            except DomainError as error:
                warning = f"{user.primary_id}: {error.message}"
                session.rollback()
                return redirect("/network/walk-in", warning=warning)
            return redirect("/network/walk-in", outcome.message)
        return redirect("/network/walk-in", f"{user.primary_id} is a patron of {institution.name}: {user.full_name}.")
    if other:
        return redirect(f"/network/walk-in?{urlencode({'identifier': identifier})}")
    return redirect("/network/walk-in", warning=f"No patron {identifier} here; tick Find user in other institution.")


@router.post("/network/walk-in/link")
async def link_patron(request: Request, session: DbSession, identity: Desk) -> Response:
    """Link a patron found in the network; an already linked one is refreshed instead (CN-9)."""
    form = await request.form()
    candidate = service.access_walk_in_patron(
        session, identity, _form_text(form, "source_institution"), _form_text(form, "source_user_id")
    )
    try:
        outcome = service.link_walk_in(session, identity, candidate, refresh_existing=True)
    except (BadRequest, Forbidden) as error:
        session.rollback()
        return redirect("/network/walk-in", warning=error.message)
    return redirect(f"/network/walk-in?{urlencode({'identifier': candidate.user.primary_id})}", outcome.message)


@router.post("/network/walk-in/loan")
async def lend_to_patron(request: Request, session: DbSession, identity: Desk) -> Response:
    form = await request.form()
    try:
        loan, user = service.walk_in_loan(
            session,
            identity,
            _form_text(form, "source_institution"),
            _form_text(form, "source_user_id"),
            _form_text(form, "item_barcode"),
            _form_text(form, "library"),
        )
    except BadRequest as error:
        session.rollback()
        return redirect("/network/walk-in", warning=error.message)
    return redirect("/network/walk-in", f"Item {loan.item_barcode} lent to {user.primary_id}, due {loan.due_date}.")


@router.post("/network/linked-accounts/{primary_id}/refresh")
def refresh_linked_account(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.LINKED_ACCOUNT_REFRESH))],
    primary_id: str,
) -> Response:
    """The account page's Refresh: the linked account refreshed from its source (CN-10)."""
    user = service.access_linked_account(session, identity, primary_id)
    page = f"/admin/users/{quote(user.primary_id, safe='')}"
    try:
        outcome = service.refresh(session, identity, user)
    except DomainError as error:
        session.rollback()
        return redirect(page, warning=error.message)
    return redirect(page, outcome.message)

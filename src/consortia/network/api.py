"""`/api/v1/network/...` (API.md "Collaborative network"): parse, call a verb, respond.

Linking and refreshing are `/almaws/v1/users` calls (almaws/users.py), as in Alma.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.almaws.users import user_body
from consortia.errors import BadRequest
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.network import rules, service, tables
from consortia.network.models import DEFAULT_RULE_ID
from consortia.network.schemas import (
    CodeTableIn,
    DefaultRuleIn,
    RuleIn,
    RuleOrderIn,
    SharedFieldsIn,
    WalkInLoanIn,
    code_row_json,
    default_rule_json,
    loan_json,
    preview_json,
    rule_json,
    walk_in_json,
)

router = APIRouter(prefix="/api/v1/network", tags=["network"])

Reader = Annotated[Identity, Depends(declares(P.NETWORK_CONFIG_READ))]
Editor = Annotated[Identity, Depends(declares(P.NETWORK_CONFIG_EDIT))]
Desk = Annotated[Identity, Depends(declares(P.WALK_IN_FIND))]
RuleId = Annotated[str, Path(min_length=1, max_length=20, description="The rule's id.")]
IfMatch = Annotated[str | None, Header(max_length=40)]


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdecimal() or len(text) > 9:
        raise BadRequest("If-Match must name the version (the ETag of the last answer).", "40166411")
    return int(text)


def _default_body(session: Session, institution_id: int, position: int) -> dict[str, Any]:
    output = rules.default_output(session, institution_id)
    description = str(output.pop("description", "") or "")
    return default_rule_json(output, description, position, rules.list_version(session, institution_id))


def _rules_answer(request: Request, session: Session, identity: Identity) -> Response:
    institution = rules.access_rules(session, identity)
    rows = [rule_json(rule) for rule in rules.rules_of(session, institution.id)]
    rows.append(_default_body(session, institution.id, len(rows) + 1))
    version = rules.list_version(session, institution.id)
    return respond(
        request, envelope("rule", rows, len(rows), version=version), root="rule", headers={"ETag": f'"{version}"'}
    )


def _rule_answer(request: Request, rule: Any, status: int = 200) -> Response:
    return respond(request, rule_json(rule), root="rule", status=status, headers={"ETag": f'"{rule.version}"'})


def _not_default(rule_id: str, action: str) -> None:
    if rule_id.strip() == DEFAULT_RULE_ID:
        raise BadRequest(f"The default rule cannot be {action}.", "40166411")


# --- rules (CN-2) ---------------------------------------------------------------------------------


@router.get("/linked-account-rules", summary="The linked account rules, in order, ending with the default rule")
def list_rules(request: Request, session: DbSession, identity: Reader) -> Response:
    return _rules_answer(request, session, identity)


@router.post("/linked-account-rules", status_code=201, summary="Add a rule at the end of the list")
def create_rule(request: Request, session: DbSession, identity: Editor, body: RuleIn) -> Response:
    return _rule_answer(request, rules.create_rule(session, identity, body), 201)


@router.put("/linked-account-rules/order", summary="Reorder the rules (the default rule stays last)")
def reorder_rules(
    request: Request, session: DbSession, identity: Editor, body: RuleOrderIn, if_match: IfMatch = None
) -> Response:
    version = body.version if body.version is not None else _if_match(if_match)
    rules.reorder_rules(session, identity, body.ids, version=version)
    return _rules_answer(request, session, identity)


@router.get("/linked-account-rules/default", summary="The default rule")
def get_default_rule(request: Request, session: DbSession, identity: Reader) -> Response:
    institution = rules.access_rules(session, identity)
    position = len(rules.rules_of(session, institution.id)) + 1
    return respond(request, _default_body(session, institution.id, position), root="rule")


@router.put("/linked-account-rules/default", summary="Edit the default rule's output parameters")
def put_default_rule(
    request: Request, session: DbSession, identity: Editor, body: DefaultRuleIn, if_match: IfMatch = None
) -> Response:
    version = body.version if body.version is not None else _if_match(if_match)
    rules.set_default_rule(session, identity, body.output, body.description, version=version)
    institution = rules.access_rules(session, identity)
    position = len(rules.rules_of(session, institution.id)) + 1
    return respond(request, _default_body(session, institution.id, position), root="rule")


@router.get("/linked-account-rules/{rule_id}", summary="One rule")
def get_rule(request: Request, session: DbSession, identity: Reader, rule_id: RuleId) -> Response:
    return _rule_answer(request, rules.access_rule(session, identity, rule_id))


@router.put("/linked-account-rules/{rule_id}", summary="Edit a rule")
def put_rule(
    request: Request, session: DbSession, identity: Editor, rule_id: RuleId, body: RuleIn, if_match: IfMatch = None
) -> Response:
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    return _rule_answer(request, rules.update_rule(session, identity, rule, body, if_match=_if_match(if_match)))


@router.delete("/linked-account-rules/{rule_id}", status_code=204, summary="Delete a rule")
def delete_rule(session: DbSession, identity: Editor, rule_id: RuleId, if_match: IfMatch = None) -> Response:
    _not_default(rule_id, "deleted")
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    rules.delete_rule(session, identity, rule, if_match=_if_match(if_match))
    return Response(status_code=204)


@router.post("/linked-account-rules/{rule_id}/duplicate", status_code=201, summary="Duplicate a rule")
def duplicate_rule(request: Request, session: DbSession, identity: Editor, rule_id: RuleId) -> Response:
    _not_default(rule_id, "duplicated (edit it instead)")
    rule = rules.access_rule(session, identity, rule_id, P.NETWORK_CONFIG_EDIT)
    return _rule_answer(request, rules.duplicate_rule(session, identity, rule), 201)


# --- tables (CN-4 .. CN-6) ------------------------------------------------------------------------


def _code_rows(request: Request, rows: list[tables.CodeRow]) -> Response:
    return respond(request, {"row": [code_row_json(r.code, r.description, r.label) for r in rows]}, root="table")


@router.get("/restricted-user-groups", summary="User groups hidden from the fulfillment network")
def get_restricted(request: Request, session: DbSession, identity: Reader) -> Response:
    institution = tables.access_tables(session, identity)
    return _code_rows(request, tables.restricted_groups(session, institution))


@router.put("/restricted-user-groups", summary="Replace the restricted user groups")
def put_restricted(request: Request, session: DbSession, identity: Editor, body: CodeTableIn) -> Response:
    return _code_rows(request, tables.set_restricted_groups(session, identity, body.row))


@router.get("/searchable-identifiers", summary="Identifier types that take part in the fulfillment network")
def get_searchable(request: Request, session: DbSession, identity: Reader) -> Response:
    institution = tables.access_tables(session, identity)
    return _code_rows(request, tables.searchable_identifiers(session, institution))


@router.put("/searchable-identifiers", summary="Replace the searchable identifiers")
def put_searchable(request: Request, session: DbSession, identity: Editor, body: CodeTableIn) -> Response:
    return _code_rows(request, tables.set_searchable_identifiers(session, identity, body.row))


def _shared_rows(request: Request, fields: dict[str, bool]) -> Response:
    return respond(request, {"row": [{"field": f, "shared": s} for f, s in fields.items()]}, root="table")


@router.get("/shared-fields", summary="Which user fields new linked accounts elsewhere receive")
def get_shared(request: Request, session: DbSession, identity: Reader) -> Response:
    institution = tables.access_tables(session, identity)
    return _shared_rows(request, tables.shared_fields(session, institution.id))


@router.put("/shared-fields", summary="Set fields shared or not (fields not named keep their setting)")
def put_shared(request: Request, session: DbSession, identity: Editor, body: SharedFieldsIn) -> Response:
    return _shared_rows(request, tables.set_shared_fields(session, identity, body.row))


# --- the walk-in desk (CN-8, CN-11, CN-13) --------------------------------------------------------


def patron_body(patron: service.WalkInPatron) -> dict[str, Any]:
    return walk_in_json(
        patron.user,
        institution_code=patron.institution.code,
        institution_name=patron.institution.name,
        group_desc=patron.group_desc,
        identifiers=patron.identifiers,
        linked_user_id=patron.linked_user.primary_id if patron.linked_user is not None else None,
    )


def preview_body(seen: service.Preview) -> dict[str, Any]:
    return preview_json(
        rule_id=seen.choice.rule_id,
        rule_name=seen.choice.name,
        reason=seen.choice.reason,
        user_group=seen.user_group,
        group_desc=seen.group_desc,
        expiry=seen.expiry,
        purge=seen.purge,
        library=(seen.library.code, seen.library.name) if seen.library is not None else None,
    )


@router.get("/walk-in/search", summary="Search the fulfillment networks for a walk-in patron")
def search(
    request: Request,
    session: DbSession,
    identity: Desk,
    identifier: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    found, total, exact = service.search_walk_in(
        session, identity, identifier=identifier, name=name, limit=limit, offset=offset
    )
    body = envelope("patron", [patron_body(p) for p in found], total, total_is_exact=exact)
    return respond(request, body, root="patron")


@router.get("/walk-in/preview", summary="Which rule linking would apply, with the group and dates")
def get_preview(
    request: Request,
    session: DbSession,
    identity: Desk,
    source_institution: Annotated[str, Query(min_length=1, max_length=40)],
    source_user_id: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    candidate = service.access_walk_in_patron(session, identity, source_institution, source_user_id)
    return respond(request, preview_body(service.preview(session, candidate)), root="preview")


@router.post("/walk-in/loans", summary="Lend to a walk-in patron, linking them first when needed")
def walk_in_loan(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LINKED_ACCOUNT_REFRESH))],
    body: WalkInLoanIn,
) -> Response:
    loan, user = service.walk_in_loan(
        session, identity, body.source_institution, body.source_user_id, body.item_barcode, body.library
    )
    return respond(request, {"loan": loan_json(loan), "user": user_body(request, session, user)}, root="item_loan")

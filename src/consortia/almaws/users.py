"""`/almaws/v1/users`: Alma's users API (API.md "Users"; Alma notes §2). Translation only.

The operator names the institution with `?institution=CODE`; everyone else works in their own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.almaws.user_json import LoanIn, UserIn, brief_user_json, changes_from_json, user_json
from consortia.errors import BadRequest
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import ApiCaller, DbSession, api_caller, declares, in_one_hop
from consortia.network import rules as network_rules
from consortia.network import service as network
from consortia.network.schemas import loan_json
from consortia.platform.models import User, UserRecord, record_of
from consortia.platform.tenancy import library_by_code
from consortia.platform.user_labels import UserLabels, user_labels
from consortia.platform.user_reads import access_user_record
from consortia.platform.user_service import create_user, delete_user, update_user
from consortia.platform.users import (
    access_linked_user,
    access_user,
    parse_order_by,
    parse_user_query,
    search_users,
)

router = APIRouter(prefix="/almaws/v1", tags=["Users"])

UserId = Annotated[str, Path(min_length=1, max_length=200, description="The user's primary id or an identifier.")]
UserIdType = Annotated[
    str,
    Query(
        max_length=60,
        description="all_unique (primary id or any identifier), primary_id, linking_id, or an identifier type code.",
    ),
]
SourceInstitution = Annotated[
    str | None,
    Query(max_length=40, description="With it, the user id is the source user id of a linked account."),
]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _with_rule_name(session: Session, record: UserRecord, labels: UserLabels) -> UserLabels:
    """The labels with the name of the rule a linked account was made by (only linked accounts read it)."""
    if record.linked_rule and record.institution_id is not None:
        name = network_rules.rule_name(session, record.institution_id, record.linked_rule)
        return replace(labels, linked_rule_name=name)
    return labels


def user_body(request: Request, session: Session, user: User) -> dict[str, Any]:
    """The full user JSON, with the name of the rule a linked account was made by."""
    record = record_of(user)
    return user_json(record, _with_rule_name(session, record, user_labels(session, user)), base_url(request))


def _answer(request: Request, session: Session, user: User, status: int = 200) -> Response:
    return _answer_record(request, session, record_of(user), user_labels(session, user), status)


def _answer_record(
    request: Request, session: Session, record: UserRecord, labels: UserLabels, status: int = 200
) -> Response:
    body = user_json(record, _with_rule_name(session, record, labels), base_url(request))
    return respond(request, body, root="user", status=status, headers={"ETag": f'"{record.version}"'})


def _if_match(value: str | None) -> int | None:
    """The version named by an `If-Match` header (`"3"` or `W/"3"`), None without one or for `*`."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdecimal() or len(text) > 9:
        raise BadRequest("If-Match must name the version of the user (the ETag of its last answer).", "40166411")
    return int(text)


@router.get("/users", summary="Search users")
def list_users(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_READ))],
    q: Annotated[str | None, Query(max_length=2000, description="e.g. last_name~Smith AND user_group~STAFF")] = None,
    limit: Limit = 10,
    offset: Offset = 0,
    order_by: Annotated[str | None, Query(max_length=100)] = None,
    source_institution_code: Annotated[str | None, Query(max_length=40)] = None,
    source_user_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    institution = acting_institution(session, identity)
    terms = parse_user_query(q)
    order = parse_order_by(order_by)
    source = None
    if source_institution_code or source_user_id:
        if not (source_institution_code and source_user_id):
            raise BadRequest("Give both source_institution_code and source_user_id.", "40166411")
        source = (source_institution_code, source_user_id)
    users, total = search_users(
        session, identity, institution, terms, order_by=order, limit=limit, offset=offset, source=source
    )
    base = base_url(request)
    return respond(request, envelope("user", [brief_user_json(user, base) for user in users], total), root="user")


@router.post("/users", summary="Create a user")
def post_user(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_CREATE))],
    body: Annotated[UserIn | None, Body()] = None,
    source_institution_code: Annotated[str | None, Query(max_length=40)] = None,
    source_user_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Create a user; with `source_institution_code` + `source_user_id`, link that walk-in patron instead
    (CN-9: the desk's staff may, under `walk-in:find`; the body is ignored)."""
    if source_institution_code is not None or source_user_id is not None:
        if not (source_institution_code and source_user_id):
            raise BadRequest("Give both source_institution_code and source_user_id to link a patron.", "40166411")
        candidate = network.access_walk_in_patron(session, identity, source_institution_code, source_user_id)
        outcome = network.link_walk_in(session, identity, candidate, refresh_existing=False)
        return _answer(request, session, outcome.user)
    body = body or UserIn()
    institution = acting_institution(session, identity)
    changes = changes_from_json(body, institution_code=institution.code, swap_all=False)
    user = create_user(session, identity, institution, changes)
    return _answer(request, session, user)


@router.get("/users/{user_id}", summary="Get a user")
async def get_user(
    request: Request,
    session: DbSession,
    caller: Annotated[ApiCaller, Depends(api_caller(P.USER_READ))],
    user_id: UserId,
    user_id_type: UserIdType = "all_unique",
    source_institution_code: SourceInstitution = None,
) -> Response:
    # The hot read of Alma clients (N-6): key check, read and commit in one thread-pool call.
    def work() -> Response:
        identity = caller.identity(session, keep_institution=bool(source_institution_code))
        if source_institution_code:
            user = access_linked_user(session, identity, source_institution_code, user_id, P.USER_READ)
            return _answer(request, session, user)
        record, labels = access_user_record(session, identity, user_id, P.USER_READ, id_type=user_id_type)
        return _answer_record(request, session, record, labels)

    return await in_one_hop(session, work, reads_only=True)


@router.put("/users/{user_id}", summary="Update a user (swap all)")
def put_user(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_EDIT))],
    user_id: UserId,
    body: Annotated[UserIn, Body()],
    user_id_type: UserIdType = "all_unique",
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> Response:
    user = access_user(session, identity, user_id, P.USER_EDIT, id_type=user_id_type)
    institution = acting_institution(session, identity)
    changes = changes_from_json(body, institution_code=institution.code, swap_all=True)
    if changes.version is None:
        changes.version = _if_match(if_match)
    update_user(session, identity, user, changes)
    return _answer(request, session, user)


@router.delete("/users/{user_id}", status_code=204, summary="Delete a user")
def remove_user(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_DELETE))],
    user_id: UserId,
    user_id_type: UserIdType = "all_unique",
) -> Response:
    user = access_user(session, identity, user_id, P.USER_DELETE, id_type=user_id_type)
    delete_user(session, identity, user)
    return Response(status_code=204)


@router.post("/users/{user_id}", status_code=204, summary="Refresh a linked account from its source (op=refresh)")
def post_user_operation(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LINKED_ACCOUNT_REFRESH))],
    user_id: UserId,
    op: Annotated[str, Query(max_length=20, description="refresh")],
    user_id_type: UserIdType = "all_unique",
) -> Response:
    if op != "refresh":
        raise BadRequest(f"op must be refresh, not {op!r}.", "40166411")
    user = network.access_linked_account(session, identity, user_id, id_type=user_id_type)
    outcome = network.refresh(session, identity, user)
    if outcome.action != network.REFRESHED:
        raise BadRequest(f"Failed to refresh linked user: {outcome.message}", "60230")
    return Response(status_code=204)


@router.get("/users/{user_id}/loans", summary="A user's loans")
def get_loans(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.USER_READ))],
    user_id: UserId,
    limit: Limit = 10,
    offset: Offset = 0,
    user_id_type: UserIdType = "all_unique",
) -> Response:
    user = access_user(session, identity, user_id, P.USER_READ, id_type=user_id_type)
    loans, total = network.loans_of(session, user, limit=limit, offset=offset)
    return respond(request, envelope("item_loan", [loan_json(loan) for loan in loans], total), root="item_loan")


@router.post("/users/{user_id}/loans", summary="Lend an item to a user")
def post_loan(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.LINKED_ACCOUNT_REFRESH))],
    user_id: UserId,
    item_barcode: Annotated[str, Query(min_length=1, max_length=200)],
    body: Annotated[LoanIn | None, Body()] = None,
    user_id_type: UserIdType = "all_unique",
) -> Response:
    user = access_user(session, identity, user_id, P.LINKED_ACCOUNT_REFRESH, id_type=user_id_type)
    code = body.library.value if body is not None and body.library is not None else None
    if not code:
        raise BadRequest("Mandatory field is missing: library", "401664")
    library = library_by_code(session, acting_institution(session, identity), code)
    loan = network.lend(session, identity, user, item_barcode, library)
    return respond(request, loan_json(loan), root="item_loan")

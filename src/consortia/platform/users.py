"""Finding users and fetch-and-authorize for them (the verbs that change users are in user_service.py,
user_roles.py and user_keys.py).

Every look-up is inside one institution: a user of another institution is reported exactly like
one that does not exist (P-8, R-3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, joinedload, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize, where
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import CodeTableRow, Institution, User, UserIdentifier, UserRole
from consortia.platform.tenancy import institution_by_code
from consortia.text import has_control_characters

# One user with everything an answer shows, in one round trip (a user has few roles, identifiers and blocks).
USER_LOAD = (
    joinedload(User.roles).joinedload(UserRole.library),
    joinedload(User.identifiers),
    joinedload(User.blocks),
)

# Fields of the brief search `q` (Alma's users API); `ALL` matches any of them and the identifiers.
QUERY_FIELDS = ("primary_id", "first_name", "last_name", "user_group", "ALL")
ORDER_FIELDS = ("last_name", "first_name", "primary_id")
_AND = re.compile(r"\s+AND\s+")
MAX_QUERY_TERMS = 10
MAX_VALUE_LENGTH = 200


def user_not_found(user_id: str, id_type: str | None = None) -> NotFound:
    if id_type and id_type not in {"all_unique", "primary_id"}:
        return NotFound(f"User with identifier {user_id} of type {id_type} was not found.", "401890")
    return NotFound(f"User with identifier {user_id} was not found.", "401861")


def linked_user_not_found(source_user_id: str, source_institution_code: str) -> NotFound:
    return NotFound(
        f"User with source identifier {source_user_id} of institution {source_institution_code} was not found.",
        "4019990",
    )


def _first_user(session: Session, statement: Select[User]) -> User | None:
    """The first user a statement finds, with roles, identifiers and blocks loaded in the same query."""
    return session.scalars(statement.options(*USER_LOAD)).unique().first()


def find_user(session: Session, institution: Institution, user_id: str, id_type: str = "all_unique") -> User | None:
    """A user of `institution` by primary id, by any identifier (`all_unique`), by one identifier
    type, or by `linking_id`."""
    if has_control_characters(user_id) or has_control_characters(id_type):
        return None
    key = user_id.strip().lower()
    base = select(User).where(User.institution_id == institution.id)
    by_identifier = base.join(UserIdentifier, UserIdentifier.user_id == User.id).where(UserIdentifier.value_key == key)
    if id_type in {"all_unique", "primary_id"}:
        user = _first_user(session, base.where(User.primary_id_key == key))
        if user is not None or id_type == "primary_id":
            return user
        return _first_user(session, by_identifier)
    if id_type == "linking_id":
        return _first_user(session, base.where(User.linking_id == user_id.strip()))
    return _first_user(session, by_identifier.where(UserIdentifier.id_type == id_type))


def access_user(
    session: Session, identity: Identity, user_id: str, permission: P, *, id_type: str = "all_unique"
) -> User:
    """Load a user of the institution the caller works in and check `permission` on them.

    Unknown users, users the caller may not see and users of other institutions all answer 404.
    """
    institution = acting_institution(session, identity)
    user = find_user(session, institution, user_id, id_type)
    authorize(identity, permission, user, not_found=user_not_found(user_id, id_type))
    assert user is not None
    return user


def access_own_account(session: Session, identity: Identity) -> User:
    """The signed-in person's own account ("My account"), with roles (and their libraries) and identifiers."""
    user = session.scalars(
        select(User)
        .where(User.id == identity.user_id)
        .options(selectinload(User.roles).selectinload(UserRole.library), selectinload(User.identifiers))
    ).first()
    if user is None:
        raise NotFound("Your account was not found.")
    return user


def _source_user_ids(session: Session, source_institution_code: str, source_user_id: str) -> Select[Any]:
    """Ids of the source institution's user with that primary id (none when either is unknown)."""
    source = institution_by_code(session, source_institution_code)
    source_id = source.id if source is not None else -1
    return select(User.id).where(
        User.institution_id == source_id, User.primary_id_key == source_user_id.strip().lower()
    )


def find_linked_user(
    session: Session, institution: Institution, source_institution_code: str, source_user_id: str
) -> User | None:
    """The linked account in `institution` of a patron of another institution (CN-9)."""
    if has_control_characters(source_institution_code + source_user_id):
        return None
    return _first_user(
        session,
        select(User).where(
            User.institution_id == institution.id,
            User.source_user_id.in_(_source_user_ids(session, source_institution_code, source_user_id)),
        ),
    )


def access_linked_user(
    session: Session, identity: Identity, source_institution_code: str, source_user_id: str, permission: P
) -> User:
    """`access_user` for a linked account named by its source institution and source user id."""
    institution = acting_institution(session, identity)
    user = find_linked_user(session, institution, source_institution_code, source_user_id)
    authorize(identity, permission, user, not_found=linked_user_not_found(source_user_id, source_institution_code))
    assert user is not None
    return user


# --- search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryTerm:
    field: str
    value: str  # as sent, after URL decoding
    spaced: str  # with `_` and `+` read as spaces (almapipy and almapiwrapper encode spaces so)


def invalid_query(detail: str) -> BadRequest:
    return BadRequest(f"Invalid query format. {detail}", "60106")


def parse_user_query(q: str | None) -> list[QueryTerm]:
    """`field~value` terms joined by ` AND `; fields of QUERY_FIELDS. An empty `q` is no filter."""
    if q is None or not q.strip():
        return []
    if has_control_characters(q):
        raise invalid_query("The query holds control characters.")
    parts = _AND.split(q.strip())
    if len(parts) > MAX_QUERY_TERMS:
        raise invalid_query(f"At most {MAX_QUERY_TERMS} terms can be combined.")
    terms = []
    for part in parts:
        field, sep, value = part.partition("~")
        field = field.strip()
        if not sep:
            raise invalid_query(f"Expected field~value, not {part!r}.")
        if field not in QUERY_FIELDS:
            raise invalid_query(f"Unknown field {field!r}; use one of {', '.join(QUERY_FIELDS)}.")
        if "~" in value:
            raise invalid_query(f"Join several terms with ' AND ' ({part!r}).")
        value = value.strip()
        spaced = re.sub(r"\s+", " ", value.replace("_", " ").replace("+", " ")).strip()
        if not spaced or len(value) > MAX_VALUE_LENGTH:
            raise invalid_query(f"The value of {field} must have 1 to {MAX_VALUE_LENGTH} characters.")
        terms.append(QueryTerm(field, value, spaced))
    return terms


def parse_order_by(order_by: str | None) -> list[str]:
    """Sort fields (comma-separated, of ORDER_FIELDS), completed to the stable default order."""
    wanted = [part.strip() for part in (order_by or "").split(",") if part.strip()]
    for part in wanted:
        if part not in ORDER_FIELDS:
            raise BadRequest(f"order_by must be one of {', '.join(ORDER_FIELDS)}, not {part!r}.", "40166411")
    return list(dict.fromkeys([*wanted, *ORDER_FIELDS]))


def _contains(column: QueryableAttribute[str], term: QueryTerm) -> ColumnElement[bool]:
    lowered = func.lower(column)
    candidates = {term.value.lower(), term.spaced.lower()}
    return or_(*(lowered.contains(text, autoescape=True) for text in sorted(candidates)))


def _term_filter(term: QueryTerm) -> ColumnElement[bool]:
    if term.field == "primary_id":
        return _contains(User.primary_id, term)
    if term.field == "first_name":
        return _contains(User.first_name, term)
    if term.field == "last_name":
        return _contains(User.last_name, term)
    if term.field == "user_group":
        codes = {term.value.upper(), term.spaced.upper()}
        return func.upper(User.user_group).in_(sorted(codes))
    # ALL: every word must be found in one of the names, the primary id, the email or an identifier.
    clauses = []
    for word in term.spaced.split(" "):
        word_term = QueryTerm(term.field, word, word)
        identifier = exists().where(
            UserIdentifier.user_id == User.id, UserIdentifier.value_key.contains(word.lower(), autoescape=True)
        )
        clauses.append(
            or_(
                _contains(User.primary_id, word_term),
                _contains(User.first_name, word_term),
                _contains(User.last_name, word_term),
                _contains(User.email, word_term),
                identifier,
            )
        )
    return and_(*clauses)


# A user's group as the lists show it: its description in the institution's UserGroups table
# (`codetables.USER_GROUPS`; that module imports this one), the code when it has none.
_GROUP_DESCRIPTION = func.coalesce(
    select(func.nullif(CodeTableRow.description, ""))
    .where(
        CodeTableRow.institution_id == User.institution_id,
        CodeTableRow.table_name == "UserGroups",
        CodeTableRow.code == User.user_group,
    )
    .correlate(User)
    .scalar_subquery(),
    User.user_group,
)

# The sort keys of `search_users`: the API's ORDER_FIELDS, and the columns the users page sorts by.
_ORDER_COLUMNS: dict[str, ColumnElement[Any] | QueryableAttribute[Any]] = {
    "last_name": User.last_name,
    "first_name": User.first_name,
    "primary_id": User.primary_id_key,
    "user_group": _GROUP_DESCRIPTION,
    "record_type": User.record_type,
    "status": User.status,
    "expiry_date": User.expiry_date,
}


def _order(name: str) -> list[ColumnElement[Any]]:
    """The ORDER BY terms of one sort key; "-key" sorts descending. Users without an expiry date come
    last either way (SQLite and PostgreSQL place NULL differently)."""
    key = name.removeprefix("-")
    column = _ORDER_COLUMNS[key]
    terms: list[ColumnElement[Any]] = [column.desc() if name.startswith("-") else column.asc()]
    return [User.expiry_date.is_(None), *terms] if key == "expiry_date" else terms


def search_users(
    session: Session,
    identity: Identity,
    institution: Institution,
    terms: list[QueryTerm],
    *,
    order_by: list[str],
    limit: int,
    offset: int,
    source: tuple[str, str] | None = None,
) -> tuple[list[User], int]:
    """The users of `institution` the caller may see that match every term: (page, total).

    `order_by` names keys of `_ORDER_COLUMNS` ("-key": descending), the database id breaks ties.
    `source` = (source institution code, source user id) keeps only the linked account of that patron.
    """
    filters: list[ColumnElement[bool]] = [
        User.institution_id == institution.id,
        where(identity, P.USER_READ, User),
        *(_term_filter(term) for term in terms),
    ]
    if source is not None:
        if has_control_characters(source[0] + source[1]):
            return [], 0
        filters.append(User.source_user_id.in_(_source_user_ids(session, *source)))
    total = int(session.scalar(select(func.count()).select_from(User).where(*filters)) or 0)
    if limit == 0 or offset >= total:
        return [], total
    order = [term for name in order_by for term in _order(name)]
    users = session.scalars(select(User).where(*filters).order_by(*order, User.id).limit(limit).offset(offset)).all()
    return list(users), total

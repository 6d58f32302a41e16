"""Case list views (SC-8, SC-9): the built-in views, personal views cloned from them, and the one
query that lists, pages, sorts and counts cases for every list (API, pages, benchmark).

A list's rows are always: the view's own query AND the visibility rule (`case_visible`'s SQL face)
AND the view's filters. Filters only narrow, so a custom view never shows more than its source
view, and no view shows a case the caller could not open.

Built-in views (ids are fixed strings; custom views have numeric ids):

- `my-cases` "My Cases": cases the caller opened (every Support Center user; the operator too);
- `my-institution` "My Institution's Cases": every case of the caller's institution (STANDARD, CONSORTIA);
- `partner-cases` "Consortium/Partner Cases (Support Center)" (CONSORTIA only): every case shared
  with the consortium by any member, the caller's own institution included, while sharing is
  enabled; the institution column is shown;
- `all-cases` "All Cases (Support staff)": the operator's view of every case.

Counting: lists never run an exact COUNT(*) over millions of rows on the page path. `count_cap`
bounds the count (`SELECT count(*) FROM (... LIMIT cap+1)`): pages pass `PAGE_COUNT_CAP` and show
"more than 1,000"; paging itself needs no count (one row beyond the page tells whether there is a
next page). The API passes no cap and answers the exact `total_record_count`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import demand
from consortia.db import utcnow
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.platform.models import Institution, User
from consortia.support.models import (
    PRIORITIES,
    SHARE_CONSORTIUM,
    STATUSES,
    IssueType,
    ListView,
    Priority,
    Status,
    SupportCase,
)
from consortia.support.policy import (
    is_contact,
    manages_institution_cases,
    sees_partner_cases,
    sharing_members,
    visible_cases,
)
from consortia.support.service import CASE_LOAD, normalise_number

SortField = Literal[
    "number", "subject", "status", "priority", "issue_type", "product", "institution", "opened_by", "created", "updated"
]
Column = SortField | Literal["share_with"]


class ViewFilters(BaseModel):
    """Filters of a custom list view (SC-9); every filter narrows, none widens."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: list[Status] = Field(default_factory=list, max_length=10)
    priority: list[Priority] = Field(default_factory=list, max_length=10)
    issue_type: list[IssueType] = Field(default_factory=list, max_length=10)
    institution: list[str] = Field(default_factory=list, max_length=100)
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None
    updated_from: dt.date | None = None
    updated_to: dt.date | None = None
    text: str = Field(default="", max_length=200)

    @field_validator("opened_from", "opened_to", "updated_from", "updated_to", mode="before")
    @classmethod
    def _alma_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("Z")
            return value or None
        return value

    @field_validator("institution")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [code.strip().upper()[:40] for code in value if code.strip()]


class ViewSort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: SortField = "updated"
    direction: Literal["asc", "desc"] = "desc"


PAGE_COUNT_CAP = 1000
MAX_CUSTOM_VIEWS = 50

COLUMN_LABELS: dict[str, str] = {
    "number": "Case number",
    "subject": "Subject",
    "status": "Status",
    "priority": "Priority",
    "issue_type": "Issue type",
    "product": "Product",
    "institution": "Institution",
    "opened_by": "Opened by",
    "share_with": "Share with",
    "created": "Opened",
    "updated": "Last updated",
}
SORTABLE = frozenset(COLUMN_LABELS) - {"share_with"}

_STATUS_ORDER = case({s: i for i, s in enumerate(STATUSES)}, value=SupportCase.status, else_=len(STATUSES))
_PRIORITY_ORDER = case({p: i for i, p in enumerate(PRIORITIES)}, value=SupportCase.priority, else_=len(PRIORITIES))
SORT_KEYS: dict[str, Any] = {
    "number": SupportCase.number,
    "subject": func.lower(SupportCase.subject),
    "status": _STATUS_ORDER,
    "priority": _PRIORITY_ORDER,
    "issue_type": SupportCase.issue_type,
    "product": SupportCase.product,
    "institution": select(Institution.code).where(Institution.id == SupportCase.institution_id).scalar_subquery(),
    "opened_by": select(func.lower(User.last_name))
    .where(User.id == SupportCase.opened_by_id)
    .correlate(SupportCase)
    .scalar_subquery(),
    "created": SupportCase.created_at,
    "updated": SupportCase.updated_at,
}


@dataclass(frozen=True)
class BuiltInView:
    key: str
    name: str
    columns: tuple[str, ...]
    available: Callable[[Identity], bool]
    query: Callable[[Identity], ColumnElement[bool]]
    sort: ViewSort = field(default_factory=ViewSort)


def _partner_query(identity: Identity) -> ColumnElement[bool]:
    if identity.consortium_id is None:
        return false()
    return and_(
        SupportCase.share_with == SHARE_CONSORTIUM,
        SupportCase.institution_id.in_(sharing_members(identity.consortium_id)),
    )


BASE_COLUMNS = ("number", "subject", "status", "priority", "updated")
BUILT_IN_VIEWS: dict[str, BuiltInView] = {
    view.key: view
    for view in (
        BuiltInView(
            "my-cases",
            "My Cases",
            BASE_COLUMNS,
            lambda identity: identity.is_operator or is_contact(identity),
            lambda identity: SupportCase.opened_by_id == identity.user_id,
        ),
        BuiltInView(
            "my-institution",
            "My Institution's Cases",
            ("number", "subject", "status", "priority", "opened_by", "share_with", "updated"),
            manages_institution_cases,
            lambda identity: (
                SupportCase.institution_id == identity.institution_id if identity.institution_id else false()
            ),
        ),
        BuiltInView(
            "partner-cases",
            "Consortium/Partner Cases (Support Center)",
            ("number", "institution", "subject", "status", "priority", "updated"),
            sees_partner_cases,
            _partner_query,
        ),
        BuiltInView(
            "all-cases",
            "All Cases (Support staff)",
            ("number", "institution", "subject", "status", "priority", "share_with", "updated"),
            lambda identity: identity.is_operator,
            lambda _identity: true(),
        ),
    )
}


@dataclass(frozen=True)
class ViewDefinition:
    """A list view as the caller sees it: a built-in one, or one of their own custom views."""

    id: str
    name: str
    built_in: bool
    source_view: str | None
    filters: ViewFilters
    columns: tuple[str, ...]
    sort: ViewSort
    row: ListView | None = None

    @property
    def base(self) -> BuiltInView:
        return BUILT_IN_VIEWS[self.source_view or self.id]


def _built_in(view: BuiltInView) -> ViewDefinition:
    return ViewDefinition(view.key, view.name, True, None, ViewFilters(), view.columns, view.sort)


def _custom(row: ListView) -> ViewDefinition:
    filters = ViewFilters.model_validate(row.filters or {})
    sort = ViewSort.model_validate(row.sort or {})
    base = BUILT_IN_VIEWS[row.source_view]
    columns = tuple(c for c in (row.columns or []) if c in COLUMN_LABELS) or base.columns
    return ViewDefinition(str(row.id), row.name, False, row.source_view, filters, columns, sort, row)


def default_view_id(identity: Identity) -> str:
    if identity.is_operator:
        return "all-cases"
    if manages_institution_cases(identity):
        return "my-institution"
    return "my-cases"


def views_for(session: Session, identity: Identity) -> list[ViewDefinition]:
    """The built-in views available to the caller, then their own custom views by name."""
    found = [_built_in(view) for view in BUILT_IN_VIEWS.values() if view.available(identity)]
    rows = session.scalars(
        select(ListView).where(ListView.owner_id == identity.user_id).order_by(func.lower(ListView.name), ListView.id)
    ).all()
    found.extend(_custom(row) for row in rows if row.source_view in BUILT_IN_VIEWS)
    return found


def view_not_found(view_id: str) -> NotFound:
    return NotFound(f"List view {view_id} was not found.")


def access_view(session: Session, identity: Identity, view_id: str) -> ViewDefinition:
    """A view the caller may use: an available built-in view or one of their own (404 otherwise)."""
    built_in = BUILT_IN_VIEWS.get(view_id)
    if built_in is not None:
        if not built_in.available(identity):
            raise view_not_found(view_id)
        return _built_in(built_in)
    if not (view_id.isascii() and view_id.isdecimal()) or len(view_id) > 9:
        raise view_not_found(view_id)
    row = session.get(ListView, int(view_id))
    if row is None or row.owner_id != identity.user_id or row.source_view not in BUILT_IN_VIEWS:
        raise view_not_found(view_id)
    return _custom(row)


def clone_view(session: Session, identity: Identity, view: ViewDefinition, name: str) -> ViewDefinition:
    """A personal copy of `view` (filters, columns and sort included) under a new name (SC-9)."""
    demand(identity, P.LIST_VIEW_MANAGE)
    name = name.strip()
    _check_name(session, identity, name)
    count = session.scalar(select(func.count()).where(ListView.owner_id == identity.user_id)) or 0
    if count >= MAX_CUSTOM_VIEWS:
        raise BadRequest(f"You can keep at most {MAX_CUSTOM_VIEWS} custom views; delete one first.")
    now = utcnow()
    row = ListView(
        owner_id=identity.user_id,
        name=name,
        source_view=view.source_view or view.id,
        filters=view.filters.model_dump(mode="json", exclude_defaults=True),
        columns=list(view.columns),
        sort=view.sort.model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _custom(row)


def _check_name(session: Session, identity: Identity, name: str, *, except_id: int | None = None) -> None:
    if not name:
        raise BadRequest("A view needs a name.")
    if name.lower() in {view.name.lower() for view in BUILT_IN_VIEWS.values()}:
        raise BadRequest(f"{name} is the name of a built-in view; choose another name.")
    query = select(ListView.id).where(ListView.owner_id == identity.user_id, func.lower(ListView.name) == name.lower())
    if except_id is not None:
        query = query.where(ListView.id != except_id)
    if session.scalar(query) is not None:
        raise BadRequest(f"You already have a view named {name}.")


def _own_row(identity: Identity, view: ViewDefinition) -> ListView:
    if view.built_in or view.row is None:
        raise Forbidden(f"{view.name} is a built-in view and cannot be changed or deleted; clone it to make your own.")
    demand(identity, P.LIST_VIEW_MANAGE)
    return view.row


def update_view(
    session: Session,
    identity: Identity,
    view: ViewDefinition,
    *,
    name: str | None = None,
    filters: ViewFilters | None = None,
    columns: list[str] | None = None,
    sort: ViewSort | None = None,
) -> ViewDefinition:
    """Rename a custom view or change its filters, columns or sort (None: unchanged).

    Everything is checked before anything changes.
    """
    row = _own_row(identity, view)
    if name is not None:
        _check_name(session, identity, name.strip(), except_id=row.id)
    if filters is not None:
        _check_dates(filters)
    if columns is not None:
        unknown = [c for c in columns if c not in COLUMN_LABELS]
        if unknown or not columns:
            raise BadRequest(f"Unknown columns: {', '.join(unknown)}." if unknown else "Choose at least one column.")
    if name is not None:
        row.name = name.strip()
    if filters is not None:
        row.filters = filters.model_dump(mode="json", exclude_defaults=True)
    if columns is not None:
        row.columns = list(dict.fromkeys(columns))
    if sort is not None:
        row.sort = sort.model_dump(mode="json")
    row.updated_at = utcnow()
    session.flush()
    return _custom(row)


def delete_view(session: Session, identity: Identity, view: ViewDefinition) -> None:
    session.delete(_own_row(identity, view))
    session.flush()


def _check_dates(filters: ViewFilters) -> None:
    for start, end, label in (
        (filters.opened_from, filters.opened_to, "opened"),
        (filters.updated_from, filters.updated_to, "updated"),
    ):
        if start is not None and end is not None and start > end:
            raise BadRequest(f"The {label} date range ends before it starts.")


# --- the list query ---------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def filter_clauses(filters: ViewFilters) -> list[ColumnElement[bool]]:
    """The SQL of a view's filters (each one narrows)."""
    clauses: list[ColumnElement[bool]] = []
    if filters.status:
        clauses.append(SupportCase.status.in_(filters.status))
    if filters.priority:
        clauses.append(SupportCase.priority.in_(filters.priority))
    if filters.issue_type:
        clauses.append(SupportCase.issue_type.in_(filters.issue_type))
    if filters.institution:
        clauses.append(
            SupportCase.institution_id.in_(select(Institution.id).where(Institution.code.in_(filters.institution)))
        )
    if filters.opened_from:
        clauses.append(SupportCase.created_at >= _day_start(filters.opened_from))
    if filters.opened_to and filters.opened_to < dt.date.max:
        clauses.append(SupportCase.created_at < _day_start(filters.opened_to + dt.timedelta(days=1)))
    if filters.updated_from:
        clauses.append(SupportCase.updated_at >= _day_start(filters.updated_from))
    if filters.updated_to and filters.updated_to < dt.date.max:
        clauses.append(SupportCase.updated_at < _day_start(filters.updated_to + dt.timedelta(days=1)))
    if filters.text:
        text_clauses = [
            SupportCase.subject.icontains(filters.text, autoescape=True),
            SupportCase.description.icontains(filters.text, autoescape=True),
        ]
        number = normalise_number(filters.text)
        if number is not None:
            text_clauses.append(SupportCase.number == number)
        clauses.append(or_(*text_clauses))
    return clauses


def cases_query(identity: Identity, view: ViewDefinition | None, filters: ViewFilters) -> Select[SupportCase]:
    """view query AND visibility AND filters; `view` None lists every case the caller may see."""
    clauses = [visible_cases(identity, SupportCase)]
    if view is not None:
        base = view.base
        clauses.append(base.query(identity) if base.available(identity) else false())
    clauses.extend(filter_clauses(filters))
    return select(SupportCase).where(*clauses)


@dataclass(frozen=True)
class CasePage:
    cases: list[SupportCase]
    total: int
    total_is_exact: bool
    has_more: bool
    offset: int
    limit: int


def page_of_cases(
    session: Session,
    query: Select[SupportCase],
    *,
    sort: ViewSort,
    limit: int,
    offset: int,
    count_cap: int | None,
) -> CasePage:
    """One page of a case query in a stable order, with a count bounded by `count_cap` (None: exact)."""
    key = SORT_KEYS.get(sort.field, SupportCase.updated_at)
    if sort.direction == "asc":
        ordered = query.order_by(key.asc(), SupportCase.id.asc())
    else:
        ordered = query.order_by(key.desc(), SupportCase.id.desc())
    rows = list(session.scalars(ordered.options(*CASE_LOAD).limit(limit + 1).offset(offset)).all()) if limit else []
    has_more = len(rows) > limit
    counted = query.with_only_columns(SupportCase.id).order_by(None)
    if count_cap is not None:
        counted = counted.limit(count_cap + 1)
    total = int(session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    exact = count_cap is None or total <= count_cap
    if not exact:
        assert count_cap is not None
        total = count_cap
    return CasePage(rows[:limit], total, exact, has_more, offset, limit)


def view_cases(
    session: Session,
    identity: Identity,
    view: ViewDefinition,
    *,
    limit: int,
    offset: int,
    sort: ViewSort | None = None,
    count_cap: int | None = None,
) -> CasePage:
    """The cases of a list view (the function behind the case list page and the API)."""
    return page_of_cases(
        session,
        cases_query(identity, view, view.filters),
        sort=sort or view.sort,
        limit=limit,
        offset=offset,
        count_cap=count_cap,
    )

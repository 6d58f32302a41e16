"""The users list page (`/admin/users`): find, sort by a column, page; the other user pages are `user_pages`.

The list shows each user's group by its description in the institution's user-group table (the code
when it has none) and sorts in SQL by one of a fixed set of columns, the rest of the default order
(name, then primary id) and the database id breaking ties, so that paging never repeats or skips anyone.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows
from consortia.errors import BadRequest, Forbidden
from consortia.http.deps import DbSession, page_declares
from consortia.platform import codetables
from consortia.platform.models import Institution
from consortia.platform.users import ORDER_FIELDS, QueryTerm, search_users
from consortia.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25

Sort = Literal["primary_id", "name", "user_group", "record_type", "status", "expiry_date"]
Direction = Literal["asc", "desc"]

# Each sortable column (the keys of `Sort`): its heading and the sort keys of `search_users` it stands for.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "primary_id": ("Primary id", ("primary_id",)),
    "name": ("Name", ("last_name", "first_name")),
    "user_group": ("User group", ("user_group",)),
    "record_type": ("Record type", ("record_type",)),
    "status": ("Status", ("status",)),
    "expiry_date": ("Expiry date", ("expiry_date",)),
}


def page_institution(session: Session, identity: Identity) -> Institution:
    """The institution the user pages work in; the operator must have chosen one on the start page."""
    if identity.acting_institution_id is None:
        raise BadRequest(
            "Choose the institution to work in on the start page first."
            if identity.is_operator
            else "This account belongs to no institution."
        )
    return acting_institution(session, identity)


def list_order(sort: Sort, direction: Direction) -> list[str]:
    """The sort keys of the column `sort`, in `direction`, then the default order ascending."""
    keys = COLUMNS[sort][1]
    chosen = [f"-{key}" if direction == "desc" else key for key in keys]
    return chosen + [key for key in ORDER_FIELDS if key not in keys]


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.USER_READ))],
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    sort: Sort = "name",
    dir: Direction = "asc",
) -> Response:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = page_institution(session, identity)
    place = InInstitution(institution.id)
    if not allows(identity, P.USER_READ, place):
        raise Forbidden(
            "Finding users needs the General System Administrator, User Administrator or "
            "Circulation Desk Operator role; your own details are under My account."
        )
    text = " ".join(q.split())
    terms = [QueryTerm("ALL", text, text)] if text else []
    users, total = search_users(
        session,
        identity,
        institution,
        terms,
        order_by=list_order(sort, dir),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    groups = {
        row.code: row.description or row.code
        for row in codetables.code_table(session, institution.id, codetables.USER_GROUPS)
    }

    def link(**changes: str | int) -> str:
        query: dict[str, str | int] = {"q": text, "sort": sort, "dir": dir, "page": page}
        query.update(changes)
        return "/admin/users?" + urlencode(query)

    def sort_link(column: str) -> str:
        """The column's heading link: ascending first, the other way round when it is the sort already."""
        flipped = "desc" if column == sort and dir == "asc" else "asc"
        return link(sort=column, dir=flipped, page=1)

    return render(
        request,
        "users/list.html",
        {
            "institution": institution,
            "users": users,
            "groups": groups,
            "total": total,
            "q": text,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "columns": [(key, label) for key, (label, _keys) in COLUMNS.items()],
            "sort": sort,
            "dir": dir,
            "link": link,
            "sort_link": sort_link,
            "quote": quote,
            "can_create": allows(identity, P.USER_CREATE, place),
        },
    )

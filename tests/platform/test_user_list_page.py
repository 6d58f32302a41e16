"""The users list (`/admin/users`, P-3): user groups by their description, sorting by each column in SQL
with a stable order across pages, and sort parameters checked against the fixed list of columns."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.platform.models import CodeTableRow, User
from tests.almaws.test_users_world import UsersWorld, build_users_world
from tests.factories import Factory
from tests.platform.test_user_pages import sign_in

ROW = re.compile(r'<tr>\s*<td><a href="/admin/users/[^"]+">([^<]+)</a></td>(.*?)</tr>', re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')

LAST_NAMES = ("Ortiz", "Baker", "Nguyen", "Baker", "Adams", "Ortiz", "Kim", "Baker")
# Codes whose descriptions sort the other way round from the codes, one without a description, and
# one that is in no table at all: each shows (and sorts) by what the list shows.
EXTRA_GROUPS = (("AAA_LATE", "Zeta visitors"), ("ZZZ_EARLY", "Alpha guests"), ("NODESC", ""))
GROUPS = ("STAFF", "UNDERGRAD", "WALKIN", "AAA_LATE", "ZZZ_EARLY", "NODESC", "VISITOR", "")


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    world = build_users_world(factory)
    for code, description in EXTRA_GROUPS:
        factory.session.add(
            CodeTableRow(institution_id=world.east.id, table_name="UserGroups", code=code, description=description)
        )
    start = dt.date(2030, 1, 1)
    for n in range(30):
        factory.user(
            world.east,
            f"list-{n:02}",
            record_type="PUBLIC" if n % 3 else "STAFF",
            first_name=f"F{(n * 7) % 5}",
            last_name=LAST_NAMES[n % len(LAST_NAMES)],
            user_group=GROUPS[n % len(GROUPS)],
            status="INACTIVE" if n % 4 == 1 else "ACTIVE",
            expiry_date=None if n % 5 == 0 else start + dt.timedelta(days=n % 6),
        )
    factory.session.commit()
    return world


def _rows(text: str) -> list[tuple[str, list[str]]]:
    return [(html.unescape(pid), CELL.findall(cells)) for pid, cells in ROW.findall(text)]


def _walk(client: TestClient, url: str) -> tuple[list[str], list[str]]:
    """The primary ids of every page, following the pager's Next link; and the pages' addresses."""
    seen: list[str] = []
    urls = [url]
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        seen.extend(pid for pid, _cells in _rows(page.text))
        found = NEXT.search(page.text)
        if not found:
            return seen, urls
        url = html.unescape(found.group(1))
        urls.append(url)


def _expected(world: UsersWorld, column: str, descending: bool) -> list[str]:
    session = world.factory.session
    descriptions = {
        row.code: row.description or row.code
        for row in session.scalars(
            select(CodeTableRow).where(
                CodeTableRow.institution_id == world.east.id, CodeTableRow.table_name == "UserGroups"
            )
        )
    }
    users = list(session.scalars(select(User).where(User.institution_id == world.east.id)))
    keys: dict[str, Callable[[User], Any]] = {
        "primary_id": lambda u: u.primary_id_key,
        "name": lambda u: (u.last_name, u.first_name),
        "user_group": lambda u: descriptions.get(u.user_group, u.user_group),
        "record_type": lambda u: u.record_type,
        "status": lambda u: u.status,
        "expiry_date": lambda u: u.expiry_date,
    }
    # Ties: the rest of the default order (name, primary id) ascending, then the database id.
    users.sort(key=lambda u: (u.last_name, u.first_name, u.primary_id_key, u.id))
    if column == "expiry_date":
        dated = sorted((u for u in users if u.expiry_date), key=keys[column], reverse=descending)
        return [u.primary_id for u in dated + [u for u in users if u.expiry_date is None]]
    users.sort(key=keys[column], reverse=descending)
    return [u.primary_id for u in users]


def test_groups_show_their_description(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    rows = dict(_rows(client.get("/admin/users?q=list-&sort=primary_id").text))
    group = {pid: cells[1] for pid, cells in rows.items()}
    assert group["list-00"] == '<span title="STAFF">Staff</span>'
    assert group["list-01"] == '<span title="UNDERGRAD">Undergraduate</span>'
    assert group["list-03"] == '<span title="AAA_LATE">Zeta visitors</span>'
    assert group["list-05"] == '<span title="NODESC">NODESC</span>'  # no description: the code
    assert group["list-06"] == '<span title="VISITOR">VISITOR</span>'  # not in the table: the code
    assert group["list-07"] == ""
    assert rows["list-02"][4] == "2030-01-03"  # the expiry date column


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("column", ["primary_id", "name", "user_group", "record_type", "status", "expiry_date"])
def test_each_column_sorts_the_whole_list_across_pages(
    client: TestClient, world: UsersWorld, column: str, descending: bool
) -> None:
    sign_in(client, "east-ua")
    direction = "desc" if descending else "asc"
    seen, urls = _walk(client, f"/admin/users?sort={column}&dir={direction}")
    assert len(urls) == 2  # 36 users, 25 a page
    assert f"sort={column}" in urls[1]
    assert f"dir={direction}" in urls[1]
    assert seen == _expected(world, column, descending)
    # The same request answers the same order (the order is total, never left to the database).
    assert _walk(client, f"/admin/users?sort={column}&dir={direction}")[0] == seen


def test_headings_link_to_their_sort_and_mark_the_current_one(client: TestClient, world: UsersWorld) -> None:
    sign_in(client, "east-ua")
    page = client.get("/admin/users?q=list&sort=status&dir=asc").text
    assert '<th scope="col" aria-sort="ascending"><a href="/admin/users?q=list&amp;sort=status&amp;dir=desc' in page
    assert 'href="/admin/users?q=list&amp;sort=expiry_date&amp;dir=asc&amp;page=1" id="sort-expiry_date"' in page
    assert page.count("aria-sort=") == 1
    default = client.get("/admin/users").text
    assert '<th scope="col" aria-sort="ascending"><a href="/admin/users?q=&amp;sort=name&amp;dir=desc' in default
    # The search form keeps the sort.
    assert '<input type="hidden" name="sort" value="status">' in page


@pytest.mark.parametrize(
    "query",
    ["sort=password_hash", "sort=last_name", "sort=", "dir=up", "sort=name&dir=DESC", "sort=name%3B%20drop"],
)
def test_sorts_outside_the_fixed_list_are_refused(client: TestClient, world: UsersWorld, query: str) -> None:
    sign_in(client, "east-ua")
    response = client.get(f"/admin/users?{query}")
    assert response.status_code == 400, response.text
    assert ("dir: Input should be" if "dir=" in query else "sort: Input should be") in response.text

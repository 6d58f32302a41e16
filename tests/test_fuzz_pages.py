"""SPEC R-2 for the web pages: a property-based fuzzer (hypothesis) over every page route finds no 5xx.

The test walks the app's routes whose path does not start with `/api` or `/almaws`, and sends each of them
generated requests as a signed-in person: path parameters, query parameters and form fields (the ones the
route declares, and a few any form may carry) filled with junk — integers far beyond any column, unicode,
control characters, long strings — or, some of the time, with names of the world's things so that
requests get past the look-up to the code behind it. Every POST carries the session's valid CSRF token, so
it reaches the route instead of the CSRF check. An upload field gets a file with a generated name.

It runs as the operator (acting in EAST, which passes every permission check) and as EAST's General System
Administrator, in the world of the API fuzzer (tests/fuzz_world.py). Every request runs in a savepoint
rolled back afterwards, so each meets the same world (a sign-out or a renamed institution never reaches
the next). Generation is deterministic (derandomized, no example database): a failure reproduces on every
run, and the report names the request. The whole run stays near a minute per database on two cores.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, UploadFile
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.http.deps import SESSION_COOKIE
from consortia.platform.models import User
from tests.factories import Factory
from tests.fuzz_world import NASTY_TEXTS, FuzzWorld, build_fuzz_world, rolled_back, vocabulary
from tests.support.conftest import sign_in

API_PREFIXES = ("/api", "/almaws")
EXAMPLES = 7  # per route and person
# Routes whose every request spends the time of a password hash: a few examples suffice.
SLOW_ROUTES = {
    ("POST", "/support/register"): 3,
    ("POST", "/admin/users/new"): 4,
    ("POST", "/admin/users/{primary_id}"): 4,
}
# Form fields some routes read without declaring them (the job form reads its `param_*` fields itself).
EXTRA_FIELDS = (
    "job_id",
    "param_user_group",
    "param_set_id",
    "param_library",
    "contact",
    "remove",
    # the schedule form
    "frequency",
    "time",
    "weekday",
    "day",
)

EDGE_INTEGERS = (0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1)


@dataclass(frozen=True)
class Field:
    name: str
    number: bool  # declared as an integer (or a list of them)
    repeats: bool  # a list: the field may come several times


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str
    path_params: tuple[Field, ...]
    query_params: tuple[Field, ...]
    form_fields: tuple[Field, ...]
    upload_fields: tuple[str, ...]


def _params(dependant: Any, kind: str) -> Iterator[Any]:
    yield from getattr(dependant, kind)
    for sub in dependant.dependencies:
        yield from _params(sub, kind)


def _field(param: Any) -> Field:
    annotation = param.field_info.annotation
    parts = [annotation, *typing.get_args(annotation)]
    lists = [part for part in parts if typing.get_origin(part) is list]
    inner = [arg for part in lists for arg in typing.get_args(part)] or parts
    return Field(param.name, number=int in inner, repeats=bool(lists))


def _fields(dependant: Any, kind: str) -> tuple[Field, ...]:
    return tuple({p.name: _field(p) for p in _params(dependant, kind)}.values())


def page_routes(app: FastAPI) -> list[PageRoute]:
    """Every (method, path) of the app that is a page: not under /api or /almaws."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if not isinstance(route, APIRoute) or path is None or path.startswith(API_PREFIXES):
            continue
        dependant = route.dependant
        body = list(_params(dependant, "body_params"))
        for method in sorted(context.methods or ()):
            found.append(
                PageRoute(
                    method=method,
                    path=path,
                    path_params=_fields(dependant, "path_params"),
                    query_params=_fields(dependant, "query_params"),
                    form_fields=tuple(_field(p) for p in body if p.field_info.annotation is not UploadFile),
                    upload_fields=tuple(p.name for p in body if p.field_info.annotation is UploadFile),
                )
            )
    return found


def junk(words: list[str]) -> st.SearchStrategy[str]:
    """Text a person (or a script) might send in any field: the world's names some of the time, else numbers
    beyond every column, unicode and control characters, long strings, nothing at all."""
    return st.one_of(
        st.sampled_from(words),
        st.integers().map(str),
        st.sampled_from(EDGE_INTEGERS).map(str),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
        st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp")), min_size=1, max_size=6),
        st.sampled_from(NASTY_TEXTS),
        st.integers(min_value=256, max_value=1500).map(lambda n: "Ω" * n),
        st.just(""),
    )


# Where a field's name says what it names, the fuzzer draws from the world's things of that kind half of the
# time (tests/fuzz_world.py), so that requests find the thing and go on to the code behind it.
BINDINGS = {
    "primary_id": "people",
    "code": "codes",
    "institution": "institutions",
    "consortium": "consortia",
    "number": "case_numbers",
    "view_id": "view_ids",
    "view": "view_ids",
    "key_id": "key_ids",
    "instance_id": "instance_ids",
    "name": "parameter_names",
    "library_code": "libraries",
    "role_type": "role_types",
    "scope": "scopes",
    "status": "statuses",
    "record_type": "record_types",
    "user_group": "user_groups",
    "identifier_type": "id_types",
    "support_level": "support_levels",
    "contact": "people",
    "job_id": "job_ids",
    "cid": "collection_ids",
    "collection_id": "collection_ids",
    "sid": "service_ids",
    "pid": "portfolio_ids",
    "mms_id": "mms_ids",
    "cz_id": "cz_ids",
    "tid": "task_ids",
    "action": "task_actions",
    "po_line_id": "po_line_ids",
    "item_id": "po_line_item_ids",
    "set_id": "set_ids",
    "profile_id": "profile_ids",
    "ids": "portfolio_ids",
    "library": "libraries",
    "collection": "collection_ids",
    "default_library": "libraries",
    "type": "profile_types",
    "portfolio_type": "portfolio_types",
    "tag": "marc_tags",
    "subfield": "marc_subfields",
    "frequency": "frequencies",
    "weekday": "weekdays",
    "time": "times",
}


@dataclass(frozen=True)
class Words:
    every: list[str]
    by_kind: dict[str, list[str]]


def world_words(world: FuzzWorld) -> Words:
    found = {kind: [str(value) for value in values] for kind, values in vocabulary(world).items()}
    return Words(sorted({value for values in found.values() for value in values}), found)


def field_values(field: Field, words: Words, *, in_path: bool) -> st.SearchStrategy[str]:
    """What one value of `field` may be: for a number mostly numbers, of every size; for a field that names
    a kind of thing such a thing (in a path mostly, elsewhere half of the time); else junk."""
    anything = junk(words.every)
    known = words.by_kind.get(BINDINGS.get(field.name, ""), [])
    if field.number:
        numbers = st.one_of(st.sampled_from(EDGE_INTEGERS), st.integers()).map(str)
        return st.one_of(numbers, numbers, st.sampled_from(known), anything) if known else st.one_of(numbers, anything)
    if not known:
        return anything
    things = st.sampled_from(known)
    return st.one_of(things, things, things, anything) if in_path else st.one_of(things, anything)


# The deterministic sweep: each value in turn in every field of every route at once, with the fields that
# name a thing naming a real one (the first of its kind), so that the value reaches the code behind the look-up.
SWEEP_VALUES = (str(2**63), str(2**31), "-1", "A\x00B", "\u202e\x07", "Ω" * 1500, "x" * 6000, "")


def fuzz_route(client: TestClient, db: Session, route: PageRoute, words: Words, csrf: str, cookie: str) -> None:
    """Generated requests to one route; fails on the first answer of 500 or more, naming the request."""
    examples = SLOW_ROUTES.get((route.method, route.path), EXAMPLES)

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def requests(data: st.DataObject) -> None:
        def draw(field: Field, where: str) -> str | list[str]:
            values = field_values(field, words, in_path=where == "path")
            if field.repeats:
                return data.draw(st.lists(values, max_size=4), label=f"{where} {field.name}")
            return data.draw(values, label=f"{where} {field.name}")

        path_values = {field.name: str(draw(field, "path")) for field in route.path_params}
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: quote(path_values[m[1]], safe="") or "x", route.path)
        query = {field.name: draw(field, "query") for field in route.query_params}
        form: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if route.method == "POST":
            form = {field.name: draw(field, "form") for field in route.form_fields}
            extra = data.draw(st.lists(st.sampled_from(EXTRA_FIELDS), unique=True, max_size=2), label="extra fields")
            for name in extra:
                form.setdefault(name, draw(Field(name, number=name == "remove", repeats=False), "form"))
            form["csrf_token"] = csrf
            for name in route.upload_fields:
                content = data.draw(st.binary(max_size=64), label=f"{name} content")
                file_name = data.draw(junk(words.every), label=f"{name} name")
                files[name] = (file_name, content, "application/octet-stream")
        problem = send(client, db, cookie, route.method, path, query, form, files)
        assert problem is None, problem

    requests()


def send(
    client: TestClient,
    db: Session,
    cookie: str,
    method: str,
    path: str,
    query: dict[str, Any],
    form: dict[str, Any],
    files: dict[str, tuple[str, bytes, str]],
) -> str | None:
    """Send one request as the signed-in person, rolled back afterwards; what is wrong with the answer."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    with rolled_back(db):
        answer = client.request(
            method, path, params=query, data=form or None, files=files or None, follow_redirects=False
        )
    if answer.status_code < 500:
        return None
    return (
        f"{method} {path[:300]} query={query!r:.300} form={form!r:.300} files={list(files.values())!r:.300} "
        f"answered {answer.status_code}: {answer.text[:300]}"
    )


def sweep_route(client: TestClient, db: Session, route: PageRoute, words: Words, csrf: str, cookie: str) -> list[str]:
    """The route with each of SWEEP_VALUES in every field (see there); the problems found."""
    problems = []
    for value in SWEEP_VALUES:

        def fill(field: Field, value: str = value) -> str | list[str]:
            known = words.by_kind.get(BINDINGS.get(field.name, ""), [])
            chosen = known[0] if known and not field.number else value
            return [chosen] if field.repeats else chosen

        path = re.sub(
            r"\{(\w+)(?::\w+)?\}",
            lambda m: quote(str(fill(next(f for f in route.path_params if f.name == m[1]))), safe="") or "x",
            route.path,
        )
        query = {field.name: fill(field) for field in route.query_params}
        form: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if route.method == "POST":
            form = {field.name: fill(field) for field in route.form_fields} | {"csrf_token": csrf}
            files = dict.fromkeys(route.upload_fields, (value or "x", b"content", "text/plain"))
        problem = send(client, db, cookie, route.method, path, query, form, files)
        if problem:
            problems.append(problem)
    return problems


def signed_in_as(client: TestClient, db: Session, primary_id: str) -> tuple[str, str]:
    """(CSRF token, session cookie) of `primary_id` signed in through the sign-in form; the operator then
    works in EAST."""
    client.cookies.clear()
    user = db.scalars(select(User).where(User.primary_id == primary_id)).one()
    csrf = sign_in(client, user)
    if user.is_operator:
        switched = client.post(
            "/operator/acting-institution", data={"institution": "EAST", "csrf_token": csrf}, follow_redirects=False
        )
        assert switched.status_code == 303, switched.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return csrf, cookie


def test_fuzz_pages(app: FastAPI, factory: Factory, db: Session) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    world = build_fuzz_world(factory, client)
    words = world_words(world)
    routes = page_routes(app)
    assert len(routes) > 50
    assert any(route.upload_fields for route in routes)
    problems: list[str] = []
    for primary_id in ("fuzz-op", "east-gsa"):
        csrf, cookie = signed_in_as(client, db, primary_id)
        for route in routes:
            problems.extend(
                f"as {primary_id}: {problem}" for problem in sweep_route(client, db, route, words, csrf, cookie)
            )
            try:
                fuzz_route(client, db, route, words, csrf, cookie)
            except AssertionError as exc:
                problems.append(f"as {primary_id}: {exc}")
    assert not problems, "\n".join(problems)

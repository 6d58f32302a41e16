"""Deny by default: every route of the app declares the permission it works under."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from consortia.access.permissions import Permission


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, dependant) of every API route, those of included routers too (FastAPI keeps an
    included router as one entry of `app.routes` and lists its routes through it)."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.dependant
        for context in getattr(route, "effective_route_contexts", lambda: ())():
            if isinstance(context.original_route, APIRoute):
                yield context.path, set(context.methods or ()), context.dependant


def _declared(dependant: Any) -> set[Permission]:
    found: set[Permission] = set()
    for dependency in dependant.dependencies:
        permission = getattr(dependency.call, "permission", None)
        if permission is not None:
            found.add(permission)
        found |= _declared(dependency)
    return found


def test_every_route_declares_one_permission(app: FastAPI) -> None:
    undeclared = []
    routes = list(_routes(app))
    assert len(routes) > 100  # the walk sees the routes of the included routers
    for path, methods, dependant in routes:
        declared = _declared(dependant)
        if len(declared) != 1:
            undeclared.append(f"{sorted(methods)} {path}: {sorted(declared)}")
    assert not undeclared, "routes without exactly one permission:\n" + "\n".join(undeclared)


def test_the_check_notices_a_route_without_a_permission(app: FastAPI) -> None:
    @app.get("/api/v1/undeclared-example")
    def undeclared() -> dict[str, str]:
        return {}

    found = [dependant for path, _methods, dependant in _routes(app) if path == "/api/v1/undeclared-example"]
    assert len(found) == 1
    assert _declared(found[0]) == set()


def test_the_check_notices_an_undeclared_route_of_an_included_router(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/api/v1/undeclared-included")
    def undeclared() -> dict[str, str]:
        return {}

    app.include_router(router)
    found = [dependant for path, _methods, dependant in _routes(app) if path == "/api/v1/undeclared-included"]
    assert len(found) == 1
    assert _declared(found[0]) == set()

"""Deny by default: every route of the app declares the permission it works under."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from consortia.access.permissions import Permission


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
    for route in app.routes:
        if isinstance(route, APIRoute):
            declared = _declared(route.dependant)
            if len(declared) != 1:
                undeclared.append(f"{sorted(route.methods)} {route.path}: {sorted(declared)}")
    assert not undeclared, "routes without exactly one permission:\n" + "\n".join(undeclared)


def test_the_check_notices_a_route_without_a_permission(app: FastAPI) -> None:
    @app.get("/api/v1/undeclared-example")
    def undeclared() -> dict[str, str]:
        return {}

    route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/api/v1/undeclared-example")
    assert _declared(route.dependant) == set()

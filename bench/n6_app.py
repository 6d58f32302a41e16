"""The N-6 benchmark's server: the production app plus one bare endpoint that gives the ceiling.

`uvicorn bench.n6_app:create_bench_app --factory` serves `consortia.app.create_app()` unchanged and adds
`GET /bench/n6/ceiling/{institution_id}/{user_id}`: the same user row read with one SQLAlchemy Core
statement on the same engine and returned as JSON, without authentication, permission checks or the
Alma shape. The real endpoint's figure over this one tells how much of what the stack allows (uvicorn,
FastAPI, the driver, the database) the application's own work takes. The route exists only in this
factory, which only the benchmark starts: production (`consortia serve`) never mounts it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, select

from consortia.app import create_app
from consortia.db import get_database
from consortia.platform.models import User

CEILING_PATH = "/bench/n6/ceiling/{institution_id}/{user_id}"

_ROW = (
    select(User.id, User.primary_id, User.first_name, User.last_name, User.status, User.user_group, User.version)
    .where(User.institution_id == bindparam("institution_id"), User.primary_id_key == bindparam("key"))
    .limit(1)
)


def create_bench_app() -> FastAPI:
    app = create_app()

    @app.get(CEILING_PATH, include_in_schema=False)
    def ceiling(institution_id: int, user_id: str) -> Any:
        with get_database().engine.connect() as connection:
            row = connection.execute(_ROW, {"institution_id": institution_id, "key": user_id.lower()}).first()
        if row is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return dict(row._mapping)

    return app

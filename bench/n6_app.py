"""The N-6 benchmark's server: the production app plus bare endpoints that give the ceilings.

`uvicorn bench.n6_app:create_bench_app --factory` serves `consortia.app.create_app()` unchanged and adds
one bare endpoint per measured record, each reading the same row as the real endpoint with one
SQLAlchemy Core statement on the same engine and returning it as JSON, without authentication,
permission checks or the Alma shape:

- `GET /bench/n6/ceiling/{institution_id}/{user_id}` beside `GET /almaws/v1/users/{user_id}`;
- `GET /bench/n6/ceiling/bibs/{mms_id}/portfolios/{portfolio_id}` beside
  `GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}` (the record SPEC N-6 names).

The real endpoint's figure over its ceiling tells how much of what the stack allows (uvicorn, FastAPI,
the driver, the database) the application's own work takes. The routes exist only in this factory, which
only the benchmark starts: production (`consortia serve`) never mounts them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, select

from consortia.app import create_app
from consortia.db import get_database
from consortia.eresources.models import Portfolio
from consortia.platform.models import User

CEILING_PATH = "/bench/n6/ceiling/{institution_id}/{user_id}"
PORTFOLIO_CEILING_PATH = "/bench/n6/ceiling/bibs/{mms_id}/portfolios/{portfolio_id}"

_ROW = (
    select(User.id, User.primary_id, User.first_name, User.last_name, User.status, User.user_group, User.version)
    .where(User.institution_id == bindparam("institution_id"), User.primary_id_key == bindparam("key"))
    .limit(1)
)
_PORTFOLIO_ROW = select(
    Portfolio.id,
    Portfolio.bib_id,
    Portfolio.title,
    Portfolio.availability,
    Portfolio.library_id,
    Portfolio.collection_id,
    Portfolio.version,
).where(Portfolio.id == bindparam("portfolio_id"), Portfolio.bib_id == bindparam("mms_id"))


def create_bench_app() -> FastAPI:
    app = create_app()

    @app.get(CEILING_PATH, include_in_schema=False)
    def ceiling(institution_id: int, user_id: str) -> Any:
        with get_database().engine.connect() as connection:
            row = connection.execute(_ROW, {"institution_id": institution_id, "key": user_id.lower()}).first()
        if row is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return dict(row._mapping)

    @app.get(PORTFOLIO_CEILING_PATH, include_in_schema=False)
    def portfolio_ceiling(mms_id: int, portfolio_id: int) -> Any:
        with get_database().engine.connect() as connection:
            row = connection.execute(_PORTFOLIO_ROW, {"mms_id": mms_id, "portfolio_id": portfolio_id}).first()
        if row is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        found = dict(row._mapping)
        found["id"] = str(found["id"])  # as the real answer gives it
        return found

    return app

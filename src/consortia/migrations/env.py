"""Alembic environment: the URL comes from `consortia init --db`, `-x url=...` or DATABASE_URL."""

from __future__ import annotations

from alembic import context

from consortia.config import get_settings, normalise_database_url
from consortia.db import Base, make_engine
from consortia.models import load_all_models

load_all_models()
config = context.config


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return normalise_database_url(url) if url else get_settings().database_url


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()

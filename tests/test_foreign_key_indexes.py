"""Every foreign key column leads an index (or the primary key or a unique constraint), so that deleting
a parent row — a user purged, a portfolio deleted, a Community Zone portfolio removed — finds its
children through an index instead of reading the whole child table once per deleted row (both
databases check and act on foreign keys row by row).

Institutions are never deleted, so the columns that only name the institution a row belongs to need no
index for that; their tables are read through composite indexes that start elsewhere."""

from __future__ import annotations

from sqlalchemy import Table

from consortia.db import Base
from consortia.models import load_all_models

NEVER_DELETED = {"institution"}


def _leading_columns(table: Table) -> set[str]:
    leading = {next(iter(index.columns)).name for index in table.indexes}
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", []))
        if columns and type(constraint).__name__ in {"PrimaryKeyConstraint", "UniqueConstraint"}:
            leading.add(columns[0].name)
    return leading


def test_every_foreign_key_leads_an_index() -> None:
    load_all_models()
    missing = []
    for table in Base.metadata.sorted_tables:
        leading = _leading_columns(table)
        for key in table.foreign_keys:
            if key.column.table.name in NEVER_DELETED:
                continue
            if key.parent.name not in leading and not key.parent.index:
                missing.append(f"{table.name}.{key.parent.name} -> {key.target_fullname}")
    assert not missing, "foreign keys without an index: " + ", ".join(sorted(missing))

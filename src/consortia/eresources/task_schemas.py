"""Bodies and answers of the task lists (ER-14, ER-15), the Community Zone changes, acquisitions (ER-18,
ER-19) and the portfolio load (ER-20)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consortia.almaws.conventions import alma_datetime, coded
from consortia.eresources.schemas import library_or_null
from consortia.eresources.task_models import STATUSES


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CzPortfolioPatch(_Body):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    issn: str | None = Field(default=None, max_length=40)
    isbn: str | None = Field(default=None, max_length=40)
    coverage: str | None = Field(default=None, max_length=200)


class CzCollectionPatch(_Body):
    public_name: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)


class DismissIn(_Body):
    ids: list[str | int] = Field(min_length=1, max_length=1000)


class ActivationActionIn(_Body):
    note: str | None = Field(default=None, max_length=1000)
    status: str | None = Field(default=None, max_length=20)
    coverage: str | None = Field(default=None, max_length=200)
    availability: str | None = Field(default=None, max_length=10)
    public_name: str | None = Field(default=None, min_length=1, max_length=300)


class PoLineItemIn(_Body):
    coverage: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)
    activation_note: str | None = Field(default=None, max_length=1000)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


def resource_ref(resource: Any) -> dict[str, str]:
    from consortia.eresources.models import Portfolio

    kind = "portfolio" if isinstance(resource, Portfolio) else "electronic_collection"
    return {"kind": kind, "id": str(resource.id)}


def resource_title(resource: Any) -> str:
    return str(getattr(resource, "title", None) or getattr(resource, "public_name", ""))


def effective_library(resource: Any) -> Any:
    """The library the scope rule judges by (ER-3), as the item's `library`."""
    collection = getattr(resource, "collection", None)
    if collection is not None and collection.library is not None:
        return collection.library
    return resource.library


def task_json(row: Any) -> dict[str, Any]:
    task = row.task
    resource = task.resource
    return {
        "id": str(task.id),
        "report_type": task.report_type,
        "resource": {**resource_ref(resource), "title": resource_title(resource)},
        "library": library_or_null(effective_library(resource)),
        "status": coded(task.status, STATUSES.get(task.status, task.status)),
        "note": task.note,
        "suppressed": task.suppressed,
        "created": alma_datetime(task.created_at),
        "closed_by": task.closed_by or None,
        "closed_at": alma_datetime(task.closed_at),
        "actions": row.actions,
        "selectable": row.selectable,
    }

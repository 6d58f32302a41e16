"""Bodies and answers of the task lists (ER-14, ER-15), the Community Zone changes, acquisitions (ER-18,
ER-19) and the portfolio load (ER-20)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from consortia.eresources.schemas import library_or_null
from consortia.eresources.task_models import STATUSES
from consortia.formats import alma_datetime, coded

if TYPE_CHECKING:
    from consortia.eresources.acquisitions import ItemRow
    from consortia.eresources.exchange import LoadReport


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


class ActivationSelectionIn(_Body):
    ids: list[str | int] = Field(min_length=1, max_length=1000)
    status: str | None = Field(default=None, max_length=20, description="The new status (Change Status).")


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


def editor_links(base: str, resource: Any) -> dict[str, str]:
    ref = resource_ref(resource)
    kind = "portfolios" if ref["kind"] == "portfolio" else "collections"
    return {
        "link": f"{base}/eresources/{kind}/{ref['id']}",
        "editor": f"{base}/api/v1/eresources/{kind}/{ref['id']}/editor",
    }


def item_json(row: ItemRow, base: str) -> dict[str, Any]:
    item = row.item
    resource = item.resource
    return {
        "id": str(item.id),
        "resource": {**resource_ref(resource), "title": resource_title(resource), **editor_links(base, resource)},
        "library": library_or_null(effective_library(resource)),
        "coverage": item.coverage,
        "note": item.note,
        "activation_note": item.activation_note,
        "version": item.version,
        "actions": row.actions,
    }


def po_line_json(line: Any, base: str) -> dict[str, Any]:
    """A PO line's own fields (its items follow in the answer's list)."""
    return {
        "id": str(line.id),
        "number": line.number,
        "vendor": line.vendor,
        "description": line.description,
        "link": f"{base}/api/v1/acq/po-lines/{line.id}",
    }


def report_json(report: LoadReport) -> dict[str, Any]:
    return {
        "updated": report.updated,
        "created": report.created,
        "errors": [{"row": p.row, "column": p.column, "reason": p.reason} for p in report.problems],
    }

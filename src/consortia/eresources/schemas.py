"""Electronic resources request bodies (pydantic, validated into 400s) and answer shapes (API.md
"Electronic resources"; Alma notes §3.1).

Alma bodies name coded values as `{"value": ...}`; these models also take a plain string. Fields that a
body leaves out are left as they are (a PUT that omits `library` keeps the library).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import (
    AVAILABILITY,
    COLLECTION_TYPES,
    SERVICE_TYPES,
    BibRecord,
    CzCollection,
    CzPortfolio,
    ElectronicCollection,
    ElectronicService,
    Portfolio,
)
from consortia.eresources.policy import COLLECTION
from consortia.formats import alma_date, alma_datetime, coded, reference
from consortia.platform.models import Library

if TYPE_CHECKING:
    from consortia.eresources.search import Result, SearchPage

ALMAWS = "/almaws/v1"


def _code(value: Any) -> Any:
    """`{"value": "X", "desc": ...}` or `"X"` → `"X"`; None stays None."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return str(value)
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Interface(_Body):
    name: str = Field(default="", max_length=200)
    vendor: str = Field(default="", max_length=200)


class CollectionIn(_Body):
    public_name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    type: str | None = Field(default=None, max_length=10)
    library: str | None = Field(default=None, max_length=40)
    interface: Interface | None = None
    activation_status: str | None = Field(default=None, max_length=10)
    po_line: str | None = Field(default=None, max_length=60)
    license: str | None = Field(default=None, max_length=60)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)

    _codes = field_validator("type", "library", "activation_status", "po_line", "license", mode="before")(
        lambda cls, v: _code(v)
    )


class ServiceIn(_Body):
    type: str | None = Field(default=None, max_length=40)
    public_description: str | None = Field(default=None, max_length=300)
    activation_status: str | None = Field(default=None, max_length=10)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)

    _codes = field_validator("type", "activation_status", mode="before")(lambda cls, v: _code(v))


class CollectionRef(_Body):
    id: str | None = Field(default=None, max_length=20)
    service: str | None = Field(default=None, max_length=20)

    _codes = field_validator("id", "service", mode="before")(lambda cls, v: _code(v))


class ResourceMetadata(_Body):
    mms_id: str | None = Field(default=None, max_length=20)

    _codes = field_validator("mms_id", mode="before")(lambda cls, v: _code(v))


class PortfolioIn(_Body):
    resource_metadata: ResourceMetadata | None = None
    electronic_collection: CollectionRef | None = None
    library: str | None = Field(default=None, max_length=40)
    availability: str | None = Field(default=None, max_length=10)
    coverage_details: str | None = Field(default=None, max_length=200)
    po_line: str | None = Field(default=None, max_length=60)
    license: str | None = Field(default=None, max_length=60)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)

    _codes = field_validator("library", "availability", "po_line", "license", mode="before")(lambda cls, v: _code(v))

    @field_validator("coverage_details", mode="before")
    @classmethod
    def _coverage(cls, value: Any) -> Any:
        # Alma's coverage is a structure; a text summary is what this platform keeps.
        if isinstance(value, Mapping | list):
            return None
        return value


class AttachIn(_Body):
    collection_id: str = Field(min_length=1, max_length=20)
    service_id: str | None = Field(default=None, max_length=20)
    confirm: bool = False

    _codes = field_validator("collection_id", "service_id", mode="before")(lambda cls, v: _code(v))


class CzPortfolioIn(_Body):
    title: str = Field(min_length=1, max_length=500)
    issn: str = Field(default="", max_length=40)
    isbn: str = Field(default="", max_length=40)
    coverage: str = Field(default="", max_length=200)


class CzCollectionIn(_Body):
    public_name: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=4000)
    type: str = Field(default="0", max_length=10)
    interface: Interface | None = None
    portfolios: list[CzPortfolioIn] = Field(default_factory=list, max_length=1000)

    _codes = field_validator("type", mode="before")(lambda cls, v: _code(v))


# --- answers ------------------------------------------------------------------------------------


def library_value(library: Library | None) -> dict[str, Any]:
    """Alma's `library {value, desc}`; `value` "" when none."""
    return coded(library.code if library else "", library.name if library else None)


def library_or_null(library: Library | None) -> dict[str, Any] | None:
    return None if library is None else coded(library.code, library.name)


def collection_link(base: str, collection_id: int) -> str:
    return f"{base}{ALMAWS}/electronic/e-collections/{collection_id}"


def service_link(base: str, collection_id: int, service_id: int) -> str:
    return f"{collection_link(base, collection_id)}/e-services/{service_id}"


def bib_link(base: str, bib_id: int) -> str:
    return f"{base}{ALMAWS}/bibs/{bib_id}"


def portfolio_link(base: str, portfolio: Portfolio | PortfolioRecord) -> str:
    # Alma links portfolios through their record, inside a collection too.
    return f"{bib_link(base, portfolio.bib_id)}/portfolios/{portfolio.id}"


def collection_json(
    collection: ElectronicCollection, base: str, *, portfolios: int, bib: BibRecord | None = None
) -> dict[str, Any]:
    link = collection_link(base, collection.id)
    return {
        "id": str(collection.id),
        "link": link,
        "public_name": collection.public_name,
        "public_name_override": "",
        "description": collection.description,
        "internal_description": "",
        "type": coded(collection.type, COLLECTION_TYPES.get(collection.type)),
        "is_local": collection.is_local,
        "library": library_value(collection.library),
        "activation_status": coded(collection.activation_status, AVAILABILITY.get(collection.activation_status)),
        "activation_date": alma_date(collection.activation_date),
        "portfolios": {"value": portfolios, "link": f"{link}/e-services"},
        "interface": {"name": collection.interface_name, "vendor": collection.vendor},
        "resource_metadata": None
        if bib is None
        else {"mms_id": reference(bib.id, bib_link(base, bib.id)), "title": bib.title, "issn": bib.issn},
        "counter_platform": coded(""),
        "cdi_info": {},
        "license": reference(collection.license or None, None),
        "po_line": reference(collection.po_line or None, None),
        "community_zone_collection": None
        if collection.cz_collection_id is None
        else reference(collection.cz_collection_id, f"{base}/api/v1/cz/collections/{collection.cz_collection_id}"),
    }


def service_json(service: ElectronicService, base: str, *, portfolios: int) -> dict[str, Any]:
    link = service_link(base, service.collection_id, service.id)
    collection = service.collection
    return {
        "id": str(service.id),
        "link": link,
        "is_local": collection.is_local,
        "type": coded(service.type, SERVICE_TYPES.get(service.type)),
        "public_description": service.public_description,
        "activation_status": coded(service.activation_status, AVAILABILITY.get(service.activation_status)),
        "portfolios": {"value": portfolios, "link": f"{link}/portfolios"},
        "electronic_collection": reference(collection.id, collection_link(base, collection.id)),
        # Not an Alma field (an e-service has no library): the library it inherits (ER-12's header).
        "electronic_collection_library": library_or_null(collection.library),
    }


@dataclass(frozen=True, slots=True)
class PortfolioRecord:
    """A portfolio as answers show it: the row's fields, its own library and its collection's, read-only.

    `GET /bibs/{mms_id}/portfolios/{portfolio_id}` runs on every portfolio look-up of an Alma client (N-6),
    so it reads this with one Core statement (`eresources.reads`); answers after a change build it from the
    loaded entity (`portfolio_record`), so that one JSON builder serves both."""

    id: int
    institution_id: int
    bib_id: int
    collection_id: int | None
    service_id: int | None
    title: str
    issn: str
    isbn: str
    availability: str
    coverage: str
    is_local: bool
    cz_portfolio_id: int | None
    po_line: str
    license: str
    activation_date: dt.date | None
    version: int
    library_code: str | None  # the portfolio's own library
    library_name: str | None
    collection_library_code: str | None  # its electronic collection's library
    collection_library_name: str | None

    @property
    def is_standalone(self) -> bool:
        return self.collection_id is None


def _library_parts(library: Library | None) -> tuple[str | None, str | None]:
    return (library.code, library.name) if library is not None else (None, None)


def portfolio_record(portfolio: Portfolio) -> PortfolioRecord:
    collection = portfolio.collection
    library_code, library_name = _library_parts(portfolio.library)
    collection_code, collection_name = _library_parts(collection.library if collection is not None else None)
    return PortfolioRecord(
        id=portfolio.id,
        institution_id=portfolio.institution_id,
        bib_id=portfolio.bib_id,
        collection_id=portfolio.collection_id,
        service_id=portfolio.service_id,
        title=portfolio.title,
        issn=portfolio.issn,
        isbn=portfolio.isbn,
        availability=portfolio.availability,
        coverage=portfolio.coverage,
        is_local=portfolio.is_local,
        cz_portfolio_id=portfolio.cz_portfolio_id,
        po_line=portfolio.po_line,
        license=portfolio.license,
        activation_date=portfolio.activation_date,
        version=portfolio.version,
        library_code=library_code,
        library_name=library_name,
        collection_library_code=collection_code,
        collection_library_name=collection_name,
    )


def portfolio_json(portfolio: Portfolio | PortfolioRecord, base: str) -> dict[str, Any]:
    record = portfolio if isinstance(portfolio, PortfolioRecord) else portfolio_record(portfolio)
    in_collection = None
    if record.collection_id is not None and record.service_id is not None:
        in_collection = {
            "id": reference(record.collection_id, collection_link(base, record.collection_id)),
            "service": reference(record.service_id, service_link(base, record.collection_id, record.service_id)),
        }
    return {
        "id": str(record.id),
        "link": portfolio_link(base, record),
        "is_local": record.is_local,
        "is_standalone": record.is_standalone,
        "resource_metadata": {
            "mms_id": reference(record.bib_id, bib_link(base, record.bib_id)),
            "title": record.title,
            "issn": record.issn,
            "isbn": record.isbn,
        },
        "electronic_collection": in_collection,
        "availability": coded(record.availability, AVAILABILITY.get(record.availability)),
        "library": coded(record.library_code or "", record.library_name),
        "electronic_collection_library": (
            None
            if record.collection_library_code is None
            else coded(record.collection_library_code, record.collection_library_name)
        ),
        "activation_date": alma_date(record.activation_date),
        "coverage_details": record.coverage,
        "po_line": reference(record.po_line or None, None),
        "license": reference(record.license or None, None),
        "community_zone_portfolio": None if record.cz_portfolio_id is None else str(record.cz_portfolio_id),
    }


def bib_json(bib: BibRecord, base: str) -> dict[str, Any]:
    return {
        "mms_id": str(bib.id),
        "link": bib_link(base, bib.id),
        "title": bib.title,
        "author": bib.author,
        "issn": bib.issn or None,
        "isbn": bib.isbn or None,
        "created_date": alma_date(bib.created_at.date()),
        "last_modified_date": alma_date(bib.updated_at.date()),
        "anies": [bib.marcxml],
    }


def cz_collection_json(collection: CzCollection, base: str, *, activated: bool) -> dict[str, Any]:
    return {
        "id": str(collection.id),
        "link": f"{base}/api/v1/cz/collections/{collection.id}",
        "public_name": collection.public_name,
        "description": collection.description,
        "type": coded(collection.type, COLLECTION_TYPES.get(collection.type)),
        "interface": {"name": collection.interface_name, "vendor": collection.vendor},
        "activated": activated,
        "portfolios": [cz_portfolio_json(p) for p in collection.portfolios],
    }


def cz_portfolio_json(portfolio: CzPortfolio) -> dict[str, Any]:
    return {
        "id": str(portfolio.id),
        "title": portfolio.title,
        "issn": portfolio.issn,
        "isbn": portfolio.isbn,
        "coverage": portfolio.coverage,
    }


def event_json(event: HistoryEvent) -> dict[str, Any]:
    return {
        "entity": event.entity,
        "id": event.entity_id,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "actor": event.actor,
        "at": alma_datetime(event.at),
        "job_instance": event.job_instance_id,
    }


def result_json(result: Result) -> dict[str, Any]:
    resource = result.resource
    if result.scoped.kind == COLLECTION:
        return {
            "id": str(resource.id),
            "kind": "electronic_collection",
            "title": resource.public_name,
            "library": library_or_null(resource.library),
            "electronic_collection_library": None,
            "actions": result.actions,
        }
    collection = resource.collection
    return {
        "id": str(resource.id),
        "kind": "portfolio",
        "title": resource.title,
        "mms_id": str(resource.bib_id),
        "library": library_or_null(resource.library),
        "electronic_collection_library": library_or_null(collection.library if collection else None),
        "actions": result.actions,
    }


def library_facets_json(page: SearchPage) -> list[dict[str, Any]]:
    """The Library facet of a search: each library with its count."""
    return [{"value": f.library.code, "desc": f.library.name, "count": f.count} for f in page.facets if f.library]

"""Electronic inventory tables (ER-1): bibliographic records, electronic collections, their services,
portfolios, and the Community Zone catalogue that institutions activate from (ER-23).

The library of a resource is a nullable reference: none means institution level. A portfolio's
*effective* library (ER-3) is its collection's library when the collection has one, else its own;
it is never stored, `eresources.policy` derives it (in Python and in SQL) from these columns, so a
collection's new library applies to its portfolios at once, before the job has cleared their own.

Every editable row carries `version` (the platform's optimistic version check, R-4).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consortia.db import Base, utcnow
from consortia.platform.models import Library

# Alma's e-collection types (type.value, type.desc).
COLLECTION_TYPES: dict[str, str] = {
    "0": "Selective package",
    "1": "Aggregator package",
    "2": "Database",
}
# The job id of "Set Electronic Collection Library" (its kind in eresources.jobs): the collection verb
# submits it, so it stands below both.
SET_COLLECTION_LIBRARY = "M2001"
# Alma's availability / activation codes of portfolios and services.
AVAILABLE, NOT_AVAILABLE = "11", "10"
AVAILABILITY: dict[str, str] = {AVAILABLE: "Available", NOT_AVAILABLE: "Not available"}
SERVICE_TYPES: dict[str, str] = {
    "getFullTxt": "Full Text",
    "getSelectedFullTxt": "Selected Full Text",
    "getAbstract": "Abstract",
}


class BibRecord(Base):
    """A bibliographic record of an institution; `marcxml` is the record as MARCXML (one `<record>`),
    title and identifiers are read from it when it is stored (`eresources.marc`)."""

    __tablename__ = "bib_record"
    __table_args__ = (Index("ix_bib_record_institution", "institution_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    title: Mapped[str] = mapped_column(String(500), default="")
    author: Mapped[str] = mapped_column(String(300), default="")
    issn: Mapped[str] = mapped_column(String(40), default="")
    isbn: Mapped[str] = mapped_column(String(40), default="")
    marcxml: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CzCollection(Base):
    """A collection of the Community Zone catalogue (the operator's), with its portfolios."""

    __tablename__ = "cz_collection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(10), default="0")
    interface_name: Mapped[str] = mapped_column(String(200), default="")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    portfolios: Mapped[list[CzPortfolio]] = relationship(
        back_populates="collection", order_by="CzPortfolio.id", cascade="all, delete-orphan"
    )


class CzPortfolio(Base):
    __tablename__ = "cz_portfolio"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("cz_collection.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    issn: Mapped[str] = mapped_column(String(40), default="")
    isbn: Mapped[str] = mapped_column(String(40), default="")
    coverage: Mapped[str] = mapped_column(String(200), default="")

    collection: Mapped[CzCollection] = relationship(back_populates="portfolios")


class ElectronicCollection(Base):
    __tablename__ = "electronic_collection"
    __table_args__ = (
        Index("ix_electronic_collection_institution", "institution_id", "id"),
        Index("ix_electronic_collection_library", "library_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    public_name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(10), default="0")
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"))
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    activation_status: Mapped[str] = mapped_column(String(10), default=AVAILABLE)
    activation_date: Mapped[dt.date | None] = mapped_column(Date)
    interface_name: Mapped[str] = mapped_column(String(200), default="")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    bib_id: Mapped[int | None] = mapped_column(ForeignKey("bib_record.id", ondelete="SET NULL"), index=True)
    cz_collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("cz_collection.id", ondelete="SET NULL"), index=True
    )
    po_line: Mapped[str] = mapped_column(String(60), default="")
    license: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    library: Mapped[Library | None] = relationship(lazy="joined")
    services: Mapped[list[ElectronicService]] = relationship(
        back_populates="collection", order_by="ElectronicService.id", passive_deletes=True
    )


class ElectronicService(Base):
    __tablename__ = "electronic_service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("electronic_collection.id"), index=True)
    type: Mapped[str] = mapped_column(String(40), default="getFullTxt")
    public_description: Mapped[str] = mapped_column(String(300), default="")
    activation_status: Mapped[str] = mapped_column(String(10), default=AVAILABLE)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    collection: Mapped[ElectronicCollection] = relationship(back_populates="services", lazy="joined")


class Portfolio(Base):
    """A portfolio: part of a collection and one of its services, or standalone (both NULL).

    Title and identifiers are the bibliographic record's, copied when the portfolio is made so that
    the search (N-1) reads one table. `updated_at` is what publishing would pick up: changing a
    collection's library does not touch it (ER-7, no publishing).
    """

    __tablename__ = "portfolio"
    __table_args__ = (
        # N-1: an institution's portfolios in id order, with the columns of the scope rule, so a page of
        # the search walks one index; N-2: a collection's portfolios in id order (the job's chunks).
        Index("ix_portfolio_institution", "institution_id", "id", "collection_id", "library_id"),
        # N-1: the Library facet groups an institution's portfolios by (collection, own library) in
        # index order, without sorting millions of rows.
        Index("ix_portfolio_facet", "institution_id", "collection_id", "library_id"),
        Index("ix_portfolio_collection", "collection_id", "id"),
        Index("ix_portfolio_service", "service_id", "id"),
        # ER-12 at scale: the service editor's Library filter asks, per library of the institution, whether
        # the service has a portfolio of it (one seek, not a DISTINCT over a million rows), and a filtered
        # page walks one library's portfolios of the service in id order.
        Index("ix_portfolio_service_library", "service_id", "library_id", "id"),
        Index("ix_portfolio_bib", "bib_id", "id"),
        Index("ix_portfolio_library", "library_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    bib_id: Mapped[int] = mapped_column(ForeignKey("bib_record.id"))
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("electronic_collection.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("electronic_service.id"))
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"))
    title: Mapped[str] = mapped_column(String(500), default="")
    issn: Mapped[str] = mapped_column(String(40), default="")
    isbn: Mapped[str] = mapped_column(String(40), default="")
    availability: Mapped[str] = mapped_column(String(10), default=AVAILABLE)
    coverage: Mapped[str] = mapped_column(String(200), default="")
    is_local: Mapped[bool] = mapped_column(Boolean, default=True)
    cz_portfolio_id: Mapped[int | None] = mapped_column(ForeignKey("cz_portfolio.id", ondelete="SET NULL"), index=True)
    po_line: Mapped[str] = mapped_column(String(60), default="")
    license: Mapped[str] = mapped_column(String(60), default="")
    activation_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    library: Mapped[Library | None] = relationship(lazy="joined")
    collection: Mapped[ElectronicCollection | None] = relationship(lazy="joined")
    service: Mapped[ElectronicService | None] = relationship()
    bib: Mapped[BibRecord] = relationship()

    @property
    def is_standalone(self) -> bool:
        return self.collection_id is None

"""Tables of the electronic resources' work lists (ER-14, ER-15) and of acquisitions (ER-18, ER-19).

A task item names one resource, a portfolio or an electronic collection of its institution (exactly one
of `portfolio_id`, `collection_id`); the scope rule judges the item by that resource's effective library
(ER-3), which is never copied here, so a new library on a collection applies to its items at once. Items
go when their resource goes (ON DELETE CASCADE).

Purchase order lines order electronic items (each a portfolio or a collection); licences list their
inventory through the `license` code that collections and portfolios already carry (ER-1).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consortia.db import Base, utcnow
from consortia.eresources.models import ElectronicCollection, Portfolio

# The two lists (ER-14, ER-15).
CZ_UPDATES, ACTIVATION = "CZ_UPDATES", "ACTIVATION"

# Report types of the Community Zone Updates Task List (ER-14).
PORTFOLIO_UPDATED, PORTFOLIO_DELETED = "Portfolio updated in CZ", "Portfolio deleted in CZ"
COLLECTION_UPDATED, COLLECTION_DELETED = "Collection updated in CZ", "Collection deleted in CZ"
# Report types of the Electronic Resource Activation Task List (ER-15).
ACTIVATED_FROM_CZ, CREATED_LOCALLY = "Activated from the Community Zone", "Local resource created"

# Statuses: CZ updates are OPEN until dismissed; activation items move between these until DONE or DELETED.
OPEN, DISMISSED = "OPEN", "DISMISSED"
IN_REVIEW, IN_PROCESS, DONE, DELETED = "IN_REVIEW", "IN_PROCESS", "DONE", "DELETED"
STATUSES: dict[str, str] = {
    OPEN: "Open",
    DISMISSED: "Dismissed",
    IN_REVIEW: "In Review",
    IN_PROCESS: "In Process",
    DONE: "Done",
    DELETED: "Deleted",
}
# What Change Status may choose on the Activation Task List.
ACTIVATION_STATUSES = (OPEN, IN_REVIEW, IN_PROCESS, DONE)


class EresourceTask(Base):
    __tablename__ = "eresource_task"
    __table_args__ = (
        CheckConstraint("(portfolio_id IS NULL) <> (collection_id IS NULL)", name="one_resource"),
        Index("ix_eresource_task_list", "institution_id", "task_list", "status", "id"),
        Index("ix_eresource_task_portfolio", "portfolio_id"),
        Index("ix_eresource_task_collection", "collection_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    task_list: Mapped[str] = mapped_column(String(20))
    report_type: Mapped[str] = mapped_column(String(80))
    portfolio_id: Mapped[int | None] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"))
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("electronic_collection.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    note: Mapped[str] = mapped_column(String(1000), default="")
    # ER-15 Unsuppress: an activated resource stays hidden from discovery until someone unsuppresses it.
    suppressed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_by: Mapped[str] = mapped_column(String(200), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    portfolio: Mapped[Portfolio | None] = relationship(lazy="joined", passive_deletes=True)
    collection: Mapped[ElectronicCollection | None] = relationship(lazy="joined", passive_deletes=True)

    @property
    def resource(self) -> Portfolio | ElectronicCollection:
        found = self.portfolio if self.portfolio is not None else self.collection
        assert found is not None
        return found


class PoLine(Base):
    """A purchase order line of an institution (ER-18), with its ordered electronic items."""

    __tablename__ = "po_line"
    __table_args__ = (UniqueConstraint("institution_id", "number", name="uq_po_line_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    number: Mapped[str] = mapped_column(String(60))
    vendor: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    items: Mapped[list[PoLineItem]] = relationship(
        back_populates="po_line", order_by="PoLineItem.id", cascade="all, delete-orphan"
    )


class PoLineItem(Base):
    """An ordered electronic item: one portfolio or one collection (exactly one of the two)."""

    __tablename__ = "po_line_item"
    __table_args__ = (
        CheckConstraint("(portfolio_id IS NULL) <> (collection_id IS NULL)", name="one_resource"),
        Index("ix_po_line_item_line", "po_line_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    po_line_id: Mapped[int] = mapped_column(ForeignKey("po_line.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    portfolio_id: Mapped[int | None] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("electronic_collection.id", ondelete="CASCADE"), index=True
    )
    coverage: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")
    activation_note: Mapped[str] = mapped_column(String(1000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    po_line: Mapped[PoLine] = relationship(back_populates="items")
    portfolio: Mapped[Portfolio | None] = relationship(lazy="joined", passive_deletes=True)
    collection: Mapped[ElectronicCollection | None] = relationship(lazy="joined", passive_deletes=True)

    @property
    def resource(self) -> Portfolio | ElectronicCollection:
        found = self.portfolio if self.portfolio is not None else self.collection
        assert found is not None
        return found


class License(Base):
    """A licence of an institution (ER-19); its inventory is the collections and portfolios whose
    `license` is its code."""

    __tablename__ = "license"
    __table_args__ = (UniqueConstraint("institution_id", "code", name="uq_license_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

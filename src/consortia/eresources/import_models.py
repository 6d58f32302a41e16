"""Tables of itemized sets of portfolios (input of ER-21), import profiles and the files they load (ER-22).

A set holds its members as rows (`portfolio_set_member`), so the ER-21 job walks them in portfolio id
order with one index. An uploaded MARC file is kept in `import_file_part` rows of at most `PART_BYTES`
each, written in the transaction that submits the import job: the job reads the file from any offset
(its checkpoint) in any worker process, and a crash loses nothing. `imported_record` holds the
deterministic key of every record an institution imported (its 001, else a hash of its content):
importing the same file again creates nothing twice (R-5).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consortia.db import Base, utcnow

PART_BYTES = 1 << 20

# Import profile types (Alma's `type.value`) and portfolio types.
REPOSITORY, INVENTORY_UPDATE, NEW_ORDER = "REPOSITORY", "INVENTORY_UPDATE", "NEW_ORDER"
PROFILE_TYPES: dict[str, str] = {REPOSITORY: "Repository", INVENTORY_UPDATE: "Inventory Update", NEW_ORDER: "New Order"}
STANDALONE, PART_OF_COLLECTION = "STANDALONE", "PART_OF_ELECTRONIC_COLLECTION"
PORTFOLIO_TYPES: dict[str, str] = {STANDALONE: "Standalone", PART_OF_COLLECTION: "Part of an electronic collection"}


class PortfolioSet(Base):
    """An itemized set of portfolios of one institution (Alma's set: type ITEMIZED, content IEP)."""

    __tablename__ = "portfolio_set"
    __table_args__ = (Index("ix_portfolio_set_institution", "institution_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PortfolioSetMember(Base):
    __tablename__ = "portfolio_set_member"

    set_id: Mapped[int] = mapped_column(ForeignKey("portfolio_set.id", ondelete="CASCADE"), primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(
        ForeignKey("portfolio.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ImportProfile(Base):
    """A metadata import profile (ER-22). Only REPOSITORY profiles take a portfolio library."""

    __tablename__ = "import_profile"
    __table_args__ = (Index("ix_import_profile_institution", "institution_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(30), default=REPOSITORY)
    portfolio_type: Mapped[str] = mapped_column(String(40), default=STANDALONE)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("electronic_collection.id", ondelete="SET NULL"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(ForeignKey("electronic_service.id", ondelete="SET NULL"), index=True)
    library_tag: Mapped[str] = mapped_column(String(3), default="")
    library_subfield: Mapped[str] = mapped_column(String(1), default="")
    default_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ImportFile(Base):
    """An uploaded MARC file an import job loads: its format (MARC21 or MARCXML), size and digest."""

    __tablename__ = "import_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("import_profile.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300), default="")
    format: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImportFilePart(Base):
    __tablename__ = "import_file_part"

    file_id: Mapped[int] = mapped_column(ForeignKey("import_file.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportedRecord(Base):
    """The key of a record an institution imported, with what it created (R-5: never twice)."""

    __tablename__ = "imported_record"
    __table_args__ = (UniqueConstraint("institution_id", "record_key", name="uq_imported_record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    record_key: Mapped[str] = mapped_column(String(80))
    bib_id: Mapped[int] = mapped_column(ForeignKey("bib_record.id", ondelete="CASCADE"), index=True)
    portfolio_id: Mapped[int | None] = mapped_column(ForeignKey("portfolio.id", ondelete="SET NULL"), index=True)
    job_instance_id: Mapped[int | None] = mapped_column(ForeignKey("job_instance.id", ondelete="SET NULL"), index=True)

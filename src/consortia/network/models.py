"""Tables of the collaborative network (CN): linked-account rules (CN-2), the three tables an
institution keeps about the network (CN-4 .. CN-6) and walk-in loans (CN-11).

Linked accounts themselves are users (`platform.models.User` with account type `LINKED` and the
source columns); the rule that made one is recorded in `User.linked_rule` (the rule's id, or
`default`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consortia.db import Base, utcnow
from consortia.platform.models import Library, User

# Date forms of a rule's output (CN-2).
NONE, ABSOLUTE, RELATIVE = "NONE", "ABSOLUTE", "RELATIVE"
DATE_TYPES = (NONE, ABSOLUTE, RELATIVE)
UNITS = ("DAYS", "WEEKS", "MONTHS", "YEARS")
# Input parameter operators (CN-2).
OPERATORS = ("=", "!=", "in", "not in")
SOURCE_INSTITUTION = "source_institution"

DEFAULT_RULE_ID = "default"
LINKED = "LINKED"

# The user fields the source institution shares or not (CN-5), in the order of the page.
SHARED_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birth_date",
    "job_category",
    "identifiers",
    "preferred_language",
)


class RuleList(Base):
    """One row per institution that has changed its rules: the version of the whole ordered list.

    Every change of a rule (add, edit, duplicate, delete, reorder, the default rule) raises it, so two
    administrators changing the list at once cannot both win (R-4): the second gets 409.
    """

    __tablename__ = "linked_account_rule_list"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The default rule's output (CN-2: always present, no input parameters, never deleted or moved).
    default_output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __mapper_args__ = {"version_id_col": version}


class LinkedAccountRule(Base):
    """A linked-account rule of an institution (CN-2), tried in `position` order (CN-3).

    `inputs` is a list of `{"parameter": "source_institution", "operator": "=", "value": ["WEST"]}`;
    `output` holds the output parameters in the API's shape (user_group, expiry, purge, refresh_expiry,
    refresh_purge, resource_sharing_library, copy_network_blocks).
    """

    __tablename__ = "linked_account_rule"
    __table_args__ = (Index("ix_linked_account_rule_order", "institution_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class NetworkCodeRow(Base):
    """A row naming a code of one of the institution's code tables, with a description."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    code: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200), default="")


class RestrictedUserGroup(NetworkCodeRow):
    """A user group whose patrons the rest of the fulfillment network never finds (CN-4)."""

    __tablename__ = "restricted_user_group"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)


class SharedField(Base):
    """Whether a user field is copied into new linked accounts elsewhere (CN-5); a field without a row
    is shared."""

    __tablename__ = "linked_account_shared_field"
    __table_args__ = (UniqueConstraint("institution_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    field: Mapped[str] = mapped_column(String(60))
    shared: Mapped[bool] = mapped_column(Boolean, default=True)


class SearchableIdentifier(NetworkCodeRow):
    """An identifier type that takes part in the fulfillment network (CN-6); no rows = every type."""

    __tablename__ = "searchable_identifier"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)


class Loan(Base):
    """A loan of an item to a user (CN-11: the walk-in desk is where Consortia lends)."""

    __tablename__ = "loan"
    __table_args__ = (Index("ix_loan_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), index=True)
    item_barcode: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    loan_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_date: Mapped[dt.date] = mapped_column(Date)

    user: Mapped[User] = relationship()
    library: Mapped[Library] = relationship()

"""Support Center tables (SC): cases with comments and attachments, list views, Consortia licences,
access reviews, registrations and the enablement requests.

Who may see a case is decided by `support.policy` from the columns here (institution, opener,
share_with) and the consortium's `case_sharing_enabled`; nothing is copied into the case, so a
change of the flag or of the sharing level takes effect on the next read (SC-1, SC-7).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consortia.db import Base, utcnow
from consortia.platform.models import Consortium, Institution, User

# SC-4 vocabularies, in workflow / severity order (the Literal types are the same values, for inputs).
ISSUE_TYPES = ("Access", "Technical", "Configuration", "Data", "Other")
PRIORITIES = ("Low", "Medium", "High", "Critical")
NEW, IN_PROGRESS, PENDING_CUSTOMER, SOLVED, CLOSED = "New", "In Progress", "Pending Customer", "Solved", "Closed"
STATUSES = (NEW, IN_PROGRESS, PENDING_CUSTOMER, SOLVED, CLOSED)
OPEN_STATUSES = (NEW, IN_PROGRESS, PENDING_CUSTOMER)
IssueType = Literal["Access", "Technical", "Configuration", "Data", "Other"]
Priority = Literal["Low", "Medium", "High", "Critical"]
Status = Literal["New", "In Progress", "Pending Customer", "Solved", "Closed"]

# Share with (SC-4, SC-5).
SHARE_INSTITUTION = "INSTITUTION"
SHARE_CONSORTIUM = "CONSORTIUM"
SHARE_WITH = (SHARE_INSTITUTION, SHARE_CONSORTIUM)
ShareWith = Literal["INSTITUTION", "CONSORTIUM"]
MY_INSTITUTION_LABEL = "My Institution"

# Support Center levels (SC-2), lowest first.
LEVEL_NONE, BASIC, STANDARD, CONSORTIA = "NONE", "BASIC", "STANDARD", "CONSORTIA"
SUPPORT_LEVELS = (LEVEL_NONE, BASIC, STANDARD, CONSORTIA)
CONTACT_LEVELS = frozenset({BASIC, STANDARD, CONSORTIA})
INSTITUTION_LEVELS = frozenset({STANDARD, CONSORTIA})

CASE_NUMBER_DIGITS = 8


class SupportCase(Base):
    """A Support Center case (SC-4). `number` is the 8-digit public id; `version` guards edits (R-4)."""

    __tablename__ = "support_case"
    __table_args__ = (
        # N-5: the Consortium/Partner Cases list walks this index newest first and stops after a page;
        # the trailing columns are those of the visibility rule, so the bounded count never reads the
        # table. The other two serve "My Institution's Cases" and "My Cases" the same way.
        Index("ix_support_case_shared", "share_with", "updated_at", "id", "institution_id", "opened_by_id"),
        Index("ix_support_case_institution", "institution_id", "updated_at", "id", "share_with", "opened_by_id"),
        Index("ix_support_case_opener", "opened_by_id", "updated_at", "id", "institution_id", "share_with"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(CASE_NUMBER_DIGITS), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    subject: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    issue_type: Mapped[str] = mapped_column(String(40))
    product: Mapped[str] = mapped_column(String(100), default="")
    priority: Mapped[str] = mapped_column(String(20), default="Medium")
    status: Mapped[str] = mapped_column(String(30), default=NEW)
    share_with: Mapped[str] = mapped_column(String(20), default=SHARE_INSTITUTION)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    institution: Mapped[Institution] = relationship()
    opened_by: Mapped[User] = relationship()


class CaseNumberCounter(Base):
    """The last case number handed out. Incremented inside the transaction that creates the case,
    so numbers are sequential and never handed out twice (the row lock serialises creators)."""

    __tablename__ = "support_case_counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class CaseComment(Base):
    __tablename__ = "case_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CaseAttachment(Base):
    __tablename__ = "case_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ListView(Base):
    """A personal (custom) list view, cloned from a built-in view (SC-9). Built-in views are not rows:
    they are defined in `support.views`. `source_view` names the built-in view whose query and
    visibility a custom view narrows."""

    __tablename__ = "list_view"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    source_view: Mapped[str] = mapped_column(String(40))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    sort: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ConsortiaLicence(Base):
    """A Consortia licence (SC-2, SC-11): granted and removed by the operator only. Rows are kept
    after removal (the active licence of a user is the one with `removed_at` NULL)."""

    __tablename__ = "consortia_licence"
    __table_args__ = (
        # At most one active licence per user, even when two grants race.
        Index(
            "ux_consortia_licence_active_user",
            "user_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    removed_by: Mapped[str | None] = mapped_column(String(200))

    institution: Mapped[Institution] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AccessReview(Base):
    """The operator's periodic review of a consortium's Consortia users (SC-11)."""

    __tablename__ = "access_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))


class PartnerCaseView(Base):
    """When each user last opened a case of another institution (for the access review, SC-11)."""

    __tablename__ = "partner_case_view"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id", ondelete="CASCADE"), index=True)
    viewed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SharingRequest(Base):
    """The enablement request behind an Access case (SC-10): which consortium, which contacts."""

    __tablename__ = "case_sharing_request"

    case_id: Mapped[int] = mapped_column(ForeignKey("support_case.id", ondelete="CASCADE"), primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    # [{"institution_id": int, "user_id": int}, ...]
    contacts: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    case: Mapped[SupportCase] = relationship()
    consortium: Mapped[Consortium] = relationship()


class SupportRegistration(Base):
    """A pending email confirmation of a self-registered user (SC-3); only the token's hash is kept."""

    __tablename__ = "support_registration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RegistrationAttempt(Base):
    """A self-registration that sent a mail (SC-3, R-7), counted per email address and per client
    address to limit how often anyone can make the Support Center send mail. Only hashes of the
    address and of the client are kept; rows older than the counting window are removed as new ones
    arrive."""

    __tablename__ = "support_registration_attempt"
    __table_args__ = (Index("ix_support_registration_attempt_key", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of "email:<address, lower case>" or "client:<client address>"
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)

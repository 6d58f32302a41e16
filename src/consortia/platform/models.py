"""Tables of the platform: tenancy (P-1), parameters (P-2), users and roles (P-3, P-4), credentials (P-5);
and `UserRecord`, a user as answers show it.

`UserRecord` is a plain, read-only snapshot of a user row and its roles, identifiers and blocks.
`GET /almaws/v1/users/{id}` runs on every call of an Alma client, so it reads the record with a few
Core statements (platform.user_reads) instead of loading ORM entities; answers after a change build the
same snapshot from the loaded entity (`record_of`), so that one JSON builder serves both; the permission
rules read either (`access.policy.USER_ACCOUNT`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consortia.db import Base, utcnow


def new_auth_epoch() -> int:
    """A fresh value for `User.auth_epoch`: random, so that no rollback or restored backup brings an old one back."""
    return secrets.randbits(62)


class Consortium(Base):
    __tablename__ = "consortium"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_account: Mapped[str] = mapped_column(String(200), default="")
    case_sharing_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    institutions: Mapped[list[Institution]] = relationship(back_populates="consortium")


class Institution(Base):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"), index=True)
    registration_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    consortium: Mapped[Consortium | None] = relationship(back_populates="institutions")
    libraries: Mapped[list[Library]] = relationship(back_populates="institution", order_by="Library.code")
    email_domains: Mapped[list[InstitutionEmailDomain]] = relationship(
        cascade="all, delete-orphan", order_by="InstitutionEmailDomain.domain"
    )


class InstitutionEmailDomain(Base):
    __tablename__ = "institution_email_domain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    domain: Mapped[str] = mapped_column(String(200), unique=True)


class Library(Base):
    __tablename__ = "library"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    campus: Mapped[str] = mapped_column(String(100), default="")
    resource_sharing: Mapped[bool] = mapped_column(Boolean, default=True)

    institution: Mapped[Institution] = relationship(back_populates="libraries")


class FulfillmentNetwork(Base):
    __tablename__ = "fulfillment_network"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    members: Mapped[list[Institution]] = relationship(
        secondary="fulfillment_network_member", order_by="Institution.code"
    )


class FulfillmentNetworkMember(Base):
    __tablename__ = "fulfillment_network_member"

    network_id: Mapped[int] = mapped_column(ForeignKey("fulfillment_network.id"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True, index=True)


class InstitutionParameter(Base):
    """A parameter value that differs from its default (definitions live in parameters.py)."""

    __tablename__ = "institution_parameter"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class CodeTableRow(Base):
    """A row of one of an institution's code tables (UserGroups, UserIdentifierTypes, UserRoles, ...)."""

    __tablename__ = "code_table_row"
    __table_args__ = (UniqueConstraint("institution_id", "table_name", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A person in one institution (staff or patron), or one of the operator's own staff.

    Operator staff have no institution (`institution_id` is NULL) and `is_operator` set.
    """

    __tablename__ = "user_account"
    __table_args__ = (
        UniqueConstraint("institution_id", "primary_id_key"),
        Index("ix_user_account_inst_name", "institution_id", "last_name", "first_name", "primary_id_key"),
        Index("ix_user_account_source", "source_institution_id", "source_user_id"),
        # N-4: an institution's account that points at a source user (its linked account or a peer).
        Index("ix_user_account_linked", "institution_id", "source_user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_id: Mapped[str] = mapped_column(String(100))
    primary_id_key: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(20), default="PUBLIC")
    account_type: Mapped[str] = mapped_column(String(20), default="INTERNAL")
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    user_group: Mapped[str] = mapped_column(String(60), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    middle_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    job_category: Mapped[str] = mapped_column(String(60), default="")
    preferred_language: Mapped[str] = mapped_column(String(20), default="")
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    purge_date: Mapped[dt.date | None] = mapped_column(Date)
    support_level: Mapped[str] = mapped_column(String(20), default="NONE")
    email_confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    last_sign_in: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Linked accounts (CN-9): the walk-in patron's home record.
    source_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    source_user_id: Mapped[int | None] = mapped_column(Integer)
    linking_id: Mapped[str | None] = mapped_column(String(100), index=True)
    linked_rule: Mapped[str | None] = mapped_column(String(100))
    rs_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Changes whenever what the user's API keys may do changes (access.auth_epoch sets it, never by hand):
    # the per-process identity cache compares it on every request.
    # (0 for rows inserted by SQL that names no value, e.g. INSERT ... SELECT.)
    auth_epoch: Mapped[int] = mapped_column(BigInteger, default=new_auth_epoch, server_default=text("0"))

    __mapper_args__ = {"version_id_col": version}

    institution: Mapped[Institution | None] = relationship(foreign_keys=[institution_id])
    identifiers: Mapped[list[UserIdentifier]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserIdentifier.id"
    )
    blocks: Mapped[list[UserBlock]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserBlock.id"
    )
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.id"
    )
    rs_library: Mapped[Library | None] = relationship(foreign_keys=[rs_library_id])

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


class UserIdentifier(Base):
    __tablename__ = "user_identifier"
    __table_args__ = (UniqueConstraint("institution_id", "id_type", "value_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    id_type: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(200))
    value_key: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")

    user: Mapped[User] = relationship(back_populates="identifiers")


class UserBlock(Base):
    __tablename__ = "user_block"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    block_type: Mapped[str] = mapped_column(String(60), default="GENERAL")
    description: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    network: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="blocks")


class UserRole(Base):
    """A role assignment (P-4): role type, scope (NULL library = the user's institution) and status."""

    __tablename__ = "user_role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role_type: Mapped[str] = mapped_column(String(60))
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="roles")
    library: Mapped[Library | None] = relationship()


class ApiKey(Base):
    """An API key (P-5); only a SHA-256 of the key is kept, the key itself is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class WebSession(Base):
    """A signed-in browser (P-5); the cookie holds a random token, the table only its hash."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    acting_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SignInFailure(Base):
    """Failed sign-ins per user name, for throttling (P-5, R-7)."""

    __tablename__ = "sign_in_failure"

    username_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- a user as answers show it --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: int
    role_type: str
    status: str
    expiry_date: dt.date | None
    library_code: str | None  # None: the role is held at institution level
    library_name: str | None


@dataclass(frozen=True, slots=True)
class IdentifierRecord:
    id: int
    id_type: str
    value: str
    status: str


@dataclass(frozen=True, slots=True)
class BlockRecord:
    id: int
    block_type: str
    description: str
    note: str
    network: bool
    status: str
    created_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """The fields of `User` that answers and the user-read rules need, with the children in id order."""

    id: int
    institution_id: int | None
    is_operator: bool
    primary_id: str
    record_type: str
    account_type: str
    status: str
    user_group: str
    first_name: str
    middle_name: str
    last_name: str
    email: str
    phone: str
    address: dict[str, Any] | None
    birth_date: dt.date | None
    job_category: str
    preferred_language: str
    expiry_date: dt.date | None
    purge_date: dt.date | None
    support_level: str
    source_institution_id: int | None
    source_user_id: int | None
    linking_id: str | None
    linked_rule: str | None
    version: int
    roles: tuple[RoleRecord, ...] = ()
    identifiers: tuple[IdentifierRecord, ...] = ()
    blocks: tuple[BlockRecord, ...] = ()

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


# The columns of `User` a record holds, in the order of UserRecord's fields.
RECORD_FIELDS = tuple(
    name for name in UserRecord.__dataclass_fields__ if name not in {"roles", "identifiers", "blocks"}
)


def record_of(user: User) -> UserRecord:
    """The record of a loaded user (roles with their libraries, identifiers and blocks loaded or loadable)."""
    return UserRecord(
        **{name: getattr(user, name) for name in RECORD_FIELDS},
        roles=tuple(
            RoleRecord(
                role.id,
                role.role_type,
                role.status,
                role.expiry_date,
                role.library.code if role.library is not None else None,
                role.library.name if role.library is not None else None,
            )
            for role in user.roles
        ),
        identifiers=tuple(IdentifierRecord(i.id, i.id_type, i.value, i.status) for i in user.identifiers),
        blocks=tuple(
            BlockRecord(b.id, b.block_type, b.description, b.note, b.network, b.status, b.created_at)
            for b in user.blocks
        ),
    )

"""Support Center request bodies (pydantic, validated into 400s) and answer shapes (API.md "Support").

Requests name choices by plain code (`"share_with": "CONSORTIUM"`); answers give choices and
references as coded values `{value, desc}`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consortia.audit.models import HistoryEvent
from consortia.formats import alma_datetime, coded
from consortia.mail import MailMessage
from consortia.platform.models import Consortium, Institution, User
from consortia.support.models import (
    MY_INSTITUTION_LABEL,
    SHARE_CONSORTIUM,
    CaseAttachment,
    CaseComment,
    SupportCase,
)

IssueType = Literal["Access", "Technical", "Configuration", "Data", "Other"]
Priority = Literal["Low", "Medium", "High", "Critical"]
Status = Literal["New", "In Progress", "Pending Customer", "Solved", "Closed"]
ShareWith = Literal["INSTITUTION", "CONSORTIUM"]
SortField = Literal[
    "number", "subject", "status", "priority", "issue_type", "product", "institution", "opened_by", "created", "updated"
]
Column = SortField | Literal["share_with"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CaseCreate(_Body):
    subject: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=20_000)
    issue_type: IssueType = "Technical"
    product: str = Field(default="", max_length=100)
    priority: Priority = "Medium"
    share_with: ShareWith = "INSTITUTION"


class CaseUpdate(_Body):
    """PATCH: only the fields given change; `version` (or If-Match) guards against lost updates (R-4)."""

    subject: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=20_000)
    priority: Priority | None = None
    status: Status | None = None
    version: int | None = Field(default=None, ge=1)


class ShareWithChange(_Body):
    share_with: ShareWith


class CommentCreate(_Body):
    text: str = Field(min_length=1, max_length=20_000)


class ViewFilters(BaseModel):
    """Filters of a custom list view (SC-9); every filter narrows, none widens."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: list[Status] = Field(default_factory=list, max_length=10)
    priority: list[Priority] = Field(default_factory=list, max_length=10)
    issue_type: list[IssueType] = Field(default_factory=list, max_length=10)
    institution: list[str] = Field(default_factory=list, max_length=100)
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None
    updated_from: dt.date | None = None
    updated_to: dt.date | None = None
    text: str = Field(default="", max_length=200)

    @field_validator("opened_from", "opened_to", "updated_from", "updated_to", mode="before")
    @classmethod
    def _alma_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("Z")
            return value or None
        return value

    @field_validator("institution")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [code.strip().upper()[:40] for code in value if code.strip()]


class ViewSort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: SortField = "updated"
    direction: Literal["asc", "desc"] = "desc"


class ViewClone(_Body):
    name: str = Field(min_length=1, max_length=100)


class ViewUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    filters: ViewFilters | None = None
    columns: list[Column] | None = Field(default=None, min_length=1, max_length=12)
    sort: ViewSort | None = None


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Registration(_Body):
    # The address becomes the user's primary id (at most 100 characters).
    email: str = Field(max_length=100, pattern=EMAIL_PATTERN)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    institution: str | None = Field(default=None, max_length=40)
    registration_token: str | None = Field(default=None, max_length=64)
    password: str = Field(min_length=8, max_length=500)


MAX_INSTITUTION_CODE = 40
MAX_PRIMARY_ID = 100
MAX_REQUEST_CONTACTS = 50


class ContactRef(_Body):
    """A contact named by institution code and user name (primary id), in any member institution."""

    institution: str = Field(min_length=1, max_length=MAX_INSTITUTION_CODE)
    primary_id: str = Field(min_length=1, max_length=MAX_PRIMARY_ID)


class SharingRequestCreate(_Body):
    consortium: str = Field(min_length=1, max_length=MAX_INSTITUTION_CODE)
    contacts: list[ContactRef] = Field(min_length=1, max_length=MAX_REQUEST_CONTACTS)


class CaseSharingSwitch(_Body):
    enabled: bool
    request_case: str | None = Field(default=None, max_length=20)


class LicenceGrant(_Body):
    institution: str = Field(min_length=1, max_length=40)
    primary_id: str = Field(min_length=1, max_length=100)


class ContactChange(_Body):
    support_level: Literal["NONE", "BASIC", "STANDARD", "CONSORTIA"] | None = None
    status: Literal["ACTIVE", "INACTIVE"] | None = None


# --- answers ----------------------------------------------------------------------------------


def institution_json(institution: Institution | None) -> dict[str, Any]:
    return coded(institution.code if institution else "", institution.name if institution else None)


def consortium_json(consortium: Consortium) -> dict[str, Any]:
    return coded(consortium.code, consortium.name)


def user_json(user: User | None, fallback: str = "") -> dict[str, Any]:
    if user is None:
        return coded(fallback, fallback or None)
    return coded(user.primary_id, user.full_name or user.primary_id)


def share_level_desc(institution: Institution | None, share_with: str) -> str:
    """The label of a sharing level of a case of `institution`: "My Institution", or the consortium's
    name (SC-4)."""
    if share_with == SHARE_CONSORTIUM:
        consortium = institution.consortium if institution else None
        return consortium.name if consortium else "Consortium"
    return MY_INSTITUTION_LABEL


def share_with_desc(case: SupportCase) -> str:
    """The label of the case's sharing level."""
    return share_level_desc(case.institution, case.share_with)


def case_json(case: SupportCase, can: dict[str, bool], base: str = "/api/v1/support/cases") -> dict[str, Any]:
    return {
        "number": case.number,
        "subject": case.subject,
        "description": case.description,
        "issue_type": case.issue_type,
        "product": case.product,
        "priority": case.priority,
        "status": case.status,
        "institution": institution_json(case.institution),
        "opened_by": user_json(case.opened_by),
        "share_with": coded(case.share_with, share_with_desc(case)),
        "created": alma_datetime(case.created_at),
        "updated": alma_datetime(case.updated_at),
        "version": case.version,
        "can": can,
        "link": f"{base}/{case.number}",
    }


def comment_json(comment: CaseComment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "text": comment.text,
        "author": comment.author,
        "created": alma_datetime(comment.created_at),
    }


def attachment_json(attachment: CaseAttachment, case_number: str) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "author": attachment.author,
        "created": alma_datetime(attachment.created_at),
        "link": f"/api/v1/support/cases/{case_number}/attachments/{attachment.id}",
    }


def message_json(message: MailMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "to": message.to_address,
        "subject": message.subject,
        "body": message.body,
        "created": alma_datetime(message.created_at),
        "sent": alma_datetime(message.sent_at),
    }


def contact_json(user: User, institution: Institution) -> dict[str, Any]:
    return {
        "institution": institution_json(institution),
        "primary_id": user.primary_id,
        "full_name": user.full_name,
        "email": user.email,
        "support_level": coded(user.support_level, user.support_level.title()),
        "status": coded(user.status, user.status.title()),
        "email_confirmed": user.email_confirmed,
        "last_sign_in": alma_datetime(user.last_sign_in),
    }


def event_json(event: HistoryEvent) -> dict[str, Any]:
    """A history row as API.md's `event`."""
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

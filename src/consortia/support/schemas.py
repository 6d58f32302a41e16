"""Support Center request bodies (pydantic, validated into 400s) and the `*_json` answers (API.md "Support").

Requests name choices by plain code (`"share_with": "CONSORTIUM"`); answers give choices and
references as coded values `{value, desc}`. What a verb takes as input lives with the verb (`CaseCreate`
in `service`, `ContactRef` in `enablement`, `Registration` in `registration`, `ViewFilters` and
`ViewSort` in `views`): the shapes here build on the verbs' types, the verbs never import this module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consortia.formats import alma_date, alma_datetime, coded
from consortia.mail import MailMessage
from consortia.platform.models import Consortium, Institution, User
from consortia.support.enablement import MAX_INSTITUTION_CODE, MAX_REQUEST_CONTACTS, ContactRef, SharingChange
from consortia.support.licences import AccessReport
from consortia.support.models import (
    MY_INSTITUTION_LABEL,
    SHARE_CONSORTIUM,
    CaseAttachment,
    CaseComment,
    ConsortiaLicence,
    Priority,
    ShareWith,
    Status,
    SupportCase,
)
from consortia.support.views import Column, ViewDefinition, ViewFilters, ViewSort


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


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


class ViewClone(_Body):
    name: str = Field(min_length=1, max_length=100)


class ViewUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    filters: ViewFilters | None = None
    columns: list[Column] | None = Field(default=None, min_length=1, max_length=12)
    sort: ViewSort | None = None


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


def licence_json(licence: ConsortiaLicence, warnings: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "institution": institution_json(licence.institution),
        "primary_id": licence.user.primary_id,
        "full_name": licence.user.full_name,
        "granted": alma_datetime(licence.granted_at),
        "granted_by": licence.granted_by,
        "link": f"/api/v1/support/licences/{licence.institution.code}/{licence.user.primary_id}",
    }
    if warnings is not None:
        body["warnings"] = warnings
    return body


def report_json(report: AccessReport) -> dict[str, Any]:
    users = [
        {
            "institution": institution_json(row.institution),
            "primary_id": row.user.primary_id,
            "full_name": row.user.full_name,
            "status": coded(row.user.status, row.user.status.title()),
            "granted": alma_datetime(row.licence.granted_at),
            "granted_by": row.licence.granted_by,
            "last_sign_in": alma_datetime(row.user.last_sign_in),
            "last_partner_view": alma_datetime(row.last_partner_view),
        }
        for row in report.rows
    ]
    body: dict[str, Any] = {}
    if users:
        body["consortia_user"] = users
    body["total_record_count"] = len(users)
    body["consortium"] = coded(report.consortium.code, report.consortium.name)
    body["last_review"] = (
        {"date": alma_datetime(report.last_review.reviewed_at), "reviewer": report.last_review.reviewer}
        if report.last_review
        else None
    )
    body["next_due"] = alma_date(report.next_due)
    return body


def view_json(view: ViewDefinition) -> dict[str, Any]:
    filters = view.filters.model_dump(mode="json")
    for key in ("opened_from", "opened_to", "updated_from", "updated_to"):
        filters[key] = alma_date(getattr(view.filters, key))
    return {
        "id": view.id,
        "name": view.name,
        "built_in": view.built_in,
        "source_view": view.source_view,
        "filters": filters,
        "columns": list(view.columns),
        "sort": view.sort.model_dump(mode="json"),
        "link": f"/api/v1/support/list-views/{view.id}",
    }


def change_json(change: SharingChange, case_body: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "consortium": {"value": change.consortium.code, "desc": change.consortium.name},
        "case_sharing_enabled": change.consortium.case_sharing_enabled,
        "licences": [licence_json(licence) for licence in change.granted],
        "warnings": change.warnings,
        "request_case": case_body,
    }

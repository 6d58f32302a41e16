"""Collaborative-network request bodies (pydantic, validated into 400s naming the field) and the
answer shapes (API.md "Collaborative network" and "Network").

Rules answer the body they were given plus `id`, `position` and `version`; table rows, walk-in
patrons, previews and loans answer in the documented shapes with coded values `{value, desc}`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consortia.formats import alma_date, coded
from consortia.network.models import DEFAULT_RULE_ID, LinkedAccountRule, Loan
from consortia.platform.models import User

DateType = Literal["NONE", "ABSOLUTE", "RELATIVE"]
Unit = Literal["DAYS", "WEEKS", "MONTHS", "YEARS"]
Operator = Literal["=", "!=", "in", "not in"]
MAX_OFFSET = 999


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class DateSpecIn(_Body):
    """A date of a rule's output: none, an absolute date, or an offset (relative to the source expiry for
    the expiry date; after the linked expiry for the purge date)."""

    type: DateType = "NONE"
    date: str | None = Field(None, max_length=20)
    offset: int | None = Field(None, ge=-MAX_OFFSET, le=MAX_OFFSET)
    unit: Unit | None = None


class RuleInputIn(_Body):
    parameter: Literal["source_institution"] = "source_institution"
    operator: Operator = "="
    value: list[str] = Field(min_length=1, max_length=50)


class RuleOutputIn(_Body):
    user_group: str = Field(min_length=1, max_length=60)
    expiry: DateSpecIn = Field(default_factory=DateSpecIn)
    purge: DateSpecIn = Field(default_factory=DateSpecIn)
    refresh_expiry: bool = False
    refresh_purge: bool = False
    resource_sharing_library: str | None = Field(None, max_length=40)
    copy_network_blocks: bool = False


class RuleIn(_Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    input: list[RuleInputIn] = Field(min_length=1, max_length=20)
    output: RuleOutputIn
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class DefaultRuleIn(_Body):
    """The default rule: output parameters only (no input parameters, CN-2)."""

    description: str = Field("", max_length=2000)
    output: RuleOutputIn
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class RuleOrderIn(_Body):
    ids: list[str] = Field(max_length=1000)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class CodeRowIn(_Body):
    code: str = Field(min_length=1, max_length=60)
    description: str = Field("", max_length=200)


class CodeTableIn(_Body):
    row: list[CodeRowIn] = Field(default_factory=list, max_length=500)


class SharedFieldIn(_Body):
    field: str = Field(min_length=1, max_length=60)
    shared: bool


class SharedFieldsIn(_Body):
    row: list[SharedFieldIn] = Field(default_factory=list, max_length=100)


class WalkInLoanIn(_Body):
    source_institution: str = Field(min_length=1, max_length=40)
    source_user_id: str = Field(min_length=1, max_length=200)
    item_barcode: str = Field(min_length=1, max_length=200)
    library: str = Field(min_length=1, max_length=40)


# --- out --------------------------------------------------------------------------------------


def rule_json(rule: LinkedAccountRule) -> dict[str, Any]:
    return {
        "id": str(rule.id),
        "position": rule.position,
        "default": False,
        "name": rule.name,
        "description": rule.description,
        "input": list(rule.inputs),
        "output": dict(rule.output),
        "version": rule.version,
    }


def default_rule_json(output: dict[str, Any], description: str, position: int, version: int) -> dict[str, Any]:
    return {
        "id": DEFAULT_RULE_ID,
        "position": position,
        "default": True,
        "name": "Default rule",
        "description": description,
        "input": [],
        "output": dict(output),
        "version": version,
    }


def code_row_json(code: str, description: str, label: str | None = None) -> dict[str, Any]:
    return {"code": code, "description": description, "label": label}


def walk_in_json(
    user: User,
    *,
    institution_code: str,
    institution_name: str,
    group_desc: str | None,
    identifiers: list[tuple[str, str]],
    linked_user_id: str | None,
) -> dict[str, Any]:
    """A walk-in search item (API.md "Network"): only identifiers the home institution shares."""
    return {
        "source_institution": coded(institution_code, institution_name),
        "source_user_id": user.primary_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "user_group": coded(user.user_group, group_desc),
        "expiry_date": alma_date(user.expiry_date),
        "identifiers": [{"id_type": id_type, "value": value} for id_type, value in identifiers],
        "linked_here": linked_user_id is not None,
        "linked_user_id": linked_user_id,
    }


def preview_json(
    *,
    rule_id: str,
    rule_name: str,
    reason: str,
    user_group: str,
    group_desc: str | None,
    expiry: dt.date | None,
    purge: dt.date | None,
    library: tuple[str, str] | None,
) -> dict[str, Any]:
    return {
        "rule": coded(rule_id, rule_name),
        "reason": reason,
        "user_group": coded(user_group, group_desc),
        "expiry_date": alma_date(expiry),
        "purge_date": alma_date(purge),
        "resource_sharing_library": coded(library[0], library[1]) if library else None,
    }


def loan_json(loan: Loan) -> dict[str, Any]:
    return {
        "loan_id": str(loan.id),
        "item_barcode": loan.item_barcode,
        "library": coded(loan.library.code, loan.library.name),
        "loan_date": loan.loan_date.replace(microsecond=0).isoformat() + "Z",
        "due_date": alma_date(loan.due_date),
        "loan_status": loan.status,
    }

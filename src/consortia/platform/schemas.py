"""Request bodies of the platform's `/api/v1` writes (API.md "Platform").

Types are strict (a number is not a code, "yes" is not a boolean): wrong types answer 400 in the
error shape. Fields beyond these are ignored, so that an answer can be sent back as a change.
A reference may be a plain code or the coded value `{"value": "EAST", ...}` an answer carries.
Codes, names and domains are checked by the service verbs, which pages share.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Code = Annotated[str, Field(max_length=100)]
Name = Annotated[str, Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class CodeRef(Body):
    """A coded value as answers give it; only `value` is read."""

    value: Code


Reference = Code | CodeRef


def code_of(reference: Reference | None) -> str | None:
    """The plain code of a reference (None stays None)."""
    if isinstance(reference, CodeRef):
        return reference.value
    return reference


class ConsortiumCreate(Body):
    code: Code
    name: Name
    parent_account: Name = ""


class ConsortiumChange(Body):
    code: Code | None = None
    name: Name | None = None
    parent_account: Name | None = None


class InstitutionCreate(Body):
    code: Code
    name: Name
    consortium: Reference | None = None
    email_domains: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=100)] = []


class InstitutionChange(Body):
    """Absent fields stay as they are; `"consortium": null` (or "") takes the institution out of its consortium."""

    code: Code | None = None
    name: Name | None = None
    consortium: Reference | None = None
    email_domains: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=100)] | None = None


class LibraryCreate(Body):
    code: Code
    name: Name
    campus: Reference = ""
    resource_sharing: bool = True


class NetworkCreate(Body):
    code: Code
    name: Name
    members: Annotated[list[Reference], Field(max_length=1000)] = []


class NetworkChange(Body):
    code: Code | None = None
    name: Name | None = None


class NetworkMembers(Body):
    members: Annotated[list[Reference], Field(max_length=1000)]


class ParameterChange(Body):
    """The new value; its type is checked against the parameter's definition."""

    value: JsonValue

"""Request bodies of the platform's `/api/v1` writes and the `*_json` answers (API.md "Platform").

Types are strict (a number is not a code, "yes" is not a boolean): wrong types answer 400 in the
error shape. Fields beyond these are ignored, so that an answer can be sent back as a change.
A reference may be a plain code or the coded value `{"value": "EAST", ...}` an answer carries.
Codes, names and domains are checked by the service verbs, which pages share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from consortia.formats import alma_datetime, coded
from consortia.platform.models import ApiKey, Consortium, FulfillmentNetwork, Institution, Library

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


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field("", max_length=200, description="What the key is for.")


class ParameterChange(Body):
    """The new value; its type is checked against the parameter's definition."""

    value: JsonValue


# --- answers (`base`: the site's address, without a trailing slash) ------------------------------


def api_link(base: str, path: str) -> str:
    return f"{base}/api/v1{path}"


def institution_ref(base: str, institution: Institution) -> dict[str, Any]:
    return {
        "value": institution.code,
        "desc": institution.name,
        "link": api_link(base, f"/institutions/{institution.code}"),
    }


def consortium_json(base: str, consortium: Consortium, members: Sequence[Institution]) -> dict[str, Any]:
    """A consortium with the `members` the caller may read."""
    return {
        "code": consortium.code,
        "name": consortium.name,
        "parent_account": consortium.parent_account,
        "institutions": [institution_ref(base, i) for i in members],
        "link": api_link(base, f"/consortia/{consortium.code}"),
    }


def institution_json(base: str, institution: Institution, extras: Mapping[str, Any]) -> dict[str, Any]:
    """An institution, then the fields the domains add for the caller (`consortium_service.institution_extras`)."""
    consortium = institution.consortium
    body: dict[str, Any] = {
        "code": institution.code,
        "name": institution.name,
        "consortium": (
            {
                "value": consortium.code,
                "desc": consortium.name,
                "link": api_link(base, f"/consortia/{consortium.code}"),
            }
            if consortium
            else None
        ),
        "email_domains": [d.domain for d in institution.email_domains],
        "libraries": {
            "value": len(institution.libraries),
            "link": api_link(base, f"/institutions/{institution.code}/libraries"),
        },
        "parameters": {"link": api_link(base, f"/institutions/{institution.code}/parameters")},
        "link": api_link(base, f"/institutions/{institution.code}"),
    }
    body.update(extras)
    return body


def library_json(base: str, library: Library) -> dict[str, Any]:
    institution = library.institution
    return {
        "code": library.code,
        "name": library.name,
        "institution": institution_ref(base, institution),
        "campus": coded(library.campus, library.campus or None),
        "resource_sharing": library.resource_sharing,
        "link": api_link(base, f"/institutions/{institution.code}/libraries/{library.code}"),
    }


def network_json(base: str, network: FulfillmentNetwork) -> dict[str, Any]:
    return {
        "code": network.code,
        "name": network.name,
        "members": [institution_ref(base, i) for i in network.members],
        "link": api_link(base, f"/fulfillment-networks/{network.code}"),
    }


def parameter_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("name", "value", "default", "description", "operator_only", "editable")}


def api_key_json(base: str, key: ApiKey) -> dict[str, Any]:
    """A key without its secret."""
    return {
        "id": str(key.id),
        "prefix": key.prefix,
        "label": key.label,
        "created": alma_datetime(key.created_at),
        "last_used": alma_datetime(key.last_used_at),
        "revoked": alma_datetime(key.revoked_at),
        "link": api_link(base, f"/api-keys/{key.id}"),
    }


def api_key_created_json(key: ApiKey, secret: str) -> dict[str, Any]:
    """A new key with its secret: the one answer that ever shows it."""
    return {"id": str(key.id), "key": secret, "prefix": key.prefix, "created": alma_datetime(key.created_at)}

"""Users in Alma's JSON shape, both ways (API.md "User JSON"; Alma notes §2.1).

In: pydantic models that accept what Alma clients send (coded values as `{"value": ...}` or a
bare string, a single object where a list is expected, unknown keys ignored) and turn it into the
service's `UserChanges`. Out: the full user and the brief list entry.

Swap-all (Alma's PUT): the lists of the request replace the user's lists, and a list left out is
emptied — except `user_role`, where an absent or empty list keeps the roles. A plain field left out
keeps its value (clients send the whole user they read); a field sent as "" or null is cleared.
`contact_info` is one list family: leaving it out clears email, phone and address.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from consortia.access import roles as R
from consortia.access.roles import RoleSpec
from consortia.errors import BadRequest
from consortia.formats import alma_date, alma_datetime, coded, parse_alma_date
from consortia.platform.models import User, UserRecord
from consortia.platform.user_changes import ADDRESS_KEYS, BlockSpec, IdentifierSpec, UserChanges
from consortia.platform.user_labels import UserLabels
from consortia.platform.user_roles import SUPPORT_LEVELS

# --- in ---------------------------------------------------------------------------------------


def _coded_in(value: Any) -> Any:
    """A bare string stands for `{"value": string}`."""
    return {"value": value} if isinstance(value, str) else value


def _listed(value: Any) -> Any:
    """One object where a list is expected (XML-to-JSON converters do this) is a list of one."""
    return [value] if isinstance(value, dict) else value


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CodedIn(_In):
    value: str | None = Field(None, max_length=200)
    desc: Any = None


Coded = Annotated[CodedIn | None, BeforeValidator(_coded_in)]
Text = Annotated[str | None, Field(max_length=200)]


class EmailIn(_In):
    email_address: str | None = Field(None, max_length=200)
    preferred: bool | None = None


class PhoneIn(_In):
    phone_number: str | None = Field(None, max_length=60)
    preferred: bool | None = None


class AddressIn(_In):
    line1: Text = None
    line2: Text = None
    line3: Text = None
    line4: Text = None
    line5: Text = None
    city: Text = None
    state_province: Text = None
    postal_code: Text = None
    country: Coded = None
    preferred: bool | None = None


class ContactInfoIn(_In):
    email: Annotated[list[EmailIn], BeforeValidator(_listed)] = Field(default_factory=list, max_length=20)
    phone: Annotated[list[PhoneIn], BeforeValidator(_listed)] = Field(default_factory=list, max_length=20)
    address: Annotated[list[AddressIn], BeforeValidator(_listed)] = Field(default_factory=list, max_length=20)


class IdentifierIn(_In):
    id_type: Coded
    value: str = Field(max_length=200)
    status: str | None = Field(None, max_length=20)


class RoleIn(_In):
    role_type: Coded
    scope: Coded = None
    status: Coded = None
    expiry_date: str | None = Field(None, max_length=20)


class BlockIn(_In):
    block_type: Coded = None
    block_description: Coded = None
    block_status: str | None = Field(None, max_length=20)
    block_note: str | None = Field(None, max_length=2000)
    segment_type: str | None = Field(None, max_length=20)


class UserIn(_In):
    """A user as Alma clients send it; read-only keys (`full_name`, `link`, ...) are ignored."""

    primary_id: str | None = Field(None, max_length=100)
    record_type: Coded = None
    first_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    user_group: Coded = None
    job_category: Coded = None
    preferred_language: Coded = None
    birth_date: str | None = Field(None, max_length=20)
    expiry_date: str | None = Field(None, max_length=20)
    purge_date: str | None = Field(None, max_length=20)
    status: Coded = None
    account_type: Coded = None
    password: str | None = Field(None, max_length=500)
    contact_info: ContactInfoIn | None = None
    user_identifier: Annotated[list[IdentifierIn] | None, BeforeValidator(_listed)] = Field(None, max_length=100)
    user_role: Annotated[list[RoleIn] | None, BeforeValidator(_listed)] = Field(None, max_length=200)
    user_block: Annotated[list[BlockIn] | None, BeforeValidator(_listed)] = Field(None, max_length=100)
    support_level: Coded = None
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class LoanIn(_In):
    """The body of `POST /users/{id}/loans`: the lending library (`circ_desk` is accepted and ignored)."""

    library: Coded = None
    circ_desk: Coded = None


def _value(item: CodedIn | None) -> str:
    return (item.value or "").strip() if item is not None else ""


def _preferred(items: list[Any]) -> Any:
    return next((item for item in items if item.preferred), items[0] if items else None)


def _address(item: AddressIn | None) -> dict[str, Any] | None:
    if item is None:
        return None
    address = {key: (getattr(item, key) or "").strip() for key in ADDRESS_KEYS if key != "country"}
    address["country"] = _value(item.country)
    return address if any(address.values()) else None


def _role(item: RoleIn) -> RoleSpec:
    role_type = _value(item.role_type).upper()
    if not role_type:
        raise BadRequest("Every user_role needs a role_type.", "40166411")
    scope = _value(item.scope).upper()
    return RoleSpec(
        role_type=role_type,
        library_code=scope or None,
        status=_value(item.status).upper() or "ACTIVE",
        expiry_date=parse_alma_date(item.expiry_date, "user_role.expiry_date"),
    )


def _roles(items: list[RoleIn], institution_code: str) -> list[RoleSpec]:
    specs = [_role(item) for item in items]
    # The institution's own code as scope means institution level.
    return [
        RoleSpec(s.role_type, None, s.status, s.expiry_date) if s.library_code == institution_code else s for s in specs
    ]


def changes_from_json(body: UserIn, *, institution_code: str, swap_all: bool) -> UserChanges:
    """The service's `UserChanges` from a request body.

    `swap_all` (PUT): lists left out are emptied (roles excepted). For a create every list left out
    is empty anyway.
    """
    sent = body.model_fields_set
    fields: dict[str, Any] = {}
    for name in ("first_name", "middle_name", "last_name"):
        if name in sent:
            fields[name] = (getattr(body, name) or "").strip()
    for name in ("record_type", "status"):
        if name in sent and _value(getattr(body, name)):
            fields[name] = _value(getattr(body, name)).upper()
    for name in ("user_group", "job_category", "preferred_language"):
        if name in sent:
            fields[name] = _value(getattr(body, name))
    for name in ("birth_date", "expiry_date", "purge_date"):
        if name in sent:
            fields[name] = parse_alma_date(getattr(body, name), name)
    if "contact_info" in sent or swap_all:
        contact = body.contact_info or ContactInfoIn()
        email = _preferred(contact.email)
        phone = _preferred(contact.phone)
        fields["email"] = ((email.email_address or "") if email else "").strip()
        fields["phone"] = ((phone.phone_number or "") if phone else "").strip()
        fields["address"] = _address(_preferred(contact.address))
    identifiers = None
    if body.user_identifier is not None or swap_all:
        identifiers = [
            IdentifierSpec(_value(item.id_type), item.value.strip(), (item.status or "ACTIVE").strip().upper())
            for item in body.user_identifier or []
        ]
    blocks = None
    if body.user_block is not None or swap_all:
        blocks = [
            BlockSpec(
                block_type=_value(item.block_type) or "GENERAL",
                description=_value(item.block_description),
                note=(item.block_note or "").strip(),
                network=(item.segment_type or "").strip().lower() == "external",
                status=(item.block_status or "ACTIVE").strip().upper(),
            )
            for item in body.user_block or []
        ]
    roles = _roles(body.user_role, institution_code) if body.user_role else None
    return UserChanges(
        fields=fields,
        primary_id=body.primary_id if "primary_id" in sent else None,
        account_type=_value(body.account_type).upper() or None,
        identifiers=identifiers,
        blocks=blocks,
        roles=roles,
        support_level=_value(body.support_level).upper() or None,
        password=body.password or None,
        version=body.version,
    )


# --- out --------------------------------------------------------------------------------------


def user_link(base_url: str, user: User | UserRecord) -> str:
    return f"{base_url}/almaws/v1/users/{quote(user.primary_id, safe='')}"


def brief_user_json(user: User, base_url: str) -> dict[str, Any]:
    """A `GET /users` entry."""
    return {
        "primary_id": user.primary_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "status": coded(user.status, user.status.title()),
        "link": user_link(base_url, user),
    }


def _contact_info(user: UserRecord) -> dict[str, Any]:
    emails = (
        [
            {
                "email_address": user.email,
                "description": None,
                "preferred": True,
                "segment_type": "Internal",
                "email_type": [coded("work", "Work")],
            }
        ]
        if user.email
        else []
    )
    phones = (
        [
            {
                "phone_number": user.phone,
                "preferred": True,
                "preferred_sms": False,
                "segment_type": "Internal",
                "phone_type": [coded("office", "Office")],
            }
        ]
        if user.phone
        else []
    )
    addresses = []
    if user.address:
        address: dict[str, Any] = {key: user.address.get(key) or None for key in ADDRESS_KEYS if key != "country"}
        country = user.address.get("country") or ""
        address.update(
            {
                "country": coded(country, country or None),
                "preferred": True,
                "segment_type": "Internal",
                "address_type": [coded("home", "Home")],
            }
        )
        addresses.append(address)
    return {"address": addresses, "email": emails, "phone": phones}


def user_json(user: UserRecord, labels: UserLabels, base_url: str) -> dict[str, Any]:
    """The full user (API.md "User JSON"); `password` is never part of it."""
    linked = user.account_type == "LINKED"
    body: dict[str, Any] = {
        "primary_id": user.primary_id,
        "record_type": coded(user.record_type, {"STAFF": "Staff", "PUBLIC": "Public"}.get(user.record_type)),
        "first_name": user.first_name,
        "middle_name": user.middle_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "user_group": coded(user.user_group, labels.groups.get(user.user_group)),
        "job_category": coded(user.job_category, user.job_category or None),
        "preferred_language": coded(user.preferred_language, user.preferred_language or None),
        "birth_date": alma_date(user.birth_date),
        "expiry_date": alma_date(user.expiry_date),
        "purge_date": alma_date(user.purge_date),
        "status": coded(user.status, user.status.title()),
        "account_type": coded("EXTERNAL", "Linked account") if linked else coded(user.account_type, "Internal"),
    }
    if linked or user.source_user_id is not None:
        # A linked account, or a peer joined by consortial id (CN-9a): both name the source.
        body.update(
            {
                "source_institution_code": labels.source_institution_code,
                "source_link_id": labels.source_user_id,
                "linking_id": user.linking_id,
                "linked_account_rule": coded(user.linked_rule, labels.linked_rule_name or user.linked_rule),
            }
        )
    body.update(
        {
            "contact_info": _contact_info(user),
            "user_identifier": [
                {
                    "id_type": coded(i.id_type, labels.id_types.get(i.id_type)),
                    "value": i.value,
                    "note": None,
                    "status": i.status,
                    "segment_type": "Internal",
                }
                for i in user.identifiers
            ],
            "user_role": [
                {
                    "status": coded(role.status, role.status.title()),
                    "scope": (
                        coded(role.library_code, role.library_name)
                        if role.library_code is not None
                        else coded(labels.institution_code, labels.institution_name)
                    ),
                    "role_type": coded(
                        role.role_type, labels.role_types.get(role.role_type, R.ROLE_TYPES.get(role.role_type))
                    ),
                    "expiry_date": alma_date(role.expiry_date),
                }
                for role in user.roles
            ],
            "user_block": [
                {
                    "block_type": coded(block.block_type, block.block_type.title()),
                    "block_description": coded(block.description, block.description or None),
                    "block_status": block.status,
                    "block_note": block.note,
                    "created_date": alma_datetime(block.created_at),
                    "segment_type": "External" if block.network else "Internal",
                }
                for block in user.blocks
            ],
            "rs_library": (
                [{"code": coded(labels.rs_library_code, labels.rs_library_name)}]
                if labels.rs_library_code is not None
                else []
            ),
            "support_level": coded(user.support_level, SUPPORT_LEVELS.get(user.support_level)),
            "version": user.version,
            "link": user_link(base_url, user),
        }
    )
    return body

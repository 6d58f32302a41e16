"""The main navigation: each entry shows only to people the permission map allows to use it."""

from __future__ import annotations

from dataclasses import dataclass

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: P
    operator_only: bool = False


NAVIGATION: list[NavItem] = [
    NavItem("Home", "/", P.SIGNED_IN),
    NavItem("Consortia", "/operator/consortia", P.CONSORTIUM_MANAGE, operator_only=True),
    NavItem("Institutions", "/operator/institutions", P.INSTITUTION_MANAGE, operator_only=True),
    NavItem("Fulfillment networks", "/operator/networks", P.NETWORK_MANAGE, operator_only=True),
    NavItem("Users", "/admin/users", P.USER_READ),
    NavItem("Parameters", "/admin/parameters", P.PARAMETER_EDIT),
    NavItem("Monitor Jobs", "/jobs", P.JOB_READ),
    NavItem("My account", "/account", P.SIGNED_IN),
    NavItem("Support", "/support/cases", P.CASE_READ),
    NavItem("Electronic resources", "/eresources/portfolios", P.ERESOURCE_READ),
    # The operator and an institution's General System Administrator, whatever their own Support
    # Center level (the case list, which also links here, needs one).
    NavItem("Support contacts", "/support/contacts", P.CONTACT_MANAGE),
    NavItem("Support admin", "/support/admin", P.CASE_SHARING_MANAGE, operator_only=True),
    NavItem("Mail outbox", "/operator/mail", P.MAIL_OUTBOX_READ, operator_only=True),
]


def visible_items(identity: Identity) -> list[NavItem]:
    """What this person may open; institution-bound pages count for the institution they work in."""
    place = InInstitution(identity.acting_institution_id)
    items = []
    for item in NAVIGATION:
        if item.operator_only and not identity.is_operator:
            continue
        if item.permission is P.PARAMETER_EDIT:
            # Shown to those who may change at least one parameter of their institution.
            from consortia.platform.parameters import ParameterTarget, editable_definitions

            if not any(
                allows(identity, P.PARAMETER_EDIT, ParameterTarget(place.institution_id, d))
                for d in editable_definitions()
            ):
                continue
        elif not allows(identity, item.permission, place):
            continue
        items.append(item)
    return items

"""The main navigation: each entry shows only to people the permission map allows to use it.

Entries are grouped into a few menus so that the header stays one row however many pages a person
may open (the operator may open a dozen); a menu left with a single entry for someone shows as that
plain link.
"""

from __future__ import annotations

from dataclasses import dataclass

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows

OPERATOR = "Operator"
ADMINISTRATION = "Administration"
SUPPORT = "Support"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: P
    operator_only: bool = False
    group: str = ""  # the menu it sits in; "" = a link of its own in the header

    def is_current(self, path: str) -> bool:
        return path == self.href or (self.href != "/" and path.startswith(self.href))


@dataclass(frozen=True)
class NavMenu:
    """A header menu: its label and the entries of it this person may open (two or more)."""

    label: str
    items: tuple[NavItem, ...]

    def is_current(self, path: str) -> bool:
        return any(item.is_current(path) for item in self.items)


NAVIGATION: list[NavItem] = [
    NavItem("Home", "/", P.SIGNED_IN),
    NavItem("Consortia", "/operator/consortia", P.CONSORTIUM_MANAGE, operator_only=True, group=OPERATOR),
    NavItem("Institutions", "/operator/institutions", P.INSTITUTION_MANAGE, operator_only=True, group=OPERATOR),
    NavItem("Fulfillment networks", "/operator/networks", P.NETWORK_MANAGE, operator_only=True, group=OPERATOR),
    NavItem("Mail outbox", "/operator/mail", P.MAIL_OUTBOX_READ, operator_only=True, group=OPERATOR),
    NavItem("Users", "/admin/users", P.USER_READ, group=ADMINISTRATION),
    NavItem("Parameters", "/admin/parameters", P.PARAMETER_EDIT, group=ADMINISTRATION),
    NavItem("Collaborative networks", "/network/rules", P.NETWORK_CONFIG_READ, group=ADMINISTRATION),
    NavItem("Monitor Jobs", "/jobs", P.JOB_READ, group=ADMINISTRATION),
    NavItem("Electronic resources", "/eresources/portfolios", P.ERESOURCE_READ),
    # The circulation desk's own page: a link of its own in the header.
    NavItem("Walk-in desk", "/network/walk-in", P.WALK_IN_FIND),
    NavItem("Support cases", "/support/cases", P.CASE_READ, group=SUPPORT),
    # The operator and an institution's General System Administrator, whatever their own Support
    # Center level (the case list, which also links here, needs one).
    NavItem("Support contacts", "/support/contacts", P.CONTACT_MANAGE, group=SUPPORT),
    NavItem("Support admin", "/support/admin", P.CASE_SHARING_MANAGE, operator_only=True, group=SUPPORT),
    NavItem("My account", "/account", P.SIGNED_IN),
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


def header_entries(items: list[NavItem]) -> list[NavItem | NavMenu]:
    """The header's entries in `NAVIGATION` order: a menu where its group has two or more of `items`
    (at the place of its first one), the entry itself otherwise."""
    grouped: dict[str, list[NavItem]] = {}
    for item in items:
        if item.group:
            grouped.setdefault(item.group, []).append(item)
    entries: list[NavItem | NavMenu] = []
    for item in items:
        members = grouped.get(item.group, [])
        if len(members) < 2:
            entries.append(item)
        elif item is members[0]:
            entries.append(NavMenu(item.group, tuple(members)))
    return entries

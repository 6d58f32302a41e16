"""The main navigation: each entry shows only to people the permission map allows to use it.

Entries are grouped into a few menus so that the header stays one row however many pages a person
may open (the operator may open a dozen); a menu left with a single entry for someone shows as that
plain link. The domains hand over their entries (`Domain.navigation`); `install` puts them into the
header at assembly (`consortia.domains`), with the kernel's own: the start page first, the menus in
`MENUS` order (each with the domains' entries in the order of the domains, then the kernel's), the
person's own account last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    # Decides instead of `permission` (on the institution the person works in) when the entry's own
    # question is a different one (the Parameters page: may the person change at least one parameter?).
    shown: Callable[[Identity], bool] | None = None

    def is_current(self, path: str) -> bool:
        return path == self.href or (self.href != "/" and path.startswith(self.href))


@dataclass(frozen=True)
class NavMenu:
    """A header menu: its label and the entries of it this person may open (two or more)."""

    label: str
    items: tuple[NavItem, ...]

    def is_current(self, path: str) -> bool:
        return any(item.is_current(path) for item in self.items)


# The header's menus, left to right (a menu a domain hands over that is not named here comes after them).
MENUS = (OPERATOR, ADMINISTRATION, SUPPORT)

HOME = NavItem("Home", "/", P.SIGNED_IN)
ACCOUNT = NavItem("My account", "/account", P.SIGNED_IN)
# The kernel's pages (the outbox, jobs), after the domains' entries of their menus.
KERNEL = (
    NavItem("Mail outbox", "/operator/mail", P.MAIL_OUTBOX_READ, operator_only=True, group=OPERATOR),
    NavItem("Monitor Jobs", "/jobs", P.JOB_READ, group=ADMINISTRATION),
)

NAVIGATION: list[NavItem] = [HOME, *KERNEL, ACCOUNT]


def install(entries: Sequence[NavItem]) -> None:
    """Make the header of the domains' `entries` (in the order of the domains) and the kernel's: the start
    page, the menus (`MENUS` first, then any other in the order handed over; within a menu, in the order
    handed over), the links of their own, the person's own account."""
    handed = [*dict.fromkeys(entries), *KERNEL]
    menus = [*MENUS, *dict.fromkeys(entry.group for entry in handed if entry.group and entry.group not in MENUS)]
    ordered = sorted(handed, key=lambda entry: menus.index(entry.group) if entry.group else len(menus))
    NAVIGATION[:] = [HOME, *ordered, ACCOUNT]


def visible_items(identity: Identity) -> list[NavItem]:
    """What this person may open; institution-bound pages count for the institution they work in."""
    place = InInstitution(identity.acting_institution_id)
    items = []
    for item in NAVIGATION:
        if item.operator_only and not identity.is_operator:
            continue
        if item.shown is not None:
            if not item.shown(identity):
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

"""Role types (P-4) and the rules a user's set of roles must obey (ER-4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

GENERAL_SYSTEM_ADMINISTRATOR = "GENERAL_SYSTEM_ADMINISTRATOR"
USER_ADMINISTRATOR = "USER_ADMINISTRATOR"
CIRCULATION_DESK_OPERATOR = "CIRCULATION_DESK_OPERATOR"
REPOSITORY_MANAGER = "REPOSITORY_MANAGER"
ELECTRONIC_INVENTORY_OPERATOR = "ELECTRONIC_INVENTORY_OPERATOR"
ELECTRONIC_INVENTORY_OPERATOR_EXTENDED = "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED"
ELECTRONIC_INVENTORY_OPERATOR_LIMITED = "ELECTRONIC_INVENTORY_OPERATOR_LIMITED"
CDI_INVENTORY_OPERATOR = "CDI_INVENTORY_OPERATOR"
PURCHASING_OPERATOR = "PURCHASING_OPERATOR"
PATRON = "PATRON"

ROLE_TYPES: dict[str, str] = {
    GENERAL_SYSTEM_ADMINISTRATOR: "General System Administrator",
    USER_ADMINISTRATOR: "User Administrator",
    CIRCULATION_DESK_OPERATOR: "Circulation Desk Operator",
    REPOSITORY_MANAGER: "Repository Manager",
    ELECTRONIC_INVENTORY_OPERATOR: "Electronic Inventory Operator",
    ELECTRONIC_INVENTORY_OPERATOR_EXTENDED: "Electronic Inventory Operator Extended",
    ELECTRONIC_INVENTORY_OPERATOR_LIMITED: "Electronic Inventory Operator Limited",
    CDI_INVENTORY_OPERATOR: "CDI Inventory Operator",
    PURCHASING_OPERATOR: "Purchasing Operator",
    PATRON: "Patron",
}

# Roles whose scope may be a library (P-4 allows institution or library for every role; the
# administrative roles below only make sense for the whole institution).
INSTITUTION_ONLY_ROLES = frozenset({GENERAL_SYSTEM_ADMINISTRATOR, USER_ADMINISTRATOR, PATRON})

# ER-4: the base electronic roles, and the add-on roles whose library scopes they constrain.
BASE_ELECTRONIC_ROLES = frozenset({ELECTRONIC_INVENTORY_OPERATOR, CDI_INVENTORY_OPERATOR})
ADD_ON_ELECTRONIC_ROLES = frozenset({ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, ELECTRONIC_INVENTORY_OPERATOR_LIMITED})


@dataclass(frozen=True)
class RoleSpec:
    """A wanted role assignment: role type, library code (None = institution), status, expiry date."""

    role_type: str
    library_code: str | None
    status: str = "ACTIVE"
    expiry_date: dt.date | None = None


def role_set_problems(roles: Iterable[RoleSpec], library_codes: set[str]) -> list[str]:
    """Why this set of roles may not be given to a user; empty when it may (P-4, ER-4).

    `library_codes` are the libraries of the user's institution: a scope must be one of them.
    """
    problems: list[str] = []
    wanted = list(roles)
    for spec in wanted:
        if spec.role_type not in ROLE_TYPES:
            problems.append(f"Unknown role type {spec.role_type}.")
        if spec.status not in {"ACTIVE", "INACTIVE"}:
            problems.append(f"Role status must be ACTIVE or INACTIVE, not {spec.status}.")
        if spec.library_code is not None:
            if spec.library_code not in library_codes:
                problems.append(
                    f"Scope {spec.library_code} of role {spec.role_type} is not a library of the user's institution."
                )
            elif spec.role_type in INSTITUTION_ONLY_ROLES:
                problems.append(f"{ROLE_TYPES[spec.role_type]} can only be held at institution level.")
    active = [s for s in wanted if s.status == "ACTIVE"]
    base_at_institution = [
        s.role_type for s in active if s.role_type in BASE_ELECTRONIC_ROLES and s.library_code is None
    ]
    if base_at_institution:
        for spec in active:
            if spec.role_type in ADD_ON_ELECTRONIC_ROLES and spec.library_code is not None:
                problems.append(
                    f"{ROLE_TYPES[base_at_institution[0]]} is held at institution level, so "
                    f"{ROLE_TYPES[spec.role_type]} cannot be given a library scope ({spec.library_code})."
                )
    seen: set[tuple[str, str | None]] = set()
    for spec in wanted:
        key = (spec.role_type, spec.library_code)
        if key in seen:
            problems.append(f"Role {spec.role_type} is given twice for scope {spec.library_code or 'institution'}.")
        seen.add(key)
    return problems

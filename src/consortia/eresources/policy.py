"""Electronic resources permissions (ER-2 .. ER-6): the effective library and the ONE scope rule, with its
faces. `GRANTS` are its entries of the one permission map, handed over in `eresources.domain` and put
into the map at assembly (`consortia.domains`).

The effective library (ER-3) of a portfolio is its collection's library when the collection has one,
else its own; of a collection, its own; of a service, its collection's. `effective_library_id` is the
Python face, `effective_library_sql` the SQL face (over `portfolio LEFT JOIN electronic_collection`).

The scope rule (ER-5, ER-6): a set of roles *reaches* a resource of the caller's institution when

- the institution's switch `temp_user_scope_limits_electronic_resources` is off (ER-2) and the caller
  holds one of the roles at any scope; or
- one of the roles is held at institution level; or
- the resource's effective library is one of the libraries the roles are held for.

A resource at institution level (no effective library) is therefore reached only through institution
scope while the switch is on. Editing (edit, add, and every editor action) is reached by the editing
roles: Electronic Inventory Operator, CDI Inventory Operator and Purchasing Operator (whose
institution or additional library scopes extend editing, ER-5); deleting by Electronic Inventory
Operator Extended (ER-6). `Reach` is computed once from the identity, and gives the test for one
resource (`Reach.covers`), the SQL filter (`Reach.filter`), the per-row actions (`actions_for`) and
the library choices (`library_choices` and `no_library_choice`, ER-7/ER-8/ER-17). A hypothesis test
proves test and filter agree.

The objects the rules judge are `Scoped` (one resource) and `ScopedRows` (the rows of a query):
each carries the institution's switch, read by the service, so the rules stay pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, false, func, or_
from sqlalchemy.sql.elements import ColumnElement

from consortia.access import policy
from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import Grant, Rule, institution_of, institution_staff, operator
from consortia.eresources.models import ElectronicCollection, Portfolio

SWITCH = "temp_user_scope_limits_electronic_resources"

COLLECTION, SERVICE, PORTFOLIO = "electronic_collection", "electronic_service", "portfolio"
KIND_LABELS = {COLLECTION: "electronic collection", SERVICE: "electronic service", PORTFOLIO: "portfolio"}

EDITING_ROLES = (R.ELECTRONIC_INVENTORY_OPERATOR, R.CDI_INVENTORY_OPERATOR, R.PURCHASING_OPERATOR)
DELETING_ROLES = (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED,)
ELECTRONIC_ROLES = (*EDITING_ROLES, *DELETING_ROLES, R.ELECTRONIC_INVENTORY_OPERATOR_LIMITED)

VIEW_MODE_MESSAGE = "The resource was opened in View mode due to insufficient editing privileges for this resource"


# --- ER-3: the effective library, two faces ---------------------------------------------------


def effective_library_id(resource: Any) -> int | None:
    """The effective library of a portfolio, collection or service row (None: institution level)."""
    if isinstance(resource, Portfolio):
        collection = resource.collection
        if collection is not None and collection.library_id is not None:
            return collection.library_id
        return resource.library_id
    if isinstance(resource, ElectronicCollection):
        return resource.library_id
    collection = getattr(resource, "collection", None)
    return collection.library_id if collection is not None else None


def effective_library_sql(own_library: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """The effective library of `portfolio` rows (or of rows carrying a portfolio's own library as
    `own_library`), for queries that LEFT JOIN their electronic_collection."""
    own = Portfolio.library_id.expression if own_library is None else own_library
    return func.coalesce(ElectronicCollection.library_id, own)


# --- what the rules judge ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scoped:
    """One electronic resource as the scope rule sees it. `limits` is its institution's switch (ER-2);
    `library_codes` names the institution's libraries for explanations."""

    kind: str
    id: int
    institution_id: int
    effective_library_id: int | None
    limits: bool
    inherited: bool = False  # the effective library comes from the portfolio's collection
    library_codes: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class ScopedRows:
    """The resources of a query as the scope rule sees them: their institution and effective library
    columns, of one kind, under the institution's switch (the query is always inside one institution)."""

    kind: str
    institution_id: ColumnElement[Any]
    effective_library: ColumnElement[Any]
    limits: bool


@dataclass(frozen=True)
class Reach:
    """Where a set of roles reaches in an institution: everywhere, or these libraries."""

    institution_id: int
    everywhere: bool
    libraries: frozenset[int]
    roles: tuple[str, ...]

    def covers(self, institution_id: int, library_id: int | None) -> bool:
        if institution_id != self.institution_id:
            return False
        return self.everywhere or (library_id is not None and library_id in self.libraries)

    def filter(self, rows: ScopedRows) -> ColumnElement[bool]:
        inside = rows.institution_id == self.institution_id
        if self.everywhere:
            return inside
        if not self.libraries:
            return false()
        return and_(inside, rows.effective_library.in_(sorted(self.libraries)))


_REACH = "_eresources_reach"


def reach(identity: Identity, role_types: tuple[str, ...], limits: bool) -> Reach | None:
    """Where these roles of `identity` reach in its institution; None when it holds none of them.

    Memoised on the identity (a frozen snapshot, so the answer never changes): N-7 asks it for every
    decision."""
    memo: dict[tuple[tuple[str, ...], bool], Reach | None] | None = identity.__dict__.get(_REACH)
    if memo is None:
        memo = {}
        object.__setattr__(identity, _REACH, memo)
    key = (role_types, limits)
    if key not in memo:
        memo[key] = _reach(identity, role_types, limits)
    return memo[key]


def _reach(identity: Identity, role_types: tuple[str, ...], limits: bool) -> Reach | None:
    if identity.institution_id is None or not identity.has_role(*role_types):
        return None
    if not limits or identity.has_institution_role(*role_types):
        return Reach(identity.institution_id, True, frozenset(), role_types)
    return Reach(identity.institution_id, False, identity.libraries_for(*role_types), role_types)


# --- the scope rule ---------------------------------------------------------------------------


def _role_names(role_types: Iterable[str]) -> str:
    names = [R.ROLE_TYPES[r] for r in role_types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _where_it_is(obj: Scoped) -> str:
    if obj.effective_library_id is None:
        return "it is at institution level (no library)"
    code = obj.library_codes.get(obj.effective_library_id, str(obj.effective_library_id))
    how = "inherited from its electronic collection" if obj.inherited else "its own"
    return f"its effective library is {code} ({how})"


def _scopes(identity: Identity, role_types: tuple[str, ...], codes: Mapping[int, str]) -> str:
    held = []
    for role in role_types:
        if role in identity.institution_roles:
            held.append(f"{R.ROLE_TYPES[role]} at institution level")
        for library in sorted(identity.library_roles.get(role, ())):
            held.append(f"{R.ROLE_TYPES[role]} for {codes.get(library, str(library))}")
    return "; ".join(held) if held else "none"


def scope_rule(name: str, kinds: frozenset[str], role_types: tuple[str, ...], action: str) -> Rule:
    """The scope rule for `action` on resources of `kinds`, reached by `role_types`."""

    def test(identity: Identity, obj: Any) -> bool:
        if not isinstance(obj, Scoped) or obj.kind not in kinds:
            return False
        found = reach(identity, role_types, obj.limits)
        return found is not None and found.covers(obj.institution_id, obj.effective_library_id)

    def where(identity: Identity, rows: Any) -> ColumnElement[bool]:
        if not isinstance(rows, ScopedRows) or rows.kind not in kinds:
            return false()
        found = reach(identity, role_types, rows.limits)
        return false() if found is None else found.filter(rows)

    def reason(identity: Identity, obj: Any, allowed: bool) -> str | None:
        if not isinstance(obj, Scoped) or obj.kind not in kinds or obj.institution_id != identity.institution_id:
            return None
        kind = KIND_LABELS[obj.kind]
        scopes = _scopes(identity, role_types, obj.library_codes)
        if allowed:
            if not obj.limits:
                return (
                    f"You may {action} this {kind}: scope limits are off in this institution ({SWITCH} is false), "
                    f"so holding {_role_names(role_types)} is enough (held: {scopes})."
                )
            return f"You may {action} this {kind}: {_where_it_is(obj)}, within your roles' scope ({scopes})."
        needs = (
            "at institution level"
            if obj.effective_library_id is None
            else "at institution level or for "
            + obj.library_codes.get(obj.effective_library_id, str(obj.effective_library_id))
        )
        return (
            f"You may not {action} this {kind}: {_where_it_is(obj)}; to {action} it you need "
            f"{_role_names(role_types)} {needs} (held: {scopes})."
        )

    return Rule(
        name,
        f"Holders of {_role_names(role_types)} may {action} an electronic resource whose effective library is in "
        f"their role scope (institution scope reaches every resource); with {SWITCH} off, holding the role is enough.",
        test,
        where,
        reason,
    )


ALL_KINDS = frozenset({COLLECTION, SERVICE, PORTFOLIO})
editor = {
    kind: scope_rule(f"eresource_scope_edit:{kind}", frozenset({kind}), EDITING_ROLES, "edit") for kind in ALL_KINDS
}
deleter = {
    kind: scope_rule(f"eresource_scope_delete:{kind}", frozenset({kind}), DELETING_ROLES, "delete")
    for kind in ALL_KINDS
}


def _holds_editing_role(identity: Identity, obj: Any) -> bool:
    return (
        identity.institution_id is not None
        and institution_of(obj) == identity.institution_id
        and identity.has_role(*EDITING_ROLES)
    )


editing_role_holder = Rule(
    "eresource_editing_role",
    f"Holders of {_role_names(EDITING_ROLES)}, at any scope, create local electronic resources and activate from the "
    "Community Zone; what they create is at institution level unless they give it a library in their scope (ER-23).",
    _holds_editing_role,
)


def _holds_cataloguing_role(identity: Identity, obj: Any) -> bool:
    return (
        identity.institution_id is not None
        and institution_of(obj) == identity.institution_id
        and identity.has_role(*EDITING_ROLES, R.REPOSITORY_MANAGER)
    )


cataloguer = Rule(
    "bib_cataloguer",
    "Repository Managers and holders of an electronic inventory editing role add bibliographic records.",
    _holds_cataloguing_role,
)


reader = Rule(
    "eresource_reader",
    "Staff of an institution (anyone holding a role other than Patron) see its electronic inventory.",
    institution_staff.test,
    institution_staff.where,
)

# Electronic resources' entries of the permission map, handed over in `eresources.domain` (see `GRANTS`).
_SCOPE_GRANTS = (
    Grant(P.ERESOURCE_READ, (operator, reader), denial="Electronic resources of the institution are for its staff."),
    *(
        grant
        for _kind, _edit, _delete in (
            (COLLECTION, P.COLLECTION_EDIT, P.COLLECTION_DELETE),
            (SERVICE, P.SERVICE_EDIT, P.SERVICE_DELETE),
            (PORTFOLIO, P.PORTFOLIO_EDIT, P.PORTFOLIO_DELETE),
        )
        for grant in (
            Grant(
                _edit,
                (operator, editor[_kind]),
                see_first=P.ERESOURCE_READ,
                denial=f"Editing needs {_role_names(EDITING_ROLES)} with the resource's library in scope.",
            ),
            Grant(
                _delete,
                (operator, deleter[_kind]),
                see_first=P.ERESOURCE_READ,
                denial=f"Deleting needs {_role_names(DELETING_ROLES)} with the resource's library in scope.",
            ),
        )
    ),
    *(
        Grant(
            _create,
            (operator, editing_role_holder),
            see_first=P.ERESOURCE_READ,
            denial=f"Creating or activating electronic resources needs {_role_names(EDITING_ROLES)}.",
        )
        for _create in (P.COLLECTION_CREATE, P.PORTFOLIO_CREATE, P.CZ_ACTIVATE)
    ),
    Grant(
        P.BIB_CREATE,
        (operator, cataloguer),
        see_first=P.ERESOURCE_READ,
        denial="Adding bibliographic records needs the Repository Manager role or an electronic inventory editing "
        "role.",
    ),
    Grant(P.CZ_MANAGE, (operator,), denial="Only the operator manages the Community Zone catalogue."),
    # ER-14, ER-15, ER-18: an item of a task list or of a PO line is judged by the scope rule of its resource
    # (a portfolio or an electronic collection): acting on it is editing that resource; deleting an activation
    # item is deleting it (Extended, ER-6). The rule of the other kind never matches, so each grant is the one
    # rule, with both faces, for whichever kind the item names.
    *(
        Grant(_permission, (operator, _rules[COLLECTION], _rules[PORTFOLIO]), see_first=P.ERESOURCE_READ, denial=_why)
        for _permission, _rules, _why in (
            (
                P.TASK_EDIT,
                editor,
                f"Acting on a task item needs {_role_names(EDITING_ROLES)} with its resource's library in scope.",
            ),
            (
                P.PO_LINE_ITEM_EDIT,
                editor,
                f"Editing an ordered item needs {_role_names(EDITING_ROLES)} with its resource's library in scope.",
            ),
            (
                P.TASK_DELETE,
                deleter,
                f"Deleting a task item needs {_role_names(DELETING_ROLES)} with its resource's library in scope.",
            ),
        )
    ),
)


def _holds_repository_role(identity: Identity, obj: Any) -> bool:
    return (
        identity.institution_id is not None
        and institution_of(obj) == identity.institution_id
        and identity.has_role(R.REPOSITORY_MANAGER)
    )


repository_manager = Rule(
    "repository_manager",
    "Repository Managers of the institution change portfolios of a set in bulk (ER-21); the electronic inventory "
    "roles (Electronic Inventory Operator, Extended, CDI Inventory Operator) alone do not.",
    _holds_repository_role,
)

# Electronic resources' entries of the permission map, handed over in `eresources.domain` and put into
# the map at assembly (`consortia.domains`).
GRANTS = (
    *_SCOPE_GRANTS,
    Grant(
        P.PORTFOLIO_BULK_CHANGE,
        (operator, repository_manager),
        see_first=P.ERESOURCE_READ,
        denial="Running Change Electronic Portfolio Information needs the Repository Manager role; Electronic "
        "Inventory Operator, Electronic Inventory Operator Extended and CDI Inventory Operator roles do not have "
        "permission to run the job.",
    ),
    Grant(P.SET_READ, (operator, reader), denial="Sets of the institution are for its staff."),
    Grant(
        P.SET_MANAGE,
        (operator, cataloguer),
        see_first=P.SET_READ,
        denial="Creating sets of portfolios needs the Repository Manager role or an electronic inventory editing role.",
    ),
    Grant(P.IMPORT_PROFILE_READ, (operator, reader), denial="Import profiles of the institution are for its staff."),
    *(
        Grant(
            _import_permission,
            (operator, cataloguer),
            see_first=P.IMPORT_PROFILE_READ,
            denial="Import profiles and imports need the Repository Manager role or an electronic inventory editing "
            "role.",
        )
        for _import_permission in (P.IMPORT_PROFILE_MANAGE, P.IMPORT_RUN)
    ),
)

EDIT_PERMISSION = {COLLECTION: P.COLLECTION_EDIT, SERVICE: P.SERVICE_EDIT, PORTFOLIO: P.PORTFOLIO_EDIT}
DELETE_PERMISSION = {COLLECTION: P.COLLECTION_DELETE, SERVICE: P.SERVICE_DELETE, PORTFOLIO: P.PORTFOLIO_DELETE}


# --- the faces the service and the entry points use -------------------------------------------


def can_edit(identity: Identity, obj: Scoped) -> bool:
    return policy.allows(identity, EDIT_PERMISSION[obj.kind], obj)


def can_delete(identity: Identity, obj: Scoped) -> bool:
    return policy.allows(identity, DELETE_PERMISSION[obj.kind], obj)


def actions_for(identity: Identity, obj: Scoped) -> list[str]:
    """The actions of a search result (ER-10): Edit and Add by ER-5, Delete by ER-6."""
    actions = ["edit", "add"] if can_edit(identity, obj) else []
    if can_delete(identity, obj):
        actions.append("delete")
    return actions


def editable_rows(identity: Identity, rows: ScopedRows) -> ColumnElement[bool]:
    """The SQL face of `can_edit`: which rows of `rows` the identity may edit."""
    return policy.where(identity, EDIT_PERMISSION[rows.kind], rows)


def deletable_rows(identity: Identity, rows: ScopedRows) -> ColumnElement[bool]:
    return policy.where(identity, DELETE_PERMISSION[rows.kind], rows)


def library_choices(identity: Identity, library_ids: Iterable[int], limits: bool) -> list[int]:
    """The libraries `identity` may put on a resource (ER-7, ER-8, ER-17): every library of the institution
    for the operator and institution scope (or with the switch off), else those of the editing roles."""
    ids = list(library_ids)
    if identity.is_operator:
        return ids
    found = reach(identity, EDITING_ROLES, limits)
    if found is None:
        return []
    return ids if found.everywhere else [i for i in ids if i in found.libraries]


def no_library_choice(identity: Identity, limits: bool) -> bool:
    """Whether "None" (institution level) is among the choices of an existing resource's library
    (ER-7, ER-8): only where the editing roles reach institution-level resources (the operator,
    institution scope, or the switch off). A library-scoped person may choose only the libraries of
    their roles (the seed); "None" would move the resource out of their own scope. Creating a resource
    without a library stays open to them (ER-23)."""
    if identity.is_operator:
        return True
    found = reach(identity, EDITING_ROLES, limits)
    return found is not None and found.everywhere


# --- task lists, PO lines, licences (ER-14, ER-15, ER-18, ER-19) --------------------------------

CZ_TASK_ACTIONS = ("edit", "dismiss")
ACTIVATION_TASK_ACTIONS = ("edit", "edit_resource", "activate", "done", "delete", "unsuppress", "change_status")


def cz_task_actions(identity: Identity, obj: Scoped) -> list[str]:
    """ER-14: Edit and Dismiss only for items whose resource is in scope."""
    return list(CZ_TASK_ACTIONS) if policy.allows(identity, P.TASK_EDIT, obj) else []


def activation_task_actions(identity: Identity, obj: Scoped) -> list[str]:
    """ER-15: every action only in scope; Delete by the delete rule (Extended)."""
    editing = policy.allows(identity, P.TASK_EDIT, obj)
    deleting = policy.allows(identity, P.TASK_DELETE, obj)
    return [a for a in ACTIVATION_TASK_ACTIONS if (deleting if a == "delete" else editing)]


def task_permission(action: str) -> P:
    return P.TASK_DELETE if action == "delete" else P.TASK_EDIT


def item_rows(
    identity: Identity,
    permission: P,
    *,
    is_portfolio: ColumnElement[bool],
    portfolios: ScopedRows,
    collections: ScopedRows,
) -> ColumnElement[bool]:
    """The SQL face of `permission` over rows that name a portfolio (`is_portfolio`) or a collection: the
    same rule, per kind, as `policy.allows` on the `Scoped` of each row's resource."""
    return or_(
        and_(is_portfolio, policy.where(identity, permission, portfolios)),
        and_(~is_portfolio, policy.where(identity, permission, collections)),
    )


def editor_mode(identity: Identity, obj: Scoped) -> str:
    """ER-19 (and ER-13): the mode a resource's editor opens in for this identity."""
    return "EDIT" if can_edit(identity, obj) else "VIEW"


def po_line_item_actions(identity: Identity, obj: Scoped) -> list[str]:
    """ER-18: an ordered item of a PO line is editable only when its resource is in scope."""
    return ["edit"] if policy.allows(identity, P.PO_LINE_ITEM_EDIT, obj) else []

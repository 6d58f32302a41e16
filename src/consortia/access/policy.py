"""Who may do what: the permission map, its rules, and the two faces of each rule.

A rule is a small pure predicate over (identity, object) plus, where lists need it, the same
rule as an SQL filter. `decide` answers one question with the deciding rule and a reason (P-9);
`where` gives the filter for "which rows may this identity see"; `authorize` turns a refusal
into 404 (the caller may not know the object exists) or 403 (visible, not permitted) as P-8 asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import Forbidden, NotFound
from consortia.platform.models import Consortium, FulfillmentNetwork, Institution, User, UserRecord, UserRole

# A user account as the rules see it: the entity, or the read-only record answers are built from.
USER_ACCOUNT = (User, UserRecord)

log = logging.getLogger("consortia.access")

Test = Callable[[Identity, Any], bool]
Where = Callable[[Identity, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class Rule:
    """One way a permission can be granted. `where(identity, model)` is the same rule as a filter."""

    name: str
    doc: str
    test: Test
    where: Where | None = None
    # The reason of this rule's answer about one object, when it can say more than `doc` (which role,
    # which scope, which library); None lets the generic text stand. Called with allowed True or False.
    reason: Callable[[Identity, Any, bool], str | None] | None = None

    def explain(self, identity: Identity) -> str:
        held = sorted(
            [f"{g.role_type} (institution)" for g in identity.roles if g.library_id is None]
            + [f"{g.role_type} (library {g.library_id})" for g in identity.roles if g.library_id is not None]
        )
        roles = f"; roles held: {', '.join(held)}" if held else ""
        return f"{self.doc}{roles}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class InInstitution:
    """Stands for "something in this institution" where no single object is at hand (a list, a create)."""

    institution_id: int | None


def institution_of(obj: Any) -> int | None:
    """The institution an object belongs to (an institution is its own)."""
    if isinstance(obj, Institution):
        return obj.id
    return getattr(obj, "institution_id", None)


# --- rules ------------------------------------------------------------------------------------

operator = Rule(
    "operator",
    "The operator's staff may act in every consortium and institution.",
    lambda identity, _obj: identity.is_operator,
    lambda identity, _model: true() if identity.is_operator else false(),
)

signed_in = Rule("signed_in", "Any signed-in person.", lambda _identity, _obj: True)

member_of_consortium = Rule(
    "member_of_consortium",
    "Members of a consortium's institutions may read it.",
    lambda identity, obj: isinstance(obj, Consortium) and obj.id == identity.consortium_id,
    lambda identity, model: model.id == identity.consortium_id if identity.consortium_id is not None else false(),
)

own_institution = Rule(
    "own_institution",
    "People of an institution may read its own data.",
    lambda identity, obj: identity.institution_id is not None and institution_of(obj) == identity.institution_id,
    lambda identity, model: (
        (model.id if model is Institution else model.institution_id) == identity.institution_id
        if identity.institution_id is not None
        else false()
    ),
)

network_member = Rule(
    "network_member",
    "Member institutions may read their fulfillment networks.",
    lambda identity, obj: (
        isinstance(obj, FulfillmentNetwork) and any(member.id == identity.institution_id for member in obj.members)
    ),
    lambda identity, model: (
        model.members.any(Institution.id == identity.institution_id) if identity.institution_id is not None else false()
    ),
)

is_self = Rule(
    "self",
    "People may read and manage their own account's credentials.",
    lambda identity, obj: isinstance(obj, USER_ACCOUNT) and obj.id == identity.user_id,
    lambda identity, model: model.id == identity.user_id,
)


def staff_role(*role_types: str) -> Rule:
    """Holders of one of these roles at institution level, for things of their own institution."""
    names = " or ".join(R.ROLE_TYPES[r] for r in role_types)

    def test(identity: Identity, obj: Any) -> bool:
        return (
            identity.institution_id is not None
            and institution_of(obj) == identity.institution_id
            and identity.has_institution_role(*role_types)
        )

    def where(identity: Identity, model: Any) -> ColumnElement[bool]:
        if identity.institution_id is None or not identity.has_institution_role(*role_types):
            return false()
        column = model.id if model is Institution else model.institution_id
        return column == identity.institution_id

    return Rule(
        "role:" + "|".join(role_types),
        f"A {names} of the institution may do this.",
        test,
        where,
    )


def _editable_by_institution(identity: Identity, obj: Any) -> bool:
    # obj is a ParameterTarget (platform.parameters): the institution and the parameter's definition.
    return (
        getattr(obj, "operator_only", True) is False
        and identity.institution_id is not None
        and institution_of(obj) == identity.institution_id
        and identity.has_institution_role(R.GENERAL_SYSTEM_ADMINISTRATOR)
    )


gsa_parameter = Rule(
    "gsa_parameter",
    "The General System Administrator may change the institution's parameters, except operator-only ones.",
    _editable_by_institution,
)

ADMINS = (R.GENERAL_SYSTEM_ADMINISTRATOR, R.USER_ADMINISTRATOR)
# SC-2: the Support Center level that is a licence only the operator grants and removes (the support
# domain's `CONSORTIA`; the platform knows it only as a value of `User.support_level`).
CONSORTIA_LEVEL = "CONSORTIA"


def is_gsa_account(user: User | UserRecord) -> bool:
    """A General System Administrator's account: the user holds a GENERAL_SYSTEM_ADMINISTRATOR assignment in
    any status and whatever its expiry (an inactive or expired one is switched back on by a single change,
    so whoever could take the account over before that would hold the role after it)."""
    return any(role.role_type == R.GENERAL_SYSTEM_ADMINISTRATOR for role in user.roles)


def gsa_account(model: Any) -> ColumnElement[bool]:
    """The SQL face of `is_gsa_account` over the users `model`."""
    return model.roles.any(UserRole.role_type == R.GENERAL_SYSTEM_ADMINISTRATOR)  # type: ignore[no-any-return]


def administers(role_type: str, *, spare_gsa: bool) -> Rule:
    """Holders of `role_type` at institution level administer the users of their institution (change, delete,
    grant roles); with `spare_gsa` never a General System Administrator's account (P-4): a User
    Administrator who could inactivate one, make them a patron or change their email could lock the
    administrators out or take the account over. Things that are not a user (a list, a create, a job run:
    `InInstitution`) are judged by their institution alone."""
    name = R.ROLE_TYPES[role_type]

    def test(identity: Identity, obj: Any) -> bool:
        if identity.institution_id is None or not identity.has_institution_role(role_type):
            return False
        if institution_of(obj) != identity.institution_id:
            return False
        return not (spare_gsa and isinstance(obj, USER_ACCOUNT) and is_gsa_account(obj))

    def where(identity: Identity, model: Any) -> ColumnElement[bool]:
        if identity.institution_id is None or not identity.has_institution_role(role_type):
            return false()
        column = model.id if model is Institution else model.institution_id
        if spare_gsa and model is User:
            return and_(column == identity.institution_id, ~gsa_account(model))
        return column == identity.institution_id

    spared = ", except General System Administrators" if spare_gsa else ""
    return Rule(
        f"administers:{role_type}",
        f"A {name} of the institution administers its users{spared}.",
        test,
        where,
    )


def covers(role_type: str, *, spare_gsa: bool) -> Rule:
    """Holders of `role_type` at institution level cover the users of their institution whose credentials
    they may manage: never a Consortia user (whose licence is the operator's), and with `spare_gsa`
    never a General System Administrator's account (whose role a User Administrator may not grant, P-4)."""
    name = R.ROLE_TYPES[role_type]
    spared = "General System Administrators and Consortia users" if spare_gsa else "Consortia users"

    def test(identity: Identity, obj: Any) -> bool:
        if identity.institution_id is None or not identity.has_institution_role(role_type):
            return False
        if isinstance(obj, InInstitution):
            return obj.institution_id == identity.institution_id
        return (
            isinstance(obj, USER_ACCOUNT)
            and obj.institution_id == identity.institution_id
            and obj.support_level != CONSORTIA_LEVEL
            and not (spare_gsa and is_gsa_account(obj))
        )

    def where(identity: Identity, model: Any) -> ColumnElement[bool]:
        if identity.institution_id is None or not identity.has_institution_role(role_type):
            return false()
        clauses = [model.institution_id == identity.institution_id, model.support_level != CONSORTIA_LEVEL]
        if spare_gsa:
            clauses.append(~gsa_account(model))
        return and_(*clauses)

    return Rule(
        f"covers:{role_type}",
        f"A {name} of the institution manages the passwords and API keys of its users, except {spared}.",
        test,
        where,
    )


# The administrators of an institution over its users: the General System Administrator over all, the User
# Administrator over all but General System Administrators (the same rule for the API, the pages and jobs).
ADMINISTER_USERS = (
    operator,
    administers(R.GENERAL_SYSTEM_ADMINISTRATOR, spare_gsa=False),
    administers(R.USER_ADMINISTRATOR, spare_gsa=True),
)

STAFF_READERS = (*ADMINS, R.CIRCULATION_DESK_OPERATOR)


def _is_staff(identity: Identity) -> bool:
    return any(grant.role_type != R.PATRON for grant in identity.roles)


institution_staff = Rule(
    "institution_staff",
    "Staff of an institution (anyone holding a role other than Patron) may monitor its jobs.",
    lambda identity, obj: (
        identity.institution_id is not None and institution_of(obj) == identity.institution_id and _is_staff(identity)
    ),
    lambda identity, model: (
        model.institution_id == identity.institution_id
        if identity.institution_id is not None and _is_staff(identity)
        else false()
    ),
)

# --- the map ----------------------------------------------------------------------------------

PERMISSION_MAP: dict[P, tuple[Rule, ...]] = {
    P.PUBLIC: (signed_in,),
    P.SIGNED_IN: (signed_in,),
    P.CONSORTIUM_READ: (operator, member_of_consortium),
    P.CONSORTIUM_MANAGE: (operator,),
    P.INSTITUTION_READ: (operator, own_institution),
    P.INSTITUTION_MANAGE: (operator,),
    P.LIBRARY_READ: (operator, own_institution),
    P.LIBRARY_MANAGE: (operator,),
    P.NETWORK_READ: (operator, network_member),
    P.NETWORK_MANAGE: (operator,),
    P.PARAMETER_READ: (operator, own_institution),
    P.PARAMETER_EDIT: (operator, gsa_parameter),
    P.USER_READ: (operator, is_self, staff_role(*STAFF_READERS)),
    P.USER_CREATE: (operator, staff_role(*ADMINS)),
    P.USER_EDIT: ADMINISTER_USERS,
    P.USER_DELETE: ADMINISTER_USERS,
    P.ROLE_GRANT: ADMINISTER_USERS,
    P.ROLE_GRANT_ADMIN: (operator, staff_role(R.GENERAL_SYSTEM_ADMINISTRATOR)),
    P.SUPPORT_LEVEL_SET: (operator, staff_role(R.GENERAL_SYSTEM_ADMINISTRATOR)),
    P.USER_CREDENTIALS: (
        operator,
        is_self,
        covers(R.GENERAL_SYSTEM_ADMINISTRATOR, spare_gsa=False),
        covers(R.USER_ADMINISTRATOR, spare_gsa=True),
    ),
    P.CONTACT_STATUS: (operator,),
    P.CODE_TABLE_READ: (operator, own_institution),
    P.CODE_TABLE_EDIT: (operator, staff_role(*ADMINS)),
    P.HISTORY_READ: (signed_in,),  # narrowed by the entity's own read permission
    P.JOB_READ: (operator, institution_staff),
    P.JOB_RUN: (signed_in,),  # narrowed by each job kind's own permission
    P.ACCESS_EXPLAIN: (operator, is_self, staff_role(*ADMINS)),
    P.MAIL_OUTBOX_READ: (operator,),
}

# The permission that decides whether the caller may know an object exists: when it is denied the
# answer is 404, whatever was asked; when it is granted but the action is not, the answer is 403.
SEE_FIRST: dict[P, P] = {
    P.CONSORTIUM_MANAGE: P.CONSORTIUM_READ,
    P.INSTITUTION_MANAGE: P.INSTITUTION_READ,
    P.LIBRARY_MANAGE: P.LIBRARY_READ,
    P.NETWORK_MANAGE: P.NETWORK_READ,
    P.PARAMETER_EDIT: P.PARAMETER_READ,
    P.USER_EDIT: P.USER_READ,
    P.USER_DELETE: P.USER_READ,
    P.ROLE_GRANT: P.USER_READ,
    P.ROLE_GRANT_ADMIN: P.USER_READ,
    P.SUPPORT_LEVEL_SET: P.USER_READ,
    P.USER_CREDENTIALS: P.USER_READ,
    P.CONTACT_STATUS: P.USER_READ,
    P.ACCESS_EXPLAIN: P.USER_READ,
    P.CODE_TABLE_EDIT: P.CODE_TABLE_READ,
    P.USER_CREATE: P.INSTITUTION_READ,
}

GSA_ACCOUNTS = (
    "the account of a General System Administrator is changed, given roles or deleted only by a General System "
    "Administrator of the institution or the operator."
)

DENIALS: dict[P, str] = {
    P.CONSORTIUM_MANAGE: "Only the operator manages consortia.",
    P.INSTITUTION_MANAGE: "Only the operator manages institutions.",
    P.LIBRARY_MANAGE: "Only the operator manages libraries.",
    P.NETWORK_MANAGE: "Only the operator manages fulfillment networks.",
    P.PARAMETER_EDIT: "This parameter can be changed only by the operator (contact support to enable), "
    "or, for other parameters, by the institution's General System Administrator.",
    P.USER_CREATE: "Creating users needs the User Administrator or General System Administrator role.",
    P.USER_EDIT: "Changing users needs the User Administrator or General System Administrator role; " + GSA_ACCOUNTS,
    P.USER_DELETE: "Deleting users needs the User Administrator or General System Administrator role; " + GSA_ACCOUNTS,
    P.ROLE_GRANT: "Granting roles needs the User Administrator or General System Administrator role; " + GSA_ACCOUNTS,
    P.ROLE_GRANT_ADMIN: "Only a General System Administrator of the institution, or the operator, may grant or "
    "remove the General System Administrator role.",
    P.SUPPORT_LEVEL_SET: "Only the operator or the institution's General System Administrator may raise a user "
    "to the STANDARD Support Center level or lower a user's level.",
    P.USER_CREDENTIALS: "Passwords and API keys of other users are managed by the institution's administrators "
    "who cover them: a User Administrator for users who are neither General System Administrators nor "
    "Consortia users, a General System Administrator for users who are not Consortia users; those of a "
    "Consortia user only by the operator.",
    P.CONTACT_STATUS: "Only the operator inactivates or reactivates Support Center contacts, and only the operator "
    "inactivates, reactivates, deletes or makes a patron of a Consortia user (SC-12).",
    P.CODE_TABLE_EDIT: "Code tables are changed by the institution's administrators.",
    P.ACCESS_EXPLAIN: "Only administrators may ask about another user's access.",
    P.JOB_READ: "Monitoring jobs needs a staff role in the institution.",
}


@dataclass(frozen=True)
class Grant:
    """A domain's entry of the map: the rules that grant `permission`, the permission that decides whether
    the caller may know an object exists (`see_first`), and the reason people read when it is denied."""

    permission: P
    rules: tuple[Rule, ...]
    see_first: P | None = None
    denial: str | None = None


def grant(*grants: Grant) -> None:
    """Put domains' grants into the map (`consortia.domains.assemble`, in every process). A permission has
    one set of rules: granting it again with other rules is an error, the same grant again changes nothing."""
    for entry in grants:
        known = PERMISSION_MAP.get(entry.permission)
        if known is not None and known != entry.rules:
            raise ValueError(f"{entry.permission} already has rules: {[rule.name for rule in known]}")
        PERMISSION_MAP[entry.permission] = entry.rules
        if entry.see_first is not None:
            SEE_FIRST[entry.permission] = entry.see_first
        if entry.denial is not None:
            DENIALS[entry.permission] = entry.denial


# --- the questions ----------------------------------------------------------------------------


def allows(identity: Identity, permission: P, obj: Any = None) -> bool:
    """The fast yes/no (N-7)."""
    return any(rule.test(identity, obj) for rule in PERMISSION_MAP.get(permission, ()))


def decide(identity: Identity, permission: P, obj: Any = None) -> Decision:
    """The decision with the rule that made it and why (P-9); deny by default."""
    rules = PERMISSION_MAP.get(permission)
    if not rules:
        return Decision(False, "deny_by_default", f"No rule grants {permission}.")
    for rule in rules:
        if rule.test(identity, obj):
            told = rule.reason(identity, obj, True) if rule.reason is not None else None
            return Decision(True, rule.name, told or rule.explain(identity))
    for rule in rules:
        told = rule.reason(identity, obj, False) if rule.reason is not None else None
        if told:
            return Decision(False, "deny_by_default", told)
    reason = DENIALS.get(permission) or "No rule grants " + str(permission) + " here: " + "; ".join(
        rule.doc for rule in rules
    )
    return Decision(False, "deny_by_default", reason)


def _log_denial(identity: Identity, permission: P, obj: Any, answer: str) -> None:
    """R-7: a denied attempt with its actor, action and object (also when the page or the API answers it
    without passing through an error handler, e.g. a form shown again with the refusal)."""
    log.warning(
        "denied (%s): actor=%s action=%s object=%s#%s",
        answer,
        identity.primary_id,
        permission.value if isinstance(permission, P) else permission,
        type(obj).__name__,
        getattr(obj, "id", "?"),
    )


def demand(identity: Identity, permission: P, obj: Any = None) -> None:
    """Raise Forbidden with the reason unless `permission` holds (for things the caller may know of)."""
    decision = decide(identity, permission, obj)
    if not decision.allowed:
        _log_denial(identity, permission, obj, "forbidden")
        raise Forbidden(decision.reason)


def can_see(identity: Identity, permission: P, obj: Any) -> bool:
    see = SEE_FIRST.get(permission, permission)
    return allows(identity, see, obj)


def authorize(identity: Identity, permission: P, obj: Any, *, not_found: NotFound) -> None:
    """Raise `not_found` when the caller may not know `obj` exists, Forbidden when it may not act on it.

    A hidden object is a denied attempt like a 403 and is logged as one (R-7), though the caller is
    told only that it was not found."""
    if obj is None:
        raise not_found
    if not can_see(identity, permission, obj):
        _log_denial(identity, permission, obj, "answered as not found")
        raise not_found
    demand(identity, permission, obj)


def where(identity: Identity, permission: P, model: Any) -> ColumnElement[bool]:
    """The rows of `model` this identity holds `permission` on, as a filter (deny by default)."""
    clauses = []
    for rule in PERMISSION_MAP.get(permission, ()):
        if rule.where is None:
            continue
        clauses.append(rule.where(identity, model))
    if not clauses:
        return false()
    return or_(*clauses)

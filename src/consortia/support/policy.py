"""Support Center permissions (SC-2, SC-6, SC-10): the case visibility rule with its two faces, the rule of
who manages a case, who asks for case sharing, and the operator-only permissions. `GRANTS` are the Support
Center's entries of the one permission map, handed over in `support.domain` and put into the map at
assembly (`consortia.domains`). (`contact:status` and `support-level:set` are in the platform's map: the
platform's user verbs need them too.)

Case visibility (SC-6) is ONE rule, `case_visible`: its `test` answers for one case, its `where`
is the same rule as an SQL filter, and every read path (get, lists, counts, search, comments,
history, attachments) goes through one of the two. A case is visible to

- the operator's support staff;
- its opener (a Support Center contact: BASIC, STANDARD or CONSORTIA);
- STANDARD and CONSORTIA users of its institution;
- CONSORTIA users of any institution of the same consortium while the case is shared with the
  consortium and the consortium has case sharing enabled (the flag is read on every request, so
  disabling sharing hides shared cases at once, SC-1).

Users whose level is NONE have no Support Center access at all, not even to cases they once opened.
Partner access is read-only: managing a case (edit, comment, status, share) is for the operator,
the opener and the STANDARD/CONSORTIA users of the case's institution (`case_manager`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from consortia.access import policy
from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import Grant, InInstitution, Rule, institution_of, operator, staff_role
from consortia.errors import Forbidden
from consortia.platform.models import Consortium, Institution
from consortia.support.models import CONSORTIA, CONTACT_LEVELS, INSTITUTION_LEVELS, SHARE_CONSORTIUM, SupportCase


def is_contact(identity: Identity) -> bool:
    """A registered Support Center user of an institution (BASIC, STANDARD or CONSORTIA)."""
    return identity.institution_id is not None and identity.support_level in CONTACT_LEVELS


def manages_institution_cases(identity: Identity) -> bool:
    return identity.institution_id is not None and identity.support_level in INSTITUTION_LEVELS


def sees_partner_cases(identity: Identity) -> bool:
    return identity.support_level == CONSORTIA and identity.consortium_id is not None and is_contact(identity)


def sharing_members(consortium_id: int) -> Select[int]:
    """Ids of the institutions of a consortium, while that consortium has case sharing enabled.

    The flag is an uncorrelated EXISTS (evaluated once per query) rather than a join, so that the
    planner estimates the member list from the institutions alone and keeps the index walk of N-5.
    """
    enabled = (
        select(Consortium.id).where(Consortium.id == consortium_id, Consortium.case_sharing_enabled.is_(True)).exists()
    )
    return select(Institution.id).where(Institution.consortium_id == consortium_id, enabled)


def sharing_enabled_for(institution: Institution | None) -> bool:
    """Whether the institution's consortium has case sharing enabled (SC-1)."""
    consortium = institution.consortium if institution is not None else None
    return consortium is not None and consortium.case_sharing_enabled


# --- SC-6: visibility, one rule with two faces ------------------------------------------------


def _case_visible_test(identity: Identity, case: Any) -> bool:
    if isinstance(case, InInstitution):
        # "May use the Support Center here": the case list, the navigation entry.
        return identity.is_operator or is_contact(identity)
    if not isinstance(case, SupportCase):
        return False  # a case permission says nothing about other kinds of objects
    if identity.is_operator:
        return True
    if not is_contact(identity):
        return False
    if case.opened_by_id == identity.user_id:
        return True
    if manages_institution_cases(identity) and case.institution_id == identity.institution_id:
        return True
    if not sees_partner_cases(identity) or case.share_with != SHARE_CONSORTIUM:
        return False
    institution = case.institution
    return (
        institution is not None
        and institution.consortium_id == identity.consortium_id
        and sharing_enabled_for(institution)
    )


def _case_visible_where(identity: Identity, model: Any) -> ColumnElement[bool]:
    if identity.is_operator:
        return true()
    if not is_contact(identity):
        return false()
    clauses: list[ColumnElement[bool]] = [model.opened_by_id == identity.user_id]
    if manages_institution_cases(identity):
        clauses.append(model.institution_id == identity.institution_id)
    if sees_partner_cases(identity):
        assert identity.consortium_id is not None
        clauses.append(
            and_(
                model.share_with == SHARE_CONSORTIUM, model.institution_id.in_(sharing_members(identity.consortium_id))
            )
        )
    return or_(*clauses)


case_visible = Rule(
    "case_visible",
    "A case is visible to the operator, its opener, STANDARD and CONSORTIA users of its institution, and "
    "CONSORTIA users of the consortium's other institutions while it is shared with the consortium and "
    "case sharing is enabled.",
    _case_visible_test,
    _case_visible_where,
)


# --- managing a case (edit, comment, status, share) -------------------------------------------


def _case_manager_test(identity: Identity, case: Any) -> bool:
    if not isinstance(case, SupportCase):
        return False  # a case permission says nothing about other kinds of objects
    if identity.is_operator:
        return True
    if not is_contact(identity):
        return False
    return case.opened_by_id == identity.user_id or (
        manages_institution_cases(identity) and case.institution_id == identity.institution_id
    )


def _case_manager_where(identity: Identity, model: Any) -> ColumnElement[bool]:
    if identity.is_operator:
        return true()
    if not is_contact(identity):
        return false()
    clauses: list[ColumnElement[bool]] = [model.opened_by_id == identity.user_id]
    if manages_institution_cases(identity):
        clauses.append(model.institution_id == identity.institution_id)
    return or_(*clauses)


case_manager = Rule(
    "case_manager",
    "A case is managed by the operator, its opener, and STANDARD and CONSORTIA users of its institution.",
    _case_manager_test,
    _case_manager_where,
)


def _support_contact_here(identity: Identity, obj: Any) -> bool:
    institution_id = obj.institution_id if isinstance(obj, InInstitution) else getattr(obj, "institution_id", None)
    return identity.is_operator or (is_contact(identity) and institution_id == identity.institution_id)


support_contact_here = Rule(
    "support_contact",
    "Registered Support Center users open cases for their own institution; the operator for any.",
    _support_contact_here,
)


institution_case_manager = Rule(
    "institution_case_manager",
    "STANDARD and CONSORTIA users manage every case of their institution and ask for case sharing for it.",
    # manages_institution_cases implies an institution, so an object of none never matches.
    lambda identity, obj: manages_institution_cases(identity) and institution_of(obj) == identity.institution_id,
)

support_user = Rule(
    "support_user",
    "Registered Support Center users and the operator keep their own list views.",
    lambda identity, _obj: identity.is_operator or is_contact(identity),
)

PARTNER_READ_ONLY = (
    "Cases shared by other institutions of the consortium are read-only: only the operator, the case's "
    "opener and STANDARD or CONSORTIA users of {institution} can change, comment on or re-share it."
)

# The Support Center's entries of the permission map, handed over in `support.domain`.
GRANTS = (
    Grant(P.CASE_READ, (case_visible,), denial="This case is not visible to you."),
    *(
        Grant(
            permission,
            (case_manager,),
            see_first=P.CASE_READ,
            denial=PARTNER_READ_ONLY.format(institution="the case's institution"),
        )
        for permission in (P.CASE_EDIT, P.CASE_COMMENT, P.CASE_SHARE)
    ),
    Grant(
        P.CASE_CREATE,
        (support_contact_here,),
        denial="Only registered Support Center users (BASIC, STANDARD or CONSORTIA) can open cases.",
    ),
    Grant(P.LIST_VIEW_MANAGE, (support_user,), denial="Only registered Support Center users keep list views."),
    Grant(
        P.CASE_SHARING_MANAGE,
        (operator,),
        see_first=P.CONSORTIUM_READ,
        denial="Only the operator enables or disables case sharing for a consortium, after an account review.",
    ),
    Grant(
        P.CASE_SHARING_REQUEST,
        (operator, institution_case_manager),
        denial="Only STANDARD Support Center users can ask for case sharing to be enabled.",
    ),
    Grant(
        P.LICENCE_MANAGE,
        (operator,),
        denial="Only the operator grants and removes Consortia licences (the CONSORTIA level); the institution's "
        "General System Administrator can set NONE, BASIC or STANDARD.",
    ),
    Grant(
        P.ACCESS_REVIEW,
        (operator,),
        see_first=P.CONSORTIUM_READ,
        denial="Only the operator reviews access to shared cases.",
    ),
    Grant(
        P.CONTACT_MANAGE,
        (operator, staff_role(R.GENERAL_SYSTEM_ADMINISTRATOR)),
        see_first=P.USER_READ,
        denial="Only the operator or the institution's General System Administrator manages Support Center contacts.",
    ),
)


NO_SUPPORT_LEVEL = (
    "The Support Center needs a Support Center level on your account, and yours has none. Your institution's "
    "General System Administrator, or the operator, can raise you to Standard; people who register "
    "themselves for the Support Center start at Basic."
)


def demand_support_center(identity: Identity) -> None:
    """The case lists' first check (may the caller use the Support Center at all?), answered with what is
    missing and who grants it, rather than with the denial of one case."""
    if not policy.allows(identity, P.CASE_READ, InInstitution(identity.acting_institution_id)):
        raise Forbidden(NO_SUPPORT_LEVEL)


def visible_cases(identity: Identity, model: Any) -> ColumnElement[bool]:
    """The SQL face of `case_visible` (what `policy.where(identity, P.CASE_READ, model)` answers)."""
    return policy.where(identity, P.CASE_READ, model)


def can_see_case(identity: Identity, case: Any) -> bool:
    """The test face of `case_visible`."""
    return policy.allows(identity, P.CASE_READ, case)

"""Collaborative-network permissions; `GRANTS` are their entries of the one permission map, handed over in
`network.domain` and put into the map at assembly (`consortia.domains`).

- `network-config:read` / `network-config:edit`: the institution's linked-account rules and network
  tables (CN-2, CN-4 .. CN-6). Staff who serve walk-in patrons read them; only the User Administrator
  and the General System Administrator of the institution change them.
- `walk-in:find`: ONE rule with two faces, `walk_in_patron`, says who may be found, previewed and
  linked by whom (CN-4, CN-6, CN-8). Its `test` answers for one `WalkInCandidate`; its `where` is the
  same rule as an SQL filter over users, used by the search. A patron is a walk-in candidate for a
  desk of institution H when
    * the searcher is a Circulation Desk Operator, User Administrator or General System Administrator
      of H (working in H);
    * the patron's institution shares a fulfillment network with H and is not H;
    * the patron is ACTIVE, an own account of that institution (not a linked account, not operator staff);
    * the patron's user group is not a restricted group of their institution (CN-4);
    * the patron has an identifier of a searchable type of their institution, and one of a searchable
      type of H, each table counting only when it is not empty (CN-6).
  Any other patron answers exactly like one that does not exist.
- `linked-account:refresh`: refreshing a linked account of the institution, and lending to walk-in
  patrons (CN-10, CN-11): the same desk staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from consortia.access import policy
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import ADMINS, STAFF_READERS, Grant, InInstitution, Rule, operator, staff_role
from consortia.network.models import LINKED, RestrictedUserGroup, SearchableIdentifier
from consortia.platform.models import FulfillmentNetworkMember, User, UserIdentifier

DESK_ROLES = STAFF_READERS  # Circulation Desk Operator, User Administrator, General System Administrator


@dataclass(frozen=True)
class NetworkView:
    """What one institution's desk sees of its networks, loaded once per request.

    `restricted` and `searchable` hold each institution's tables by institution id (the desk's own
    included in `searchable`); `by_name` the partners that let others search their patrons by name.
    """

    institution_id: int
    partners: frozenset[int]
    restricted: Mapping[int, frozenset[str]]
    searchable: Mapping[int, frozenset[str]]
    by_name: frozenset[int]


@dataclass(frozen=True)
class WalkInCandidate:
    """A user of another institution as seen from a desk: the object of `walk-in:find`."""

    view: NetworkView
    user: User

    @property
    def institution_id(self) -> int | None:
        return self.view.institution_id


def is_desk_staff(identity: Identity, institution_id: int | None) -> bool:
    return (
        institution_id is not None
        and identity.institution_id == institution_id
        and identity.acting_institution_id == institution_id
        and identity.has_institution_role(*DESK_ROLES)
    )


def takes_part(id_types: set[str], table: frozenset[str]) -> bool:
    """CN-6: an empty table lets every identifier take part; otherwise one of its types is needed."""
    return not table or bool(id_types & table)


def _walk_in_test(identity: Identity, candidate: Any) -> bool:
    if isinstance(candidate, InInstitution):
        # "May use the walk-in desk here": the desk page, its navigation entry, the search as a whole.
        return is_desk_staff(identity, candidate.institution_id)
    if not isinstance(candidate, WalkInCandidate):
        return False
    return is_desk_staff(identity, candidate.view.institution_id) and serves(candidate.view, candidate.user)


def serves(view: NetworkView, user: User) -> bool:
    """The patron half of `walk_in_patron`: may this institution's desk serve `user` through the network?
    (Also what a refresh and the bulk jobs ask of a linked account's source.)"""
    home = user.institution_id
    if home is None:
        return False
    types = {identifier.id_type for identifier in user.identifiers}
    return (
        home in view.partners
        and home != view.institution_id
        and user.status == "ACTIVE"
        and user.account_type != LINKED
        and not user.is_operator
        and user.user_group not in view.restricted.get(home, frozenset())
        and takes_part(types, view.searchable.get(home, frozenset()))
        and takes_part(types, view.searchable.get(view.institution_id, frozenset()))
    )


_MINE, _THEIRS = aliased(FulfillmentNetworkMember), aliased(FulfillmentNetworkMember)


def partner_ids(institution_id: int) -> Select[Any]:
    """Ids of the institutions sharing a fulfillment network with `institution_id` (itself excluded)."""
    mine, theirs = _MINE, _THEIRS
    return (
        select(theirs.institution_id)
        .join(mine, mine.network_id == theirs.network_id)
        .where(mine.institution_id == institution_id, theirs.institution_id != institution_id)
    )


def _walk_in_where(identity: Identity, model: Any) -> ColumnElement[bool]:
    here = identity.acting_institution_id
    if here is None or not is_desk_staff(identity, here):
        return false()
    home_table = exists().where(SearchableIdentifier.institution_id == model.institution_id)
    home_match = exists().where(
        UserIdentifier.user_id == model.id,
        SearchableIdentifier.institution_id == model.institution_id,
        SearchableIdentifier.code == UserIdentifier.id_type,
    )
    here_table = exists().where(SearchableIdentifier.institution_id == here)
    here_match = exists().where(
        UserIdentifier.user_id == model.id,
        UserIdentifier.id_type.in_(
            select(SearchableIdentifier.code).where(SearchableIdentifier.institution_id == here)
        ),
    )
    restricted = exists().where(
        RestrictedUserGroup.institution_id == model.institution_id, RestrictedUserGroup.code == model.user_group
    )
    return and_(
        model.institution_id.in_(partner_ids(here)),
        model.institution_id != here,
        model.status == "ACTIVE",
        model.account_type != LINKED,
        model.is_operator.is_(False),
        ~restricted,
        or_(~home_table, home_match),
        or_(~here_table, here_match),
    )


walk_in_patron = Rule(
    "walk_in_patron",
    "Desk staff (Circulation Desk Operator, User Administrator, General System Administrator) find and link "
    "active patrons of institutions sharing a fulfillment network, outside restricted user groups, who have "
    "a searchable identifier of both institutions.",
    _walk_in_test,
    _walk_in_where,
)

network_staff = staff_role(*DESK_ROLES)
network_admin = staff_role(*ADMINS)

# Collaborative networks' entries of the permission map, handed over in `network.domain` and put into the
# map at assembly (`consortia.domains`).
GRANTS = (
    Grant(
        P.NETWORK_CONFIG_READ,
        (operator, network_staff),
        denial="The collaborative network configuration is for the institution's staff.",
    ),
    Grant(
        P.NETWORK_CONFIG_EDIT,
        (network_admin,),
        see_first=P.NETWORK_CONFIG_READ,
        denial="Only a User Administrator or General System Administrator of the institution changes linked "
        "account rules and the collaborative network tables.",
    ),
    Grant(
        P.WALK_IN_FIND,
        (walk_in_patron,),
        denial="Walk-in patrons are found and linked by the institution's Circulation Desk Operators, User "
        "Administrators and General System Administrators.",
    ),
    Grant(
        P.LINKED_ACCOUNT_REFRESH,
        (network_staff,),
        see_first=P.USER_READ,
        denial="Linked accounts are refreshed, and walk-in loans made, by the institution's Circulation Desk "
        "Operators, User Administrators and General System Administrators.",
    ),
)


def findable_patrons(identity: Identity) -> ColumnElement[bool]:
    """The SQL face of `walk_in_patron` (what `policy.where(identity, P.WALK_IN_FIND, User)` answers)."""
    return policy.where(identity, P.WALK_IN_FIND, User)


def can_find(identity: Identity, candidate: WalkInCandidate) -> bool:
    """The test face of `walk_in_patron`."""
    return policy.allows(identity, P.WALK_IN_FIND, candidate)

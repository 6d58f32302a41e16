"""The walk-in desk (CN-8 .. CN-11, CN-13): search the fulfillment networks, preview the rule, link,
refresh and lend, each verb taking the actor and writing history (entity `user`) in the caller's
transaction. Entry points own the commit.

Every fetch of a patron of another institution goes through `access_walk_in_patron`: a patron the
desk may not serve (outside the networks, restricted group, inactive, no searchable identifier) and
an unknown id answer the same 404. Linked accounts of the desk's own institution are fetched with
`access_linked_account` (the platform's `access_user` under `linked-account:refresh`).

Decisions where the seed is silent:
- A linked account's primary id is `<source primary id>.<source code>` (`west-pat.west`): unique on the
  whole platform like every primary id, so that a name never means two accounts; its `linking_id` is
  new and unique.
- Identifiers are copied (when shared) only for types this institution knows and values it has not
  given to someone else.
- Refreshing needs the source patron to be still servable; otherwise 400 60230.
- A refresh of an expired (or inactive) linked account makes it active again under the current rule.
- A walk-in loan is due after 28 days; an item already on loan in the institution cannot be lent.
- The rule's Resource Sharing Library is set on every new linked account (the seed names the walk-in
  loan; SPEC CN-9 every link; the two agree on accounts made by a loan).
- A General System Administrator's account is changed only by a General System Administrator of the
  institution or the operator (P-4, the permission map's `user:edit`): desk staff neither refresh such an
  account nor join it as a peer (403 with the reason); the bulk jobs leave it to those who may.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, authorize, decide, demand, is_gsa_account
from consortia.access.roles import PATRON
from consortia.audit.models import Actor
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.db import today
from consortia.errors import BadRequest, NotFound
from consortia.network import rules as rule_service
from consortia.network import tables
from consortia.network.models import (
    DEFAULT_RULE_ID,
    LINKED,
    SHARED_FIELDS,
    Loan,
    RestrictedUserGroup,
    SearchableIdentifier,
)
from consortia.network.policy import NetworkView, WalkInCandidate, findable_patrons, partner_ids, serves, takes_part
from consortia.platform import codetables
from consortia.platform.models import (
    Institution,
    InstitutionParameter,
    Library,
    User,
    UserBlock,
    UserIdentifier,
    UserRole,
)
from consortia.platform.parameters import parameter_value
from consortia.platform.tenancy import institution_by_code
from consortia.platform.users import access_user
from consortia.text import has_control_characters

SEARCH_BY_NAME = "fulfillment_network_search_by_all"
CONSORTIAL_ID_TYPE = "consortial_id_type"
LOAN_DAYS = 28
# A desk search counts its matches with its page (N-4); asked for no page, or for one past the end, it
# counts them up to this many ("more than 1,000": refine the search).
COUNT_CAP = 1_000
# The plain fields a linked account takes from its source when shared (CN-5); identifiers apart.
COPIED_FIELDS = tuple(f for f in SHARED_FIELDS if f != "identifiers")
PATRON_LOAD = (selectinload(User.identifiers), selectinload(User.blocks))


def patron_not_found(source_code: str, source_user_id: str) -> NotFound:
    """The one answer for a patron the desk may not serve and for one that does not exist."""
    return NotFound(
        f"Fulfillment network copied user not found: no patron {source_user_id.strip()} of institution "
        f"{source_code.strip().upper()} can be served here.",
        "60226",
    )


# --- the view of the networks -------------------------------------------------------------------


def network_view(session: Session, institution_id: int) -> NetworkView:
    """Partners and their tables, as `walk_in_patron` reads them (a handful of small queries)."""
    partners = frozenset(session.scalars(partner_ids(institution_id)))
    restricted: dict[int, set[str]] = {}
    for inst, code in session.execute(
        select(RestrictedUserGroup.institution_id, RestrictedUserGroup.code).where(
            RestrictedUserGroup.institution_id.in_(partners)
        )
    ):
        restricted.setdefault(inst, set()).add(code)
    searchable: dict[int, set[str]] = {}
    for inst, code in session.execute(
        select(SearchableIdentifier.institution_id, SearchableIdentifier.code).where(
            SearchableIdentifier.institution_id.in_([*partners, institution_id])
        )
    ):
        searchable.setdefault(inst, set()).add(code)
    by_name = frozenset(
        inst
        for inst, value in session.execute(
            select(InstitutionParameter.institution_id, InstitutionParameter.value).where(
                InstitutionParameter.name == SEARCH_BY_NAME, InstitutionParameter.institution_id.in_(partners)
            )
        )
        if value is True
    )
    return NetworkView(
        institution_id=institution_id,
        partners=partners,
        restricted={k: frozenset(v) for k, v in restricted.items()},
        searchable={k: frozenset(v) for k, v in searchable.items()},
        by_name=by_name,
    )


def _both_tables(view: NetworkView, home: int) -> tuple[frozenset[str], frozenset[str]]:
    return view.searchable.get(home, frozenset()), view.searchable.get(view.institution_id, frozenset())


def _identifier_matches(session: Session, view: NetworkView, key: str) -> set[int]:
    """Users of the partners whose searchable identifier (or primary id, when neither table lists
    types) is `key` (CN-6: both institutions' tables apply)."""
    found: set[int] = set()
    for user_id, home, id_type in session.execute(
        select(UserIdentifier.user_id, UserIdentifier.institution_id, UserIdentifier.id_type).where(
            UserIdentifier.value_key == key, UserIdentifier.institution_id.in_(view.partners)
        )
    ):
        theirs, ours = _both_tables(view, home)
        if takes_part({id_type}, theirs) and takes_part({id_type}, ours):
            found.add(user_id)
    for own_id, own_home in session.execute(
        select(User.id, User.institution_id).where(User.primary_id_key == key, User.institution_id.in_(view.partners))
    ):
        if own_home is None:
            continue
        theirs, ours = _both_tables(view, own_home)
        if not theirs and not ours:
            found.add(own_id)
    return found


@dataclass(frozen=True)
class WalkInPatron:
    """A patron found in the network, with what the desk shows of them."""

    user: User
    institution: Institution
    group_desc: str | None
    identifiers: list[tuple[str, str]]
    linked_user: User | None


def _present(session: Session, view: NetworkView, users: Sequence[User]) -> list[WalkInPatron]:
    homes = {user.institution_id for user in users if user.institution_id is not None}
    institutions = {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(homes)))}
    groups = {home: codetables.descriptions(session, home, codetables.USER_GROUPS) for home in homes}
    shared = {home: tables.shared_fields(session, home)["identifiers"] for home in homes}
    linked = {
        user.source_user_id: user
        for user in session.scalars(
            select(User).where(
                User.institution_id == view.institution_id, User.source_user_id.in_([u.id for u in users])
            )
        )
    }
    found = []
    for user in users:
        assert user.institution_id is not None
        theirs, ours = _both_tables(view, user.institution_id)
        identifiers = (
            [
                (i.id_type, i.value)
                for i in user.identifiers
                if takes_part({i.id_type}, theirs) and takes_part({i.id_type}, ours)
            ]
            if shared[user.institution_id]
            else []
        )
        found.append(
            WalkInPatron(
                user=user,
                institution=institutions[user.institution_id],
                group_desc=groups[user.institution_id].get(user.user_group),
                identifiers=identifiers,
                linked_user=linked.get(user.id),
            )
        )
    return found


def _spellings(text: str) -> list[str]:
    """The usual capitalisations of a name, so that the (institution, last name) index finds them."""
    return sorted({text, text.lower(), text.upper(), text.title(), text.capitalize()})


def _prefix_ranges(column: Any, word: str) -> ColumnElement[bool] | None:
    """`column` starts with one of the usual capitalisations of `word`, as ranges an index can walk
    ("Leo" <= x < "Lep"); None when the word is not plain ASCII (a range is then not safe under every
    collation, and the caller relies on its exact filter alone)."""
    if not (word.isascii() and word.isalnum()):
        return None
    return or_(*(and_(column >= w, column < w[:-1] + chr(ord(w[-1]) + 1)) for w in _spellings(word)))


def _name_filter(name: str, *, separate_arms: bool) -> ColumnElement[bool]:
    """CN-7: "Last name", or "First ... Last" (first names by prefix); a last name of several words
    ("Van Dijk") is matched whole too. Case-insensitive for the usual capitalisations.

    The same condition in the shape each planner walks the (institution, last name, first name) index
    with: PostgreSQL combines index scans for the arms of a top-level OR (`separate_arms`), each arm then
    naming its last names and first-name ranges; SQLite reads the last names once and tests the rest on
    the index entries."""
    words = name.split(" ")
    whole = func.lower(User.last_name) == name.lower()
    if len(words) == 1:
        return and_(User.last_name.in_(_spellings(name)), whole)
    first, last = words[0], words[-1]
    parts: list[ColumnElement[bool]] = [
        func.lower(User.last_name) == last.lower(),
        *(func.lower(User.first_name).startswith(word.lower(), autoescape=True) for word in words[:-1]),
    ]
    ranges = _prefix_ranges(User.first_name, first)
    if ranges is not None:
        parts.append(ranges)
    if separate_arms:
        return or_(
            and_(User.last_name.in_(_spellings(name)), whole),
            and_(User.last_name.in_(_spellings(last)), *parts),
        )
    return and_(User.last_name.in_(_spellings(name) + _spellings(last)), or_(whole, and_(*parts)))


def access_desk(session: Session, identity: Identity) -> Institution:
    """The institution whose walk-in desk the caller works (403 with the reason for anyone else)."""
    here = acting_institution(session, identity)
    demand(identity, P.WALK_IN_FIND, InInstitution(here.id))
    return here


def search_walk_in(
    session: Session,
    identity: Identity,
    *,
    identifier: str | None = None,
    name: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[WalkInPatron], int, bool]:
    """Patrons of the partner institutions by identifier value or, where their institution allows it,
    by name ("Last", or "First Last"); only those `walk_in_patron` lets this desk serve. Answers the
    page, the number of matches and whether that number is exact (it stops at `COUNT_CAP`)."""
    here = acting_institution(session, identity)
    demand(identity, P.WALK_IN_FIND, InInstitution(here.id))
    identifier = (identifier or "").strip()
    name = " ".join((name or "").split())
    if bool(identifier) == bool(name):
        raise BadRequest("Search by identifier or by name: give exactly one of the two.", "40166411")
    if has_control_characters(identifier + name):
        return [], 0, True
    view = network_view(session, here.id)
    filters: list[ColumnElement[bool]] = [findable_patrons(identity)]
    if identifier:
        ids = _identifier_matches(session, view, identifier.lower())
        if not ids:
            return [], 0, True
        filters.append(User.id.in_(sorted(ids)))
    else:
        if not view.by_name:
            return [], 0, True
        filters.append(User.institution_id.in_(sorted(view.by_name)))
        separate_arms = session.get_bind().dialect.name == "postgresql"
        filters.append(_name_filter(name, separate_arms=separate_arms))
    # The page and the number of matches in one pass: the sort reads every match anyway, and
    # `count() OVER ()` counts them before the limit.
    rows = (
        session.execute(
            select(User, func.count().over().label("matches"))
            .where(*filters)
            .order_by(User.last_name, User.first_name, User.institution_id, User.id)
            .limit(limit)
            .offset(offset)
            .options(selectinload(User.identifiers))
        ).all()
        if limit
        else []
    )
    users = [row[0] for row in rows]
    exact = True
    if rows:
        total = int(rows[0][1])
    elif limit and offset == 0:
        total = 0
    else:  # no page asked for, or a page past the end: count, up to the cap
        cap = max(COUNT_CAP, offset)
        matches = select(User.id).where(*filters).limit(cap + 1).subquery()
        total = int(session.scalar(select(func.count()).select_from(matches)) or 0)
        if total > cap:
            total, exact = cap, False
    return (_present(session, view, users) if users else []), total, exact


def access_walk_in_patron(
    session: Session, identity: Identity, source_code: str, source_user_id: str
) -> WalkInCandidate:
    """A patron of another institution this desk may serve, by source institution and primary id;
    403 for callers who do not work the desk, 404 alike for every patron it may not serve."""
    here = acting_institution(session, identity)
    demand(identity, P.WALK_IN_FIND, InInstitution(here.id))
    not_found = patron_not_found(source_code, source_user_id)
    if has_control_characters(source_code + source_user_id):
        raise not_found
    source = institution_by_code(session, source_code)
    user = None
    if source is not None and source.id != here.id:
        user = session.scalars(
            select(User)
            .where(User.institution_id == source.id, User.primary_id_key == source_user_id.strip().lower())
            .options(*PATRON_LOAD)
        ).first()
    candidate = WalkInCandidate(network_view(session, here.id), user) if user is not None else None
    authorize(identity, P.WALK_IN_FIND, candidate, not_found=not_found)
    assert candidate is not None
    return candidate


def present_candidate(session: Session, candidate: WalkInCandidate) -> WalkInPatron:
    return _present(session, candidate.view, [candidate.user])[0]


# --- preview (CN-13) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What linking would give: the rule (and why), the group with its name, the dates and the library."""

    choice: rule_service.RuleChoice
    user_group: str
    group_desc: str | None
    expiry: dt.date | None
    purge: dt.date | None
    library: Library | None


def _library(session: Session, institution_id: int, code: str | None) -> Library | None:
    if not code:
        return None
    return session.scalars(
        select(Library).where(Library.code == code, Library.institution_id == institution_id)
    ).first()


def _source_code(session: Session, user: User) -> str:
    assert user.institution_id is not None
    institution = session.get(Institution, user.institution_id)
    assert institution is not None
    return institution.code


def preview(session: Session, candidate: WalkInCandidate) -> Preview:
    """CN-13 for a patron fetched with `access_walk_in_patron`."""
    return preview_for(session, candidate.view.institution_id, candidate.user)


def preview_for(session: Session, here: int, user: User) -> Preview:
    """What linking `user` in institution `here` would give (for patrons the desk found)."""
    choice = rule_service.choose_rule(session, here, _source_code(session, user))
    output = choice.output
    expiry = rule_service.expiry_from(output.get("expiry") or {}, user.expiry_date)
    group = str(output.get("user_group") or "")
    return Preview(
        choice=choice,
        user_group=group,
        group_desc=codetables.descriptions(session, here, codetables.USER_GROUPS).get(group),
        expiry=expiry,
        purge=rule_service.purge_from(output.get("purge") or {}, expiry),
        library=_library(session, here, output.get("resource_sharing_library")),
    )


# --- linking (CN-9, CN-9a) ----------------------------------------------------------------------

LINKED_NEW, REFRESHED, PEER_JOINED, PEER_KEPT = "LINKED", "REFRESHED", "PEER_JOINED", "PEER"


@dataclass(frozen=True)
class LinkOutcome:
    """What linking did: a new linked account, a refresh of the existing one, or peers joined/kept."""

    user: User
    action: str
    message: str


def find_linked_account(session: Session, institution_id: int, source_user_id: int) -> User | None:
    """The account in `institution_id` that points at a source user (a linked account or a peer)."""
    return session.scalars(
        select(User)
        .where(User.institution_id == institution_id, User.source_user_id == source_user_id)
        .options(*PATRON_LOAD, selectinload(User.roles))
    ).first()


def _free_primary_id(session: Session, institution_id: int, wanted: str, source_code: str) -> str:
    for candidate in (f"{wanted}.{source_code.lower()}"[:100],):
        taken = session.scalar(
            select(User.id).where(User.institution_id == institution_id, User.primary_id_key == candidate.lower())
        )
        if taken is None:
            return candidate
    return f"{wanted[:60]}.{source_code}.{uuid.uuid4().hex[:8]}"


def _note(session: Session, user: User, field: str, old: Any, new: Any, actor: Actor) -> None:
    record(
        session,
        entity="user",
        entity_id=user.primary_id,
        field=field,
        old=old,
        new=new,
        actor=actor,
        institution_id=user.institution_id,
    )


def _copy_identifiers(session: Session, user: User, source: User, actor: Actor) -> None:
    """Make the linked account's identifiers those of the source that this institution can hold."""
    assert user.institution_id is not None
    known = codetables.enabled_codes(session, user.institution_id, codetables.USER_IDENTIFIER_TYPES)
    wanted = {(i.id_type, i.value_key): i for i in source.identifiers if i.id_type in known}
    current = {(i.id_type, i.value_key): i for i in user.identifiers}
    for key, row in current.items():
        if key not in wanted:
            _note(session, user, "identifier", f"{row.id_type} {row.value}", None, actor)
            user.identifiers.remove(row)
    for key, row in wanted.items():
        if key in current:
            continue
        taken = session.scalar(
            select(UserIdentifier.id).where(
                UserIdentifier.institution_id == user.institution_id,
                UserIdentifier.id_type == row.id_type,
                UserIdentifier.value_key == row.value_key,
            )
        )
        if taken is not None:
            continue
        user.identifiers.append(
            UserIdentifier(
                institution_id=user.institution_id,
                id_type=row.id_type,
                value=row.value,
                value_key=row.value_key,
                status=row.status,
            )
        )
        _note(session, user, "identifier", None, f"{row.id_type} {row.value}", actor)


def _copy_network_blocks(session: Session, user: User, source: User, actor: Actor) -> None:
    """Delete every network block of the linked account and re-create the source's current ones."""
    for block in [b for b in user.blocks if b.network]:
        _note(session, user, "block", f"{block.block_type}: {block.description} (network)", None, actor)
        user.blocks.remove(block)
    for block in source.blocks:
        if not block.network:
            continue
        user.blocks.append(
            UserBlock(
                block_type=block.block_type,
                description=block.description,
                note=block.note,
                network=True,
                status=block.status,
            )
        )
        _note(session, user, "block", None, f"{block.block_type}: {block.description} (network)", actor)


def _consortial_peer(session: Session, here: Institution, source: User) -> tuple[User, str] | None:
    """A user of this institution with the source's consortial id (CN-9a), with the id."""
    id_type = str(parameter_value(session, here.id, CONSORTIAL_ID_TYPE) or "").strip()
    if not id_type:
        return None
    value = next((i for i in source.identifiers if i.id_type == id_type), None)
    if value is None:
        return None
    peer = session.scalars(
        select(User)
        .join(UserIdentifier, UserIdentifier.user_id == User.id)
        .where(
            User.institution_id == here.id,
            User.account_type != LINKED,
            UserIdentifier.id_type == id_type,
            UserIdentifier.value_key == value.value_key,
        )
    ).first()
    return (peer, value.value) if peer is not None else None


def demand_may_change_account(identity: Identity, user: User) -> None:
    """Refreshing or joining changes the account: a General System Administrator's only for those the map's
    `user:edit` lets change it (P-4), whatever the caller's desk role (403 with the reason)."""
    if is_gsa_account(user):
        demand(identity, P.USER_EDIT, user)


def link_walk_in(
    session: Session, identity: Identity, candidate: WalkInCandidate, *, refresh_existing: bool
) -> LinkOutcome:
    """Link a patron found in the network (CN-9): a new LINKED user under the applicable rule, or the
    peer with the same consortial id joined (CN-9a). An existing link is refused with 60227, or — from
    the desk (`refresh_existing`) — refreshed instead."""
    demand(identity, P.WALK_IN_FIND, candidate)
    here = acting_institution(session, identity)
    source = candidate.user
    actor = identity.actor
    existing = find_linked_account(session, here.id, source.id)
    if existing is not None:
        if not refresh_existing:
            raise BadRequest("Linked account for user already exists.", "60227")
        demand_may_change_account(identity, existing)
        return refresh_account(session, existing, actor=actor, view=candidate.view)
    source_code = _source_code(session, source)
    peer = _consortial_peer(session, here, source)
    if peer is not None:
        user, value = peer
        demand_may_change_account(identity, user)
        user.source_institution_id = source.institution_id
        user.source_user_id = source.id
        user.linking_id = value
        _note(session, user, "linked_account", None, f"peer of {source_code}:{source.primary_id} ({value})", actor)
        session.flush()
        return LinkOutcome(
            user,
            PEER_JOINED,
            f"{user.primary_id} and the patron share the consortial id {value}: "
            "they are joined as peers; neither is refreshed from the other.",
        )
    seen = preview(session, candidate)
    if not seen.user_group:
        raise BadRequest("Failed to link user due to user group empty.", "60232")
    shared = tables.shared_fields(session, source.institution_id or 0)
    user = User(
        institution_id=here.id,
        primary_id=_free_primary_id(session, here.id, source.primary_id, source_code),
        record_type="PUBLIC",
        account_type=LINKED,
        status="ACTIVE",
        user_group=seen.user_group,
        expiry_date=seen.expiry,
        purge_date=seen.purge,
        source_institution_id=source.institution_id,
        source_user_id=source.id,
        linking_id=f"L{uuid.uuid4().hex[:19].upper()}",
        linked_rule=seen.choice.rule_id,
        rs_library_id=seen.library.id if seen.library is not None else None,
        support_level="NONE",
        identifiers=[],
        blocks=[],
        roles=[],
    )
    user.primary_id_key = user.primary_id.lower()
    for field in COPIED_FIELDS:
        if shared[field]:
            setattr(user, field, getattr(source, field))
    session.add(user)
    session.flush()
    _note(session, user, "user", None, f"created ({user.record_type}, {user.status})", actor)
    _note(
        session,
        user,
        "linked_account",
        None,
        f"linked to {source_code}:{source.primary_id} by rule {seen.choice.name} ({seen.choice.rule_id})",
        actor,
    )
    _note(session, user, "linked_account_rule", None, seen.choice.rule_id, actor)
    for field in ("user_group", "expiry_date", "purge_date", *COPIED_FIELDS):
        value = getattr(user, field)
        if value not in (None, ""):
            _note(session, user, field, None, value, actor)
    if seen.library is not None:
        _note(session, user, "rs_library", None, seen.library.code, actor)
    if shared["identifiers"]:
        _copy_identifiers(session, user, source, actor)
    user.roles.append(UserRole(role_type=PATRON, library_id=None, status="ACTIVE", expiry_date=seen.expiry))
    _note(session, user, "role", None, f"{PATRON} (institution, ACTIVE, until {seen.expiry})", actor)
    if seen.choice.output.get("copy_network_blocks"):
        _copy_network_blocks(session, user, source, actor)
    session.flush()
    return LinkOutcome(user, LINKED_NEW, f"Linked account {user.primary_id} created by {seen.choice.name}.")


# --- refresh (CN-10) ----------------------------------------------------------------------------


def access_linked_account(session: Session, identity: Identity, user_id: str, *, id_type: str = "all_unique") -> User:
    """A user of the caller's institution, checked for `linked-account:refresh`."""
    return access_user(session, identity, user_id, P.LINKED_ACCOUNT_REFRESH, id_type=id_type)


def refresh(session: Session, identity: Identity, user: User) -> LinkOutcome:
    """Refresh a linked account of the caller's institution from its source (page, API)."""
    authorize(
        identity,
        P.LINKED_ACCOUNT_REFRESH,
        user,
        not_found=NotFound(f"User with identifier {user.primary_id} was not found.", "401861"),
    )
    demand_may_change_account(identity, user)
    return refresh_account(session, user, actor=identity.actor)


def refresh_account(session: Session, user: User, *, actor: Actor, view: NetworkView | None = None) -> LinkOutcome:
    """The refresh itself (also the bulk job's): see CN-10 and the module's decisions.

    Peers (CN-9a) are never refreshed: the outcome says so and nothing changes."""
    if user.account_type != LINKED:
        if user.source_user_id is not None:
            return LinkOutcome(
                user,
                PEER_KEPT,
                f"{user.primary_id} is a peer joined by consortial id: neither account is primary, so nothing "
                "is refreshed.",
            )
        raise BadRequest("Failed to find linked account for user: it is not a linked account.", "60229")
    assert user.institution_id is not None
    source = session.scalars(select(User).where(User.id == user.source_user_id).options(*PATRON_LOAD)).first()
    view = view or network_view(session, user.institution_id)
    if source is None or not serves(view, source):
        raise BadRequest(
            "Failed to refresh linked user: its source patron can no longer be served through the fulfillment network.",
            "60230",
        )
    day = today()
    expired = user.status != "ACTIVE" or (user.expiry_date is not None and user.expiry_date < day)
    choice = rule_service.choose_rule(session, user.institution_id, _source_code(session, source))
    output = choice.output
    shared = tables.shared_fields(session, source.institution_id or 0)

    def change(field: str, new: Any) -> None:
        old = getattr(user, field)
        if old != new:
            _note(session, user, field, old, new, actor)
            setattr(user, field, new)

    for field in COPIED_FIELDS:
        if shared[field]:
            change(field, getattr(source, field))
    if shared["identifiers"]:
        _copy_identifiers(session, user, source, actor)
    if expired:
        if output.get("user_group"):
            change("user_group", output["user_group"])
        change("status", "ACTIVE")
    if expired or output.get("refresh_expiry"):
        change("expiry_date", rule_service.expiry_from(output.get("expiry") or {}, source.expiry_date))
    if expired or output.get("refresh_purge"):
        change("purge_date", rule_service.purge_from(output.get("purge") or {}, user.expiry_date))
    change("linked_rule", choice.rule_id)
    if output.get("copy_network_blocks"):
        _copy_network_blocks(session, user, source, actor)
    _note(
        session,
        user,
        "refreshed",
        None,
        f"from {_source_code(session, source)}:{source.primary_id} by {choice.name}",
        actor,
    )
    session.flush()
    return LinkOutcome(user, REFRESHED, f"Linked account {user.primary_id} refreshed ({choice.name}).")


# --- loans (CN-11) ------------------------------------------------------------------------------


def library_of(session: Session, institution: Institution, code: str, field: str = "library") -> Library:
    library = _library(session, institution.id, code.strip().upper())
    if library is None:
        raise BadRequest(f"{field}: {code.strip().upper()} is not a library of {institution.code}.", "402469")
    return library


def lend(session: Session, identity: Identity, user: User, item_barcode: str, library: Library) -> Loan:
    """Lend an item to a user of the caller's institution (the desk's own patrons or linked accounts)."""
    demand(identity, P.LINKED_ACCOUNT_REFRESH, user)
    barcode = item_barcode.strip()
    if not barcode or len(barcode) > 200 or has_control_characters(barcode):
        raise BadRequest("item_barcode: give the barcode of the item (1 to 200 characters).", "40166411")
    on_loan = session.scalar(
        select(Loan.id).where(
            Loan.institution_id == user.institution_id, Loan.item_barcode == barcode, Loan.status == "ACTIVE"
        )
    )
    if on_loan is not None:
        raise BadRequest(f"item_barcode: item {barcode} is already on loan.", "401153")
    loan = Loan(
        user_id=user.id,
        institution_id=user.institution_id,
        library_id=library.id,
        item_barcode=barcode,
        status="ACTIVE",
        due_date=today() + dt.timedelta(days=LOAN_DAYS),
    )
    loan.library = library
    session.add(loan)
    session.flush()
    _note(session, user, "loan", None, f"{barcode} at {library.code}, due {loan.due_date}", identity.actor)
    return loan


def walk_in_loan(
    session: Session, identity: Identity, source_code: str, source_user_id: str, item_barcode: str, library_code: str
) -> tuple[Loan, User]:
    """CN-11: lend to a walk-in patron, creating the linked account first when there is none."""
    here = acting_institution(session, identity)
    demand(identity, P.LINKED_ACCOUNT_REFRESH, InInstitution(here.id))
    library = library_of(session, here, library_code)
    candidate = access_walk_in_patron(session, identity, source_code, source_user_id)
    user = find_linked_account(session, here.id, candidate.user.id)
    if user is None:
        user = link_walk_in(session, identity, candidate, refresh_existing=False).user
    return lend(session, identity, user, item_barcode, library), user


def loans_of(session: Session, user: User, *, limit: int, offset: int) -> tuple[list[Loan], int]:
    base = select(Loan).where(Loan.user_id == user.id)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = session.scalars(
        base.order_by(Loan.loan_date.desc(), Loan.id.desc())
        .limit(limit)
        .offset(offset)
        .options(selectinload(Loan.library))
    ).all()
    return list(rows), total


# --- history kinds and access-check objects ------------------------------------------------------


def rule_history(session: Session, identity: Identity, rule_id: str) -> HistoryScope | int | None:
    if rule_id.strip() == DEFAULT_RULE_ID:
        return rule_service.access_rules(session, identity).id
    rule = rule_service.access_rule(session, identity, rule_id)
    return HistoryScope(str(rule.id), rule.institution_id)


def table_history(session: Session, identity: Identity, table: str) -> HistoryScope | int | None:
    if table not in tables.TABLES:
        raise NotFound(f"Table {table} was not found; use one of {', '.join(tables.TABLES)}.", "402119")
    return tables.access_tables(session, identity).id


# --- abilities for the pages --------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkAbilities:
    """What the caller may do with the institution's network configuration and desk, for the pages:
    `edit` the rules and tables (else `view_message` says why), work the walk-in `desk`, `refresh`
    linked accounts and lend."""

    edit: bool
    view_message: str
    desk: bool
    refresh: bool


VIEW_MODE = "Opened in View mode due to insufficient editing privileges: {reason}"


def network_abilities(identity: Identity, institution_id: int) -> NetworkAbilities:
    place = InInstitution(institution_id)
    edit = decide(identity, P.NETWORK_CONFIG_EDIT, place)
    return NetworkAbilities(
        edit=edit.allowed,
        view_message="" if edit.allowed else VIEW_MODE.format(reason=edit.reason),
        desk=allows(identity, P.WALK_IN_FIND, place),
        refresh=allows(identity, P.LINKED_ACCOUNT_REFRESH, place),
    )


def partner_institutions(session: Session, institution_id: int) -> list[Institution]:
    """The institutions a rule's Source Institution may name (CN-2)."""
    return list(
        session.scalars(
            select(Institution).where(Institution.id.in_(partner_ids(institution_id))).order_by(Institution.code)
        )
    )

"""The collaborative network's demo data, handed over in its `Domain` (`build_network_demo`): every case of the seed.

- EAST has two rules before its default rule: "West walk-ins" (Source Institution = WEST: WALKIN,
  expiry the source's, purge one week after, refresh the expiry, resource sharing library EAST_MAIN,
  copy network blocks) and "North visitors" (Source Institution in NORTH: GUEST, absolute expiry, no
  copying). WEST has one rule for EAST's patrons (expiry one month after the source's).
- Restricted groups: WEST and EAST hide their GUEST patrons from the network.
- Shared fields: WEST does not share email addresses; NORTH does not share birth dates.
- Searchable identifiers: NORTH lists BARCODE (its side); EAST lists BARCODE, UNIV_ID and
  CONSORTIAL_ID (the searching side).
- WEST lets the network find its patrons by name; NORTH and EAST do not.
- Consortial ids: EAST and WEST use CONSORTIAL_ID, so Morgan Alvarez (east-patron-01 and
  west-patron-01) are joined as peers.
- Linked accounts in EAST: west-patron-02 (active), west-patron-05 (a network block, copied),
  west-patron-04 (expired), west-patron-03 (past its purge date), north-patron-02 (active); and a walk-in
  loan of west-patron-02.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import identity_of
from consortia.db import today
from consortia.network import rules, service, tables
from consortia.network.schemas import CodeRowIn, RuleIn, RuleOutputIn, SharedFieldIn
from consortia.platform.demo import DemoContext
from consortia.platform.models import Institution, User
from consortia.platform.parameters import set_parameter

RELATIVE_SAME = {"type": "RELATIVE", "offset": 0, "unit": "DAYS"}


def _rule(name: str, description: str, sources: list[str], operator: str, output: dict[str, Any]) -> RuleIn:
    return RuleIn.model_validate(
        {
            "name": name,
            "description": description,
            "input": [{"parameter": "source_institution", "operator": operator, "value": sources}],
            "output": output,
        }
    )


def build_network_demo(session: Session, context: DemoContext) -> None:
    east_users = identity_of(context.user("east-users"))
    east_admin = identity_of(context.user("east-admin"))
    west_users = identity_of(context.user("west-users"))
    west_admin = identity_of(context.user("west-admin"))
    desk = identity_of(context.user("east-desk"))
    institutions: dict[str, Institution] = context.institutions

    rules.create_rule(
        session,
        east_users,
        _rule(
            "West walk-ins",
            "Patrons of Western Tech borrow as walk-ins until their own account expires.",
            ["WEST"],
            "=",
            {
                "user_group": "WALKIN",
                "expiry": RELATIVE_SAME,
                "purge": {"type": "RELATIVE", "offset": 1, "unit": "WEEKS"},
                "refresh_expiry": True,
                "resource_sharing_library": "EAST_MAIN",
                "copy_network_blocks": True,
            },
        ),
    )
    rules.create_rule(
        session,
        east_users,
        _rule(
            "North visitors",
            "Northern College patrons are guests until the end of next year.",
            ["NORTH"],
            "in",
            {
                "user_group": "GUEST",
                "expiry": {"type": "ABSOLUTE", "date": dt.date(today().year + 1, 12, 31).isoformat()},
                "purge": {"type": "RELATIVE", "offset": 3, "unit": "MONTHS"},
            },
        ),
    )
    rules.set_default_rule(
        session,
        east_users,
        RuleOutputIn.model_validate({"user_group": "WALKIN", "expiry": RELATIVE_SAME}),
        "Every other walk-in patron.",
        version=None,
    )
    rules.create_rule(
        session,
        west_users,
        _rule(
            "Eastern patrons",
            "Eastern State patrons keep their access one month beyond their own expiry.",
            ["EAST"],
            "=",
            {
                "user_group": "WALKIN",
                "expiry": {"type": "RELATIVE", "offset": 1, "unit": "MONTHS"},
                "purge": {"type": "RELATIVE", "offset": 1, "unit": "MONTHS"},
            },
        ),
    )

    for identity in (west_users, east_users):
        tables.set_restricted_groups(session, identity, [CodeRowIn(code="GUEST", description="Visitors and guests")])
    tables.set_shared_fields(session, west_users, [SharedFieldIn(field="email", shared=False)])
    tables.set_searchable_identifiers(
        session,
        east_users,
        [CodeRowIn(code=code, description="") for code in ("BARCODE", "UNIV_ID", "CONSORTIAL_ID")],
    )
    set_parameter(session, west_admin, institutions["WEST"], "fulfillment_network_search_by_all", True)
    set_parameter(session, east_admin, institutions["EAST"], "consortial_id_type", "CONSORTIAL_ID")
    set_parameter(session, west_admin, institutions["WEST"], "consortial_id_type", "CONSORTIAL_ID")
    _north_tables(session, institutions["NORTH"])

    linked: dict[str, User] = {}
    for source, primary_id in (
        ("WEST", "west-patron-01"),  # a consortial-id peer of east-patron-01
        ("WEST", "west-patron-02"),
        ("WEST", "west-patron-03"),
        ("WEST", "west-patron-04"),
        ("WEST", "west-patron-05"),
        ("NORTH", "north-patron-02"),
    ):
        candidate = service.access_walk_in_patron(session, desk, source, primary_id)
        linked[primary_id] = service.link_walk_in(session, desk, candidate, refresh_existing=False).user
    start = today()
    linked["west-patron-04"].expiry_date = start - dt.timedelta(days=20)  # expired: a refresh re-applies the rule
    linked["west-patron-03"].expiry_date = start - dt.timedelta(days=60)
    linked["west-patron-03"].purge_date = start - dt.timedelta(days=53)  # Purge Linked Accounts removes it
    library = next(lib for lib in institutions["EAST"].libraries if lib.code == "EAST_MAIN")
    service.lend(session, desk, linked["west-patron-02"], "EAST-ITEM-0001", library)
    session.flush()


def _north_tables(session: Session, north: Institution) -> None:
    """NORTH has no staff in the demo: its tables are written as set-up, with the service's rules."""
    from consortia.network.models import SearchableIdentifier, SharedField

    if session.scalar(select(SharedField.id).where(SharedField.institution_id == north.id)) is None:
        session.add(SharedField(institution_id=north.id, field="birth_date", shared=False))
        session.add(SearchableIdentifier(institution_id=north.id, code="BARCODE", description="Library card"))
        session.flush()

"""The collaborative network's synthetic data for the benchmarks (N-4), its step of `consortia generate`
(`generate_network`, handed over in `network.domain`).

For the generated fulfillment network: every member lets the network search its patrons by name
(CN-7); each member keeps one linked-account rule for its first partner and a default rule with the
WALKIN group; odd-numbered members restrict GUEST patrons and list BARCODE and UNIV_ID as searchable
identifiers, so that the walk-in search meets non-empty tables on both sides.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from consortia.network.models import (
    LinkedAccountRule,
    RestrictedUserGroup,
    RuleList,
    SearchableIdentifier,
)
from consortia.network.rules import empty_date
from consortia.platform.generate import GenerationContext, Step
from consortia.platform.models import InstitutionParameter

STEP = "network:configuration"


def _configure_network(session: Session, context: GenerationContext) -> None:
    codes = context.network_institutions
    ids = [context.institutions[code] for code in codes]
    session.execute(
        insert(InstitutionParameter),
        [{"institution_id": i, "name": "fulfillment_network_search_by_all", "value": True} for i in ids],
    )
    output = {
        "user_group": "WALKIN",
        "expiry": {"type": "RELATIVE", "date": None, "offset": 0, "unit": "DAYS"},
        "purge": {"type": "RELATIVE", "date": None, "offset": 1, "unit": "WEEKS"},
        "refresh_expiry": False,
        "refresh_purge": False,
        "resource_sharing_library": None,
        "copy_network_blocks": False,
    }
    session.execute(
        insert(RuleList),
        [{"institution_id": i, "version": 1, "default_output": {**output, "expiry": empty_date(),
                                                                  "description": ""}} for i in ids],
    )  # fmt: skip
    rules = []
    for position, institution_id in enumerate(ids):
        partner = codes[(position + 1) % len(codes)]
        rules.append(
            {
                "institution_id": institution_id,
                "name": f"Walk-ins from {partner}",
                "description": "Generated.",
                "position": 1,
                "inputs": [{"parameter": "source_institution", "operator": "=", "value": [partner]}],
                "output": output,
                "version": 1,
            }
        )
    session.execute(insert(LinkedAccountRule), rules)
    odd = ids[::2]
    session.execute(
        insert(RestrictedUserGroup), [{"institution_id": i, "code": "GUEST", "description": "Guests"} for i in odd]
    )
    session.execute(
        insert(SearchableIdentifier),
        [{"institution_id": i, "code": code, "description": ""} for i in odd for code in ("BARCODE", "UNIV_ID")],
    )


def generate_network(context: GenerationContext, step: Step) -> None:
    """The collaborative network's one step: the configuration of the generated network's members."""
    step(STEP, _configure_network)

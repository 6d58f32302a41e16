"""Collaborative networks as a domain of the application: what they hand over (`consortia.domain.Domain`)."""

from __future__ import annotations

from consortia.access.permissions import Permission as P
from consortia.domain import Domain
from consortia.network import api, demo, generate, jobs, models, pages, policy, rules, service
from consortia.web.navigation import ADMINISTRATION, NavItem

NETWORK = Domain(
    name="network",
    models=(models,),
    grants=policy.GRANTS,
    job_kinds=jobs.KINDS,
    history_kinds={"rule": service.rule_history, "network_table": service.table_history},
    access_objects={"rule": rules.access_rule},
    navigation=(
        NavItem("Collaborative networks", "/network/rules", P.NETWORK_CONFIG_READ, group=ADMINISTRATION),
        # The circulation desk's own page: a link of its own in the header.
        NavItem("Walk-in desk", "/network/walk-in", P.WALK_IN_FIND),
    ),
    routers=(api.router, pages.router),
    demo=demo.build_network_demo,
    generate=generate.generate_network,
)

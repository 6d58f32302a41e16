"""The one list of the application's domains, and their assembly.

Every domain hands over its parts in a `Domain` (`consortia.domain`, made in the domain's own
`domain.py`). `assemble()` gives them to the machinery that needs them: the rules to the permission
map, the job kinds to the jobs' registry, the history and access-check kinds, the departure hooks and
the institution extras to their registries. Every process calls it before it works: the server
(`create_app`), every command of `consortia` (a worker included) and the tests; so a process never
depends on which modules happened to be imported. The app, the demo, the generator and the migrations
read the rest (routes, demo, generator, tables) from `DOMAINS`.

A new domain: make its `domain.py` and add its `Domain` here (ARCHITECTURE.md, "How a domain plugs in").
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.access import policy
from consortia.audit.registry import register_history_kind
from consortia.domain import Domain
from consortia.jobs.registry import register_job_kind
from consortia.platform.consortium_service import add_institution_extra
from consortia.platform.domain import PLATFORM
from consortia.platform.explain import register_access_object
from consortia.platform.user_service import register_departure_hook
from consortia.support.domain import SUPPORT

# In this order: the platform first (the demo and the generator build on what it made).
DOMAINS: tuple[Domain, ...] = (PLATFORM, SUPPORT)


def assemble(domains: Sequence[Domain] = DOMAINS) -> None:
    """Hand every domain's parts to the machinery. Idempotent: a part handed over again changes nothing;
    a conflicting one (a second set of rules for a permission, a job id or a kind taken) is an error."""
    for domain in domains:
        policy.grant(*domain.grants)
        for kind in domain.job_kinds:
            register_job_kind(kind)
        for name, resolve in domain.history_kinds.items():
            register_history_kind(name, resolve)
        for name, load in domain.access_objects.items():
            register_access_object(name, load)
        for hook in domain.departure_hooks:
            register_departure_hook(hook)
        for extra in domain.institution_extras:
            add_institution_extra(extra)

"""The one list of the application's domains, and their assembly.

Every domain hands over its parts in a `Domain` (`consortia.domain`, made in the domain's own
`domain.py`; the platform's is below). `assemble()` gives them to the machinery that needs them: the
rules to the permission map, the job kinds to the jobs' registry, the history and access-check kinds,
the departure hooks and the institution extras to their registries, the navigation entries to the
header. Every process calls it before it works: the server (`create_app`), every command of `consortia`
(a worker included), the tests and the benchmarks; so a process never depends on which modules happened
to be imported. The app, the demo, the generator and the migrations read the rest (routes, demo,
generator, tables) from `DOMAINS`.

A new domain: make its `domain.py` and add its `Domain` to `DOMAINS` (ARCHITECTURE.md, "How a domain plugs
in").
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.access import policy
from consortia.access.permissions import Permission as P
from consortia.almaws import conf as almaws_conf
from consortia.almaws import users as almaws_users
from consortia.audit.registry import register_history_kind
from consortia.domain import Domain
from consortia.eresources.domain import ERESOURCES
from consortia.jobs import schedules
from consortia.jobs.queue import add_periodic
from consortia.jobs.registry import register_job_kind
from consortia.network.domain import NETWORK
from consortia.platform import (
    account_pages,
    api,
    apikey_api,
    consortium_service,
    demo,
    generate,
    jobs,
    library_service,
    models,
    network_service,
    pages,
    parameters,
    sign_in_pages,
    user_keys_pages,
    user_list_pages,
    user_pages,
    user_roles_pages,
    user_service,
)
from consortia.platform.consortium_service import add_institution_extra
from consortia.platform.explain import register_access_object
from consortia.platform.user_service import register_departure_hook
from consortia.support.domain import SUPPORT
from consortia.web import navigation
from consortia.web.navigation import ADMINISTRATION, OPERATOR, NavItem

# The platform, the foundation every domain builds on, hands over its parts here (a domain built on it
# makes its `Domain` in its own `domain.py`), with the job machinery's one history kind (a job's schedule).
# Its permissions' rules are the permission map's own (`access.policy`), so it has no grants; its
# Alma-shaped routes (users, libraries, code tables) are the `almaws` faces of its verbs.
PLATFORM = Domain(
    name="platform",
    models=(models,),
    job_kinds=jobs.KINDS,
    history_kinds={
        "consortium": consortium_service.consortium_history,
        "institution": consortium_service.institution_history,
        "job_schedule": schedules.schedule_history_scope,
        "library": library_service.library_history,
        "network": network_service.network_history,
        "parameter": parameters.parameter_history,
        "user": user_service.user_history,
    },
    access_objects={
        "consortium": consortium_service.access_consortium,
        "institution": consortium_service.access_institution,
        "library": library_service.access_library,
        "network": network_service.access_network,
        "parameter": parameters.parameter_here,
        "user": user_service.access_user_named,
    },
    navigation=(
        NavItem("Consortia", "/operator/consortia", P.CONSORTIUM_MANAGE, operator_only=True, group=OPERATOR),
        NavItem("Institutions", "/operator/institutions", P.INSTITUTION_MANAGE, operator_only=True, group=OPERATOR),
        NavItem("Fulfillment networks", "/operator/networks", P.NETWORK_MANAGE, operator_only=True, group=OPERATOR),
        NavItem("Users", "/admin/users", P.USER_READ, group=ADMINISTRATION),
        # Shown to those who may change at least one parameter of the institution they work in.
        NavItem(
            "Parameters", "/admin/parameters", P.PARAMETER_EDIT, group=ADMINISTRATION, shown=parameters.may_change_some
        ),
    ),
    routers=(
        almaws_users.router,
        almaws_conf.router,
        api.router,
        apikey_api.router,
        pages.router,
        user_list_pages.router,
        user_pages.router,
        user_roles_pages.router,
        user_keys_pages.router,
        account_pages.router,
        sign_in_pages.router,
    ),
    demo=demo.build_platform_demo,
    generate=generate.generate_platform,
)

# In this order: the platform first (the demo and the generator build on what it made).
DOMAINS: tuple[Domain, ...] = (PLATFORM, SUPPORT, NETWORK, ERESOURCES)


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
    navigation.install([entry for domain in domains for entry in domain.navigation])
    add_periodic(schedules.run_due_schedules)

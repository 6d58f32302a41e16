"""The platform as a domain of the application: what it hands over (`consortia.domain.Domain`).

Its permissions' rules are the permission map's own (`access.policy`), so it hands over no grants.
Its Alma-shaped routes (users, libraries and code tables) are the `almaws` faces of its verbs.
"""

from __future__ import annotations

from consortia.almaws import conf as almaws_conf
from consortia.almaws import users as almaws_users
from consortia.domain import Domain
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
    user_pages,
    user_service,
)

PLATFORM = Domain(
    name="platform",
    models=models,
    job_kinds=jobs.KINDS,
    history_kinds={
        "consortium": consortium_service.consortium_history,
        "institution": consortium_service.institution_history,
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
    routers=(
        almaws_users.router,
        almaws_conf.router,
        api.router,
        apikey_api.router,
        pages.router,
        user_pages.router,
        account_pages.router,
    ),
    demo=demo.build_platform_demo,
    generate=generate.generate_platform,
)

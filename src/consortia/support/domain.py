"""The Support Center as a domain of the application: what it hands over (`consortia.domain.Domain`)."""

from __future__ import annotations

from consortia.domain import Domain
from consortia.support import (
    api,
    demo,
    generate,
    licences,
    models,
    pages,
    policy,
    registration,
    service,
    view_pages,
)

SUPPORT = Domain(
    name="support",
    models=models,
    grants=policy.GRANTS,
    history_kinds={"case": service.case_history_scope, "licence": licences.licence_history_scope},
    access_objects={"case": service.access_case},
    departure_hooks=(licences.contact_leaving,),
    institution_extras=(registration.REGISTRATION_LINK,),
    routers=(api.router, pages.router, view_pages.router),
    demo=demo.build_support_demo,
    generate=generate.generate_support,
)

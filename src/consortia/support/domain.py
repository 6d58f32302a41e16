"""The Support Center as a domain of the application: what it hands over (`consortia.domain.Domain`)."""

from __future__ import annotations

from consortia.access.permissions import Permission as P
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
from consortia.web.navigation import SUPPORT as SUPPORT_MENU
from consortia.web.navigation import NavItem

SUPPORT = Domain(
    name="support",
    models=(models,),
    grants=policy.GRANTS,
    history_kinds={"case": service.case_history_scope, "licence": licences.licence_history_scope},
    access_objects={"case": service.access_case},
    departure_hooks=(licences.contact_leaving,),
    institution_extras=(registration.REGISTRATION_LINK,),
    navigation=(
        NavItem("Support cases", "/support/cases", P.CASE_READ, group=SUPPORT_MENU),
        # The operator and an institution's General System Administrator, whatever their own Support
        # Center level (the case list, which also links here, needs one).
        NavItem("Support contacts", "/support/contacts", P.CONTACT_MANAGE, group=SUPPORT_MENU),
        NavItem("Support admin", "/support/admin", P.CASE_SHARING_MANAGE, operator_only=True, group=SUPPORT_MENU),
    ),
    routers=(api.router, pages.router, view_pages.router),
    demo=demo.build_support_demo,
    generate=generate.generate_support,
)

"""Electronic resources as a domain of the application: what they hand over (`consortia.domain.Domain`)."""

from __future__ import annotations

from consortia.access.permissions import Permission as P
from consortia.almaws import bibs as almaws_bibs
from consortia.almaws import electronic as almaws_electronic
from consortia.almaws import import_profiles as almaws_import_profiles
from consortia.almaws import sets as almaws_sets
from consortia.domain import Domain
from consortia.eresources import (
    acq_api,
    acq_pages,
    acquisitions,
    api,
    delete_pages,
    demo,
    exchange_api,
    exchange_pages,
    generate,
    import_api,
    import_models,
    import_pages,
    import_profiles,
    imports,
    jobs,
    models,
    pages,
    policy,
    portfolio_jobs,
    service,
    service_pages,
    sets,
    task_api,
    task_items,
    task_models,
    task_pages,
    tasks,
)
from consortia.eresources.policy import COLLECTION, PORTFOLIO
from consortia.web.navigation import NavItem

ERESOURCES = Domain(
    name="eresources",
    models=(models, task_models, import_models),
    grants=policy.GRANTS,
    job_kinds=(*jobs.KINDS, *portfolio_jobs.KINDS, *imports.KINDS),
    history_kinds={
        COLLECTION: service.collection_history,
        PORTFOLIO: service.portfolio_history,
        sets.SET: sets.set_history,
        acquisitions.PO_LINE_ITEM: acquisitions.po_line_item_history,
        import_profiles.PROFILE: import_profiles.profile_history,
        task_items.TASK: tasks.task_history,
    },
    access_objects={COLLECTION: service.access_scoped_collection, PORTFOLIO: service.access_scoped_portfolio},
    navigation=(NavItem("Electronic resources", "/eresources/portfolios", P.ERESOURCE_READ),),
    routers=(
        almaws_electronic.router,
        almaws_bibs.router,
        almaws_sets.router,
        almaws_import_profiles.router,
        api.router,
        task_api.router,
        acq_api.router,
        import_api.router,
        exchange_api.router,
        pages.router,
        service_pages.router,
        delete_pages.router,
        task_pages.router,
        acq_pages.router,
        import_pages.router,
        exchange_pages.router,
    ),
    demo=demo.build_eresources_demo,
    generate=generate.generate_eresources,
)

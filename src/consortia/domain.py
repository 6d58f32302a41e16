"""What a domain hands over to the application: every part that other code must know of, in one value.

A domain (the platform, the Support Center, collaborative networks, electronic resources) makes one
`Domain` in its own `domain.py`, and `consortia.domains` lists them, once. Nothing of a domain reaches
the application by being imported: `consortia.domains.assemble()` hands the parts below to the machinery
in every process (the server, a worker, a command, the tests), and the app, the demo, the generator and
the migrations read them from the list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from fastapi import APIRouter
from sqlalchemy.orm import Session

from consortia.access.policy import Grant
from consortia.audit.registry import Resolve
from consortia.jobs.registry import JobKind
from consortia.platform.consortium_service import InstitutionExtra
from consortia.platform.demo import DemoContext
from consortia.platform.explain import Load
from consortia.platform.generate import GenerationContext, Step
from consortia.platform.user_service import DepartureHook
from consortia.web.navigation import NavItem

BuildDemo = Callable[[Session, DemoContext], None]
Generate = Callable[[GenerationContext, Step], None]


@dataclass(frozen=True)
class Domain:
    """A domain's parts.

    - `models`: the modules of its tables, if it has any (migrations and `load_all_models` know every
      domain's);
    - `grants`: the rules of its permissions (a permission gets its rules from one domain only);
    - `job_kinds`: its kinds of background job;
    - `history_kinds`, `access_objects`: the things the history API and the access check may name
      (`kind` -> the function that fetches one with the caller's own read permission);
    - `departure_hooks`: what it settles when a user leaves the staff or is deleted;
    - `institution_extras`: what it adds to an institution's answer and pages;
    - `navigation`: its entries of the header's menus (`web.navigation`);
    - `routers`: its routes (`/api/v1`, pages, and Alma-shaped ones of its own);
    - `demo`: its part of `consortia demo`, on top of what the domains before it built;
    - `generate`: its steps of `consortia generate`, each run once through `step(name, run)`.
    """

    name: str
    models: Sequence[ModuleType] = ()
    grants: Sequence[Grant] = ()
    job_kinds: Sequence[JobKind] = ()
    history_kinds: Mapping[str, Resolve] = field(default_factory=dict)
    access_objects: Mapping[str, Load] = field(default_factory=dict)
    departure_hooks: Sequence[DepartureHook] = ()
    institution_extras: Sequence[InstitutionExtra] = ()
    navigation: Sequence[NavItem] = ()
    routers: Sequence[APIRouter] = ()
    demo: BuildDemo | None = None
    generate: Generate | None = None

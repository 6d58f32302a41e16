"""Every table of the application, so that the metadata is complete (migrations, `create_all` in tools):
the kernel's (history, jobs, the mail outbox) and each domain's (`Domain.models`)."""

from __future__ import annotations

from types import ModuleType

import consortia.audit.models
import consortia.jobs.models
import consortia.mail
from consortia.domains import DOMAINS


def load_all_models() -> list[ModuleType]:
    """The modules of every table (importing them, here and in `consortia.domains`, defines the tables)."""
    return [
        consortia.audit.models,
        consortia.jobs.models,
        consortia.mail,
        *(module for domain in DOMAINS for module in domain.models),
    ]

"""Imports every domain's tables so that the metadata is complete (migrations, `create_all` in tools)."""

from __future__ import annotations


def load_all_models() -> None:
    import consortia.audit.models
    import consortia.eresources.import_models
    import consortia.eresources.models
    import consortia.eresources.task_models
    import consortia.jobs.models
    import consortia.mail
    import consortia.network.models
    import consortia.platform.models
    import consortia.support.models  # noqa: F401

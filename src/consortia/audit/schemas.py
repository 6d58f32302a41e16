"""History rows as the API answers them (API.md's `event`): the history API and a case's history."""

from __future__ import annotations

from typing import Any

from consortia.audit.models import HistoryEvent
from consortia.formats import alma_datetime


def event_json(event: HistoryEvent) -> dict[str, Any]:
    """A history row as API.md's `event`."""
    return {
        "entity": event.entity,
        "id": event.entity_id,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "actor": event.actor,
        "at": alma_datetime(event.at),
        "job_instance": event.job_instance_id,
    }

"""The queue adapter (being written)."""

from __future__ import annotations

from typing import Any


def start_embedded(settings: Any) -> Any:
    return None

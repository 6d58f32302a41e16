"""How values are written in answers and read from requests, the same in `/almaws/v1`, `/api/v1` and the
schemas of every domain: dates and date-times as Alma writes them, coded values `{value, desc}`.

Plain functions over plain values (no HTTP here): a domain's `schemas.py` builds its `*_json` answers
with them, and the HTTP kit (`consortia.http`) sends those answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from consortia.errors import BadRequest


def alma_date(value: dt.date | None) -> str | None:
    """Dates as Alma writes them: `YYYY-MM-DDZ`."""
    return None if value is None else value.isoformat() + "Z"


def alma_datetime(value: dt.datetime | None) -> str | None:
    return (
        None
        if value is None
        else value.replace(microsecond=(value.microsecond // 1000) * 1000).isoformat(timespec="milliseconds") + "Z"
    )


def parse_alma_date(value: Any, field: str) -> dt.date | None:
    """Accept `YYYY-MM-DD` with or without Alma's trailing `Z`; "" and None mean no date."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD).", "40166411")
    text = value.strip().rstrip("Z")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD), not {value!r}.", "40166411") from None


def coded(value: str | None, desc: str | None = None) -> dict[str, Any]:
    return {"value": value or "", "desc": desc}


def reference(value: str | int | None, link: str | None) -> dict[str, Any]:
    return {"value": "" if value is None else str(value), "link": link}

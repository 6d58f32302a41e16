"""Text that no field may hold: the one check every entry point, verb and job parameter shares."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Text no field may hold: NUL and other control characters (tabs and line breaks excepted), which the
    databases disagree about, and lone surrogates (only a JSON escape carries one), which no database stores."""
    return _CONTROL.search(text) is not None

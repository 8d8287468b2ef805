"""Reading values out of a delivery's JSON, whose types no sender guarantees."""
from __future__ import annotations

from typing import Any


def text_or_none(value: Any) -> str | None:
    """A non-empty string or integer as text (ids come as either); None for anything else,
    booleans included (JSON `true` is not an id)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int)):
        text = str(value)
        return text if text else None
    return None

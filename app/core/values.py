"""Values as the app passes them around and shows them; no torch needed.

A value is what ``graph.to_value`` makes of a tensor: a float, a nested list of
floats, or for non-finite numbers the strings "nan", "inf" and "-inf", so that
it encodes as strict JSON. The web process formats values without importing
torch, which only the workers load.
"""

from __future__ import annotations

from typing import Union

Value = Union[float, str, list]


def format_value(value: Value | None, limit: int = 6) -> str:
    """A value as a student reads it: 72 rather than 72.0, lists cut after ``limit``."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [format_value(v, limit) for v in value[:limit]]
        if len(value) > limit:
            parts.append("...")
        return "[" + ", ".join(parts) + "]"
    return format(value, ".6g")

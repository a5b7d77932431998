"""Reports and evidence as JSON every database holds.

A hand-in's numbers are untrusted: NaN and ±inf reach reports through training curves and the
like. SQLite's JSON keeps them, PostgreSQL's refuses them (the whole write fails), so the store
writes them as null on both, and the same report reads back the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (recursively; tuples as lists)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

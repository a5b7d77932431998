"""Reports and evidence as JSON every database holds.

A hand-in's numbers are untrusted: NaN and ±inf reach reports through training curves and the
like. SQLite's JSON keeps them, PostgreSQL's refuses them (the whole write fails), so the store
writes them as null on both, and the same report reads back the same everywhere. A NumPy scalar
(a float32 NaN, an int64) is written as the plain number it is: the JSON encoder refuses it, and a
write that fails is retried as our fault until the reaper gives up, for what is the student's
result.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with every non-finite number replaced by None and NumPy's scalars by Python's
    (recursively; tuples as lists)."""
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        value = value.item()  # a NumPy scalar (or a 0-d array): its Python number or bool
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

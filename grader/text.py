"""Text from untrusted sources made safe to show in a terminal or a page."""

from __future__ import annotations

import re

#: C0 and C1 controls but tab and newline, and the format characters that reorder or hide text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
                      "\u2060-\u2069\ufeff]")


def printable(text: str, limit: int | None = None) -> str:
    """`text` without control or format characters (terminal escapes, bidi overrides), tabs
    and newlines kept; cut to `limit` characters."""
    if limit is not None:
        text = text[:limit]
    return _CONTROL.sub("", text)

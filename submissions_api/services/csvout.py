"""Every CSV the service hands out is written here, so every cell is safe in a spreadsheet and
a terminal: no control or format characters (terminal escapes, bidi overrides, NUL; tabs and
newlines stay inside quoted cells), and a text cell a spreadsheet would run as a formula (`=`,
`+`, `-`, `@` first) starts with `'`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from grader.text import printable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(text: object) -> str:
    """A text cell (a name, a login, a message): printable, never run as a formula."""
    value = printable("" if text is None else str(text))
    return "'" + value if value.startswith(FORMULA_START) else value


def number(value: object) -> str:
    """A number cell ("" for none): 95, 85.5, never a float's noise."""
    return "" if value in ("", None) else f"{float(value):g}"  # type: ignore[arg-type]


def write_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The CSV text of a header and rows; every string cell loses its control characters
    (text cells should come through `cell` as well, numbers through `number`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in (header, *rows):
        writer.writerow([printable(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()

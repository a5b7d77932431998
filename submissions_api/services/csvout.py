"""Every CSV the service hands out (pages, API, the command line's) is written here, so every
cell is safe in a spreadsheet and a terminal: no control or format characters (terminal escapes,
bidi overrides, NUL; tabs and newlines stay inside quoted cells), and a text cell a spreadsheet
would run as a formula (`=`, `+`, `-`, `@` first) starts with `'`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO

from grader.text import printable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(text: object) -> str:
    """A text cell (a name, a login, a message): printable, never run as a formula."""
    value = printable("" if text is None else str(text))
    return "'" + value if value.startswith(FORMULA_START) else value


def number(value: object) -> str:
    """A number cell ("" for none): 95, 85.5, never a float's noise."""
    return "" if value in ("", None) else f"{float(value):g}"  # type: ignore[arg-type]


class Writer:
    """A CSV writer onto a stream (the command line's stdout, row by row as rows are made) whose
    every string cell loses its control characters (text cells should come through `cell` as
    well, numbers through `number`)."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([printable(v) if isinstance(v, str) else v for v in row])

    def writerows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.writerow(row)


def write_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The CSV text of a header and rows, written by `Writer`."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()

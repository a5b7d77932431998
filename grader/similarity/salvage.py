"""What parses of a file that does not parse as a whole.

One hostile statement (100,000 unary minus signs, 3,000 nested `lambda:`) or a few broken lines
must not turn a whole copied file into raw tokens: raw tokens do not match the normalized tokens
the original was read into, so the copy would be hidden by the very line that broke the parse.
So the file is cut into its statements at the lowest indentation (a statement's `else:`,
`except:`, decorators and closing brackets stay with it), in batches of at most
`MAX_PARSE_BYTES`; a batch that does not parse is halved until the statements that break are
found (so a function that parses stays one unit), and such a statement is cut the same way inside
its block (its header line alone becomes raw text), down to the lines that break, which alone are
left to the caller as raw text. One bad statement among n costs about 2 log n parses per nesting
level (Python allows 100).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.similarity.rewrite import canonical

MAX_PARSE_BYTES = 256 * 1024
"""Text longer than this is not handed to the parser in one piece (the course's largest file is
under 20 KB, and parsing is the step whose cost grows faster than the text)."""
PARSE_FAILED = (SyntaxError, ValueError, RecursionError, MemoryError)
"""What parsing, rewriting or emitting hostile text raises (deep nesting: RecursionError, or
MemoryError out of the parser's own stack)."""
_JOINS = ("else", "elif", "except", "finally", "case")
_CLOSERS = (")", "]", "}")


@dataclass
class Pieces:
    """A file read piece by piece: parsed trees (line numbers as in the file) with their text,
    and the text of each piece that did not parse, with its first line."""

    trees: list[tuple[ast.Module, int, str]] = field(default_factory=list)
    raw: list[tuple[int, str]] = field(default_factory=list)


def parse_piece(text: str, first: int = 1) -> ast.Module:
    """The text parsed and made canonical, its lines numbered from `first`; one of
    `PARSE_FAILED` when it does not parse within the limits."""
    if len(text) > MAX_PARSE_BYTES:
        raise ValueError(f"longer than {MAX_PARSE_BYTES // 1024} KB")
    tree = canonical(ast.parse(text))
    return ast.increment_lineno(tree, first - 1) if first > 1 else tree


def salvage(text: str) -> Pieces:
    """The file's pieces: as few trees as its statements allow, and its unparsable pieces."""
    found = Pieces()
    _salvage(text.splitlines(), 1, found, depth=0)
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _statements(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(offset, lines dedented) of each statement at the block's lowest indentation."""
    indents = [_indent(line) for line in lines if _code(line)]
    if not indents:
        return []
    low = min(indents)
    starts = [0]
    for i, line in enumerate(lines):
        if i and _code(line) and _indent(line) == low and not line.lstrip().startswith(
                _JOINS + _CLOSERS) and not lines[starts[-1]].lstrip().startswith("@"):
            starts.append(i)
    bounds = zip(starts, [*starts[1:], len(lines)], strict=True)
    return [(a, [ln[low:] if _indent(ln) >= low else ln.lstrip() for ln in lines[a:b]])
            for a, b in bounds]


def _salvage(lines: list[str], first: int, found: Pieces, depth: int) -> None:
    batch: list[tuple[int, list[str]]] = []
    size = 0
    for offset, statement in _statements(lines):
        length = sum(len(line) + 1 for line in statement)
        if batch and size + length > MAX_PARSE_BYTES:
            _split(batch, first, found, depth)
            batch, size = [], 0
        batch.append((offset, statement))
        size += length
    if batch:
        _split(batch, first, found, depth)


def _split(statements: list[tuple[int, list[str]]], first: int, found: Pieces, depth: int
           ) -> None:
    """Parse the statements as one tree, or else each half alone (so one bad statement among n
    costs about 2 log n parses), down to the bad statement, which is cut inside its block."""
    start = first + statements[0][0]
    text = "".join(line + "\n" for _, statement in statements for line in statement)
    try:
        found.trees.append((parse_piece(text, start), start, text))
        return
    except PARSE_FAILED:
        pass
    if len(statements) > 1:
        half = len(statements) // 2
        _split(statements[:half], first, found, depth)
        _split(statements[half:], first, found, depth)
        return
    statement = statements[0][1]
    if len(statement) > 1 and depth < 100:
        found.raw.append((start, statement[0]))
        _salvage(statement[1:], start + 1, found, depth + 1)
    else:
        found.raw.append((start, text))

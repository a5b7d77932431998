"""The fallback fingerprint's tokens: a file that cannot be parsed, read by one regular expression.

`tokenize` is no fallback for hostile text: it stops at the first damage (an unclosed bracket,
an indentation error, Python 3.12's nesting limit), so whatever follows the damage would be
hidden. This lexer never stops: every alternative can match at any position (the last one takes
any single character), no alternative can fail after scanning far (an unterminated string ends at
its line or at the end of the text), so one pass is linear in the text whatever it holds. Names
become `V` (keywords kept), numbers `N`, strings `S`, like the parsed form's leaves.
"""

from __future__ import annotations

import keyword
import re

_LEX = re.compile(r"""
  (?P<skip>[ \t\f\r\n]+|\#[^\n]*|\\\n)
| (?P<str>[rRbBuUfF]{0,2}(?:
      '''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
    | '(?:[^'\\\n]|\\.)*'?
    | "(?:[^"\\\n]|\\.)*"?))
| (?P<num>\.?[0-9][0-9A-Za-z_.]*)
| (?P<name>[^\W\d]\w*)
| (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%@&|^<>=!]=|.)
""", re.VERBOSE | re.DOTALL)


def lex(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The normalized tokens of `text` and the 1-based line each starts on."""
    tokens: list[str] = []
    lines: list[int] = []
    line, counted = 1, 0
    for match in _LEX.finditer(text):
        kind = match.lastgroup
        if kind == "skip":
            continue
        start = match.start()
        line += text.count("\n", counted, start)
        counted = start
        value = match.group()
        if kind == "name":
            value = value if keyword.iskeyword(value) else "V"
        elif kind == "num":
            value = "N"
        elif kind == "str":
            value = "S"
        tokens.append(value)
        lines.append(line)
    return tuple(tokens), tuple(lines)

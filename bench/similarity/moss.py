"""The baseline: plain winnowing of raw tokens per hand-in (the MOSS method, with its base file).

Tokens come from `tokenize` as written (names, numbers and strings kept; comments, newlines and
indentation dropped, so whitespace and comments do not matter); k-grams are winnowed over each
file; fingerprints of the base code are removed; a pair scores the share of the smaller
hand-in's fingerprints that the other holds (MOSS ranks by the larger of its two percentages).
"""

from __future__ import annotations

import io
import tokenize

from grader.similarity.fingerprint import winnow

SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
        tokenize.ENCODING, tokenize.ENDMARKER}
K, WINDOW = 8, 5


def raw_tokens(text: str) -> tuple[list[str], list[int]]:
    tokens, lines = [], []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in SKIP:
                tokens.append(tok.string)
                lines.append(tok.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return tokens, lines


def prints(sources: dict[str, str]) -> frozenset[int]:
    found: set[int] = set()
    for text in sources.values():
        tokens, lines = raw_tokens(text)
        found |= set(winnow(tokens, lines, K, WINDOW))
    return frozenset(found)


def all_pairs(handins: dict[str, dict[str, str]], base: dict[str, str]) -> dict[tuple, float]:
    ignored = prints(base)
    held = {key: prints(sources) - ignored for key, sources in handins.items()}
    keys = list(held)
    scores = {}
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            small = min(len(held[a]), len(held[b]))
            scores[(a, b)] = len(held[a] & held[b]) / small if small else 0.0
    return scores

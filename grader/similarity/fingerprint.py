"""Winnowing fingerprints (Schleimer, Wilkerson and Aiken, 2003: the method MOSS uses).

Every k-gram of a unit's normalized tokens is hashed; in each window of `window` consecutive
k-gram hashes the smallest is kept (the rightmost of equal ones). Any run of at least
`k + window - 1` tokens that two units share therefore shares at least one fingerprint, and a
run shorter than k shares none. A fingerprint remembers the source lines its k-gram spans.
Hashes are the first 8 bytes of BLAKE2b: the same on every machine and process, so they can be
stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.similarity.tokens import Unit, handin_units


@dataclass(frozen=True)
class Settings:
    """How fingerprints are taken and pairs scored (the defaults are what docs/similarity.md
    measured)."""

    k: int = 12
    window: int = 6
    unit_share: float = 0.5
    """A unit counts as copied when at least this share of its fingerprints occurs in the other
    hand-in; below that its shared fingerprints are incidental (formulas everybody writes)."""
    min_shared: int = 8
    """A pair whose copied units hold fewer fingerprints than this is scaled down in proportion:
    a few shared lines are not evidence."""
    match_floor: float = 0.1
    """Matching regions are listed for pairs from this similarity up (below it they are the
    formulas everybody writes, and listing them is most of the cost of all pairs)."""


@dataclass(frozen=True)
class UnitPrint:
    """A unit's fingerprints: hash → (first line, last line) of one k-gram with that hash."""

    file: str
    name: str
    hashes: dict[int, tuple[int, int]]


@dataclass
class HandinPrint:
    """All fingerprints of one hand-in, unit by unit, and path → why for each file compared by
    its raw tokens (staff see it: such a file still counts, but survives fewer disguises)."""

    units: list[UnitPrint]
    problems: dict[str, str] = field(default_factory=dict)
    _all: frozenset[int] | None = field(default=None, repr=False)

    @property
    def hashes(self) -> frozenset[int]:
        if self._all is None:
            self._all = frozenset(h for u in self.units for h in u.hashes)
        return self._all

    def to_dict(self) -> dict:
        """JSON-able form (what the service stores)."""
        data: dict = {"units": [{"file": u.file, "name": u.name,
                                 "fp": [[h, a, b] for h, (a, b) in u.hashes.items()]}
                                for u in self.units]}
        if self.problems:
            data["problems"] = dict(self.problems)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> HandinPrint:
        return cls(units=[UnitPrint(file=u["file"], name=u["name"],
                                    hashes={h: (a, b) for h, a, b in u["fp"]})
                          for u in data["units"]],
                   problems=dict(data.get("problems") or {}))


def _hash(gram: Sequence[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits a signed 64-bit column


def winnow(tokens: Sequence[str], lines: Sequence[int], k: int, window: int
           ) -> dict[int, tuple[int, int]]:
    """The winnowed fingerprints of one token stream: hash → its k-gram's (first, last) line."""
    n = len(tokens) - k + 1
    if n <= 0:
        return {}
    grams = [_hash(tokens[i:i + k]) for i in range(n)]
    picked: dict[int, tuple[int, int]] = {}
    last = -1
    for start in range(max(1, n - window + 1)):
        span = grams[start:start + window]
        low = min(span)
        best = start + len(span) - 1 - span[::-1].index(low)  # the rightmost smallest
        if best != last:
            if low not in picked:
                seen = lines[best:best + k]
                picked[low] = (min(seen), max(seen))
            last = best
    return picked


MAX_PRINTS = 100_000
"""Fingerprints kept of one hand-in (the course's hand-ins have about 2,000): past it only the
smallest hashes are kept, the same rule on every hand-in, so a copied region keeps the
fingerprints it shares with its source (winnowing's "0 mod p" sampling) while a padded hand-in
cannot bloat the stored prints or the index."""


def print_units(units: list[Unit], settings: Settings = Settings()) -> HandinPrint:
    return HandinPrint(units=[
        UnitPrint(file=u.file, name=u.name,
                  hashes=winnow(u.tokens, u.lines, settings.k, settings.window))
        for u in units])


def _sampled(handin: HandinPrint) -> HandinPrint:
    every = sorted(h for u in handin.units for h in u.hashes)
    if len(every) <= MAX_PRINTS:
        return handin
    ceiling = every[MAX_PRINTS - 1]
    units = [UnitPrint(u.file, u.name, {h: s for h, s in u.hashes.items() if h <= ceiling})
             for u in handin.units]
    return HandinPrint(units=[u for u in units if u.hashes], problems={
        **handin.problems, "*": f"over {MAX_PRINTS} fingerprints: the smallest kept"})


def fingerprint(sources: dict[str, str], settings: Settings = Settings(),
                tokens_only: frozenset[str] = frozenset()) -> HandinPrint:
    """The fingerprints of a hand-in given as path → text (the `.py` files count), the files of
    `tokens_only` by their raw tokens. In this process: for a hand-in's text use
    `isolated.fingerprint_handin`, which runs this under limits."""
    units, problems = handin_units(sources, tokens_only)
    return _sampled(HandinPrint(units=print_units(units, settings).units, problems=problems))

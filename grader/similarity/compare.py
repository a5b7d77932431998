"""Scoring a pair of fingerprinted hand-ins, all pairs of many, and an index that adds one.

For each unit (function) of hand-in A, its share of fingerprints that also occur in B. A unit
whose share reaches `Settings.unit_share` counts as copied; the pair's similarity is the share of
A's fingerprints that lie in copied units, taken in the direction that gives more (so a hand-in
that copied one function and wrote little else scores high), scaled down when the copied units
hold fewer than `Settings.min_shared` fingerprints. Fingerprints of base code (the starter, or
what an instructor registers) are removed from both sides first, so they never count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.similarity.fingerprint import HandinPrint, Settings, UnitPrint


@dataclass(frozen=True)
class Match:
    """A region of A's file and the region of B's file it matches (1-based inclusive lines)."""

    a_file: str
    a_lines: tuple[int, int]
    b_file: str
    b_lines: tuple[int, int]

    def to_dict(self) -> dict:
        return {"a_file": self.a_file, "a_lines": list(self.a_lines), "b_file": self.b_file,
                "b_lines": list(self.b_lines)}


@dataclass(frozen=True)
class PairResult:
    """How similar hand-ins a and b are (0..1) and which regions match."""

    a: str
    b: str
    similarity: float
    matches: tuple[Match, ...]

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "similarity": round(self.similarity, 4),
                "matches": [m.to_dict() for m in self.matches]}


class Prepared:
    """A hand-in's fingerprints without the ignored ones, with lookups for scoring."""

    def __init__(self, handin: HandinPrint, ignored: frozenset[int]) -> None:
        self.units: list[tuple[UnitPrint, frozenset[int]]] = []
        for unit in handin.units:
            kept = frozenset(unit.hashes) - ignored
            if kept:
                self.units.append((unit, kept))
        self.hashes = frozenset().union(*(kept for _, kept in self.units))
        self.total = sum(len(kept) for _, kept in self.units)
        self.owners: dict[int, list[int]] = {}
        """hash → indices (in `units`) of the units holding it."""
        for index, (_, kept) in enumerate(self.units):
            for h in kept:
                self.owners.setdefault(h, []).append(index)


Copied = list[tuple[UnitPrint, frozenset[int], int]]


def _copied(side: Prepared, shared: frozenset[int], settings: Settings) -> Copied:
    """(unit, its shared fingerprints, its fingerprint count) of each unit that counts as
    copied."""
    out = []
    for unit, kept in side.units:
        if kept.isdisjoint(shared):
            continue
        common = kept & shared
        if len(common) >= settings.unit_share * len(kept):
            out.append((unit, common, len(kept)))
    return out


def _score(side: Prepared, copied: Copied, settings: Settings) -> float:
    if not side.total:
        return 0.0
    held = sum(len(common) for _, common, _ in copied)
    covered = sum(size for _, _, size in copied)
    return covered / side.total * min(1.0, held / settings.min_shared)


def _regions(a: Prepared, b: Prepared, copied: Copied) -> tuple[Match, ...]:
    """One match per copied unit of a: its lines and those of the unit of b it shares most
    with."""
    matches = []
    for unit, common, _ in copied:
        counts: dict[int, int] = {}
        for h in common:
            for index in b.owners.get(h, ()):
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            continue
        other = b.units[max(counts, key=counts.__getitem__)][0]
        hits = [h for h in common if h in other.hashes]
        a_spans = [unit.hashes[h] for h in hits]
        b_spans = [other.hashes[h] for h in hits]
        matches.append(Match(
            a_file=unit.file, a_lines=(min(s[0] for s in a_spans), max(s[1] for s in a_spans)),
            b_file=other.file, b_lines=(min(s[0] for s in b_spans), max(s[1] for s in b_spans))))
    return tuple(sorted(matches, key=_order))


def compare_prepared(a_key: str, a: Prepared, b_key: str, b: Prepared,
                     settings: Settings = Settings()) -> PairResult:
    shared = a.hashes & b.hashes
    if not shared:
        return PairResult(a_key, b_key, 0.0, ())
    a_copied = _copied(a, shared, settings)
    b_copied = _copied(b, shared, settings)
    a_score, b_score = _score(a, a_copied, settings), _score(b, b_copied, settings)
    if max(a_score, b_score) < settings.match_floor:
        return PairResult(a_key, b_key, max(a_score, b_score), ())
    if a_score >= b_score:
        return PairResult(a_key, b_key, a_score, _regions(a, b, a_copied))
    flipped = tuple(Match(m.b_file, m.b_lines, m.a_file, m.a_lines)
                    for m in _regions(b, a, b_copied))
    return PairResult(a_key, b_key, b_score, tuple(sorted(flipped, key=_order)))


def _order(m: Match) -> tuple:
    return (m.a_file, m.a_lines)


class Index:
    """Fingerprinted hand-ins by key: `add` scores a new one against all held so far (an
    inverted index from hash to keys skips the pairs that share nothing)."""

    def __init__(self, base: Iterable[HandinPrint] = (), settings: Settings = Settings()) -> None:
        self.settings = settings
        self.ignored = frozenset().union(*(b.hashes for b in base))
        self.held: dict[str, Prepared] = {}
        self.postings: dict[int, set[str]] = {}

    def add(self, key: str, handin: HandinPrint | Prepared) -> list[PairResult]:
        """Hold `handin` under key (replacing one of that key) and return its pairs with every
        other hand-in held (the other as `a`), highest first."""
        self.remove(key)
        prepared = handin if isinstance(handin, Prepared) else Prepared(handin, self.ignored)
        candidates: set[str] = set()
        for h in prepared.hashes:
            candidates |= self.postings.get(h, set())
        results = [compare_prepared(other, self.held[other], key, prepared, self.settings)
                   if other in candidates else PairResult(other, key, 0.0, ())
                   for other in self.held]
        self.hold(key, prepared)
        return sorted(results, key=lambda r: -r.similarity)

    def hold(self, key: str, prepared: Prepared) -> None:
        """Hold an already prepared hand-in (prepared with this index's `ignored`) without
        scoring it: the service's stored entries, whose pairs are stored already."""
        self.remove(key)
        self.held[key] = prepared
        for h in prepared.hashes:
            self.postings.setdefault(h, set()).add(key)

    def prepare(self, handin: HandinPrint) -> Prepared:
        return Prepared(handin, self.ignored)

    def remove(self, key: str) -> None:
        old = self.held.pop(key, None)
        if old is not None:
            for h in old.hashes:
                self.postings[h].discard(key)


def all_pairs(handins: dict[str, HandinPrint], base: Iterable[HandinPrint] = (),
              settings: Settings = Settings()) -> list[PairResult]:
    """Every pair of distinct hand-ins once, highest similarity first."""
    index = Index(base, settings)
    pairs: list[PairResult] = []
    for key, handin in handins.items():
        pairs.extend(index.add(key, handin))
    return sorted(pairs, key=lambda r: (-r.similarity, r.a, r.b))

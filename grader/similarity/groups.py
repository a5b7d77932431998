"""Similarity groups: the hand-ins linked by pairs at or above a threshold, as connected
components, so a solution copied by thirty students is one group of thirty-one and not 465 pairs.
Pure: (a, b, similarity) triples in, groups out."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def connected_groups(pairs: Iterable[tuple[K, K, float]], threshold: float) -> list[list[K]]:
    """The components of the graph of pairs from `threshold` up (two members at least), the
    largest first; members in first-seen order."""
    parent: dict[K, K] = {}

    def root(k: K) -> K:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b, similarity in pairs:
        if similarity >= threshold:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[rb] = ra
    members: dict[K, list[K]] = {}
    for k in parent:
        members.setdefault(root(k), []).append(k)
    return sorted(members.values(), key=len, reverse=True)

"""Similarity groups (grader/similarity/groups.py): connected components of the pairs at or above
the threshold, checked against hand-drawn graphs."""

from __future__ import annotations

from itertools import combinations

from grader.similarity.groups import connected_groups


def test_connected_groups_make_one_leaked_solution_copied_by_30_one_group():
    leak = [(0, i, 0.9) for i in range(1, 31)]  # everyone copied the leak, not each other
    pairs = leak + [(i, j, 0.95) for i, j in combinations(range(1, 31), 2)] + [(40, 41, 0.7)]
    groups = connected_groups(pairs, 0.5)
    assert [sorted(g) for g in groups] == [list(range(31)), [40, 41]]


def test_connected_groups_join_through_a_chain_and_ignore_pairs_below_threshold():
    pairs = [("a", "b", 0.8), ("b", "c", 0.6), ("c", "d", 0.49), ("e", "f", 0.2)]
    assert connected_groups(pairs, 0.5) == [["a", "b", "c"]]
    assert sorted(map(sorted, connected_groups(pairs, 0.0))) == [["a", "b", "c", "d"],
                                                                ["e", "f"]]
    assert connected_groups([], 0.5) == []

"""How well similarity detection finds the planted copies of bench/similarity's corpus.

    .venv/bin/python -m bench.similarity_quality [--seed N] [--threshold T]

Builds the corpus (five independent hand-ins and, from each, copies by every transformation at
three efforts plus partial copies), scores all pairs with our detector (default settings, the
starter as base) and with plain winnowing of raw tokens (bench/similarity/moss.py), and prints
per transformation: the lowest score of a planted (original, copy) pair, how many unrelated pairs
score at least that much, and the worst rank of a planted pair among all pairs; then precision
and recall over all related pairs at the threshold.
"""

from __future__ import annotations

import argparse
import time

from bench.similarity import corpus, moss
from grader.similarity import all_pairs, fingerprint


def ours(handins: list[corpus.Handin]) -> dict[tuple, float]:
    prints = {h.key: fingerprint(h.sources) for h in handins}
    pairs = all_pairs(prints, base=[fingerprint(corpus.starter())])
    return {tuple(sorted((p.a, p.b))): p.similarity for p in pairs}


def baseline(handins: list[corpus.Handin]) -> dict[tuple, float]:
    scores = moss.all_pairs({h.key: h.sources for h in handins}, corpus.starter())
    return {tuple(sorted(k)): v for k, v in scores.items()}


def table(handins: list[corpus.Handin], scores: dict[tuple, float]) -> list[tuple]:
    by_key = {h.key: h for h in handins}
    unrelated = sorted((s for (a, b), s in scores.items()
                        if not corpus.related(by_key[a], by_key[b])), reverse=True)
    ranked = sorted(scores.values(), reverse=True)
    rows = []
    for kind in dict.fromkeys(h.kind for h in handins if h.kind != "original"):
        planted = [scores[tuple(sorted((h.origin, h.key)))] for h in handins if h.kind == kind]
        low = min(planted)
        above = sum(1 for s in unrelated if s >= low)
        worst = sum(1 for s in ranked if s > low) + 1
        rows.append((kind, low, above, worst))
    return rows, unrelated[0]


def precision_recall(handins, scores, threshold):
    by_key = {h.key: h for h in handins}
    tp = fp = fn = 0
    for (a, b), s in scores.items():
        rel = corpus.related(by_key[a], by_key[b])
        tp += rel and s >= threshold
        fp += (not rel) and s >= threshold
        fn += rel and s < threshold
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11785)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    handins = corpus.build(args.seed)
    n = len(handins)
    related = sum(corpus.related(a, b) for i, a in enumerate(handins) for b in handins[i + 1:])
    print(f"corpus: {n} hand-ins, {n * (n - 1) // 2} pairs ({related} related: same original, "
          f"a part in common), seed {args.seed}")
    results = {}
    for name, method in (("ours", ours), ("winnowing", baseline)):
        start = time.perf_counter()
        scores = method(handins)
        results[name] = (scores, time.perf_counter() - start)
    rows = {name: table(handins, scores) for name, (scores, _) in results.items()}
    print("\n| transformation | ours: lowest planted | unrelated ≥ it | worst rank "
          "| winnowing: lowest planted | unrelated ≥ it | worst rank |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (kind, lo, above, worst), (_, blo, babove, bworst) in zip(rows["ours"][0],
                                                                rows["winnowing"][0], strict=True):
        print(f"| {kind} | {lo:.3f} | {above} | {worst} | {blo:.3f} | {babove} | {bworst} |")
    print()
    for name, (scores, seconds) in results.items():
        p, r = precision_recall(handins, scores, args.threshold)
        top = rows[name][1]
        print(f"{name}: highest unrelated pair {top:.3f}; at threshold {args.threshold}: "
              f"precision {p:.3f}, recall {r:.3f}; {seconds:.1f} s")


if __name__ == "__main__":
    main()

"""What similarity detection costs at class scale: all pairs of N hand-ins, and adding one.

    .venv/bin/python -m bench.similarity_cost [--handins 400] [--jobs 2]

The hand-ins are bench/similarity's corpus built with as many seeds as it takes (copies of five
originals: the worst case for the inverted index, since most pairs share fingerprints). The floor
is `ast.parse` of every file of every hand-in, measured in the same run: the machine is shared and
noisy, so each figure is also given as a multiple of it (the floor is the fastest of three).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import time

from bench.similarity import corpus
from grader.similarity import Index, all_pairs, fingerprint
from grader.similarity.isolated import fingerprint_many


def handins(count: int) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    seed = 1
    while len(found) < count:
        for handin in corpus.build(seed):
            if len(found) < count:
                found[f"{handin.key}@{seed}"] = handin.sources
        seed += 1
    return found


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handins", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sources = handins(args.handins + 1)
    extra_key, extra = sources.popitem()
    floor = min(timed(lambda: [ast.parse(t) for s in sources.values() for t in s.values()])[1]
                for _ in range(3))
    base = [fingerprint(corpus.starter())]
    prints, fp_time = timed(lambda: fingerprint_many(sources, jobs=args.jobs))
    pairs, pair_time = timed(lambda: all_pairs(prints, base))
    index = Index(base)
    for key, handin in prints.items():
        index.add(key, handin)
    adds = []
    for i in range(5):
        _, seconds = timed(lambda i=i: index.add(f"{extra_key}#{i}", fingerprint(extra)))
        index.remove(f"{extra_key}#{i}")
        adds.append(seconds)
    add = statistics.median(adds)
    total = fp_time + pair_time
    print(f"{args.handins} hand-ins, {len(pairs)} pairs, jobs={args.jobs}")
    print("| step | seconds | × floor |")
    print("| --- | --- | --- |")
    print(f"| floor: ast.parse of every file | {floor:.2f} | 1.0 |")
    print(f"| fingerprint every hand-in | {fp_time:.2f} | {fp_time / floor:.1f} |")
    print(f"| score all pairs | {pair_time:.2f} | {pair_time / floor:.1f} |")
    print(f"| all pairs from sources (goal ≤ 60 s) | {total:.2f} | {total / floor:.1f} |")
    print(f"| add one hand-in to {args.handins} (median of 5; goal ≤ 1 s) | {add:.3f} | "
          f"{add / floor:.2f} |")


if __name__ == "__main__":
    main()

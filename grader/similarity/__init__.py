"""Similarity detection between hand-ins (see docs/similarity.md).

`tokens` normalizes each function of a hand-in to tokens that survive renaming, reformatting,
reordering, dead code and equivalent rewrites (`rewrite`, `calls`); `fingerprint` winnows them;
`compare` scores pairs (base code removed) and keeps an index for incremental adds; `handins`
reads hand-ins and archives as the grader does; `baseline` is the plain MOSS-style method we
measure against. Pure: no web, database or queue.
"""

from grader.similarity.compare import Index, Match, PairResult, all_pairs
from grader.similarity.fingerprint import HandinPrint, Settings, fingerprint

__all__ = ["HandinPrint", "Index", "Match", "PairResult", "Settings", "all_pairs", "fingerprint"]

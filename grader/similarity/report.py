"""Comparing hand-ins named on the command line, and printing the result as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.rubric import Assignment
from grader.similarity.compare import Match, PairResult, all_pairs
from grader.similarity.fingerprint import HandinPrint, Settings, fingerprint
from grader.similarity.handins import read_sources
from grader.similarity.isolated import fingerprint_handin, fingerprint_many


def base_prints(assignment: Assignment, bases: list[str], settings: Settings = Settings()
                ) -> list[HandinPrint]:
    """The assignment's starter and every extra base hand-in, fingerprinted."""
    found = [fingerprint(read_sources(assignment.folder / "starter", assignment.handin),
                         settings)]
    found += [fingerprint_handin(read_sources(Path(b), assignment.handin), settings)
              for b in bases]
    return found


@dataclass(frozen=True)
class ClassRun:
    """Every pair of a run, highest first, and hand-in → {file: why} of the files that were
    compared by their raw tokens only (staff should know: they survive fewer disguises)."""

    pairs: list[PairResult]
    problems: dict[str, dict[str, str]] = field(default_factory=dict)


def compare_paths(paths: list[str], bases: list[str], assignment: Assignment, jobs: int = 1,
                  settings: Settings = Settings()) -> ClassRun:
    """Every pair of the hand-ins at `paths` (keys: the paths as given), highest first."""
    sources = {p: read_sources(Path(p), assignment.handin) for p in dict.fromkeys(paths)}
    prints = fingerprint_many(sources, settings, jobs)
    pairs = all_pairs(prints, base_prints(assignment, bases, settings), settings)
    order = {p: i for i, p in enumerate(sources)}
    return ClassRun(pairs=[p if order[p.a] < order[p.b] else _flip(p) for p in pairs],
                    problems={key: hp.problems for key, hp in prints.items() if hp.problems})


def _flip(pair: PairResult) -> PairResult:
    return PairResult(pair.b, pair.a, pair.similarity, tuple(
        Match(m.b_file, m.b_lines, m.a_file, m.a_lines) for m in pair.matches))


def to_json(run: ClassRun) -> str:
    return json.dumps({"pairs": [p.to_dict() for p in run.pairs], "problems": run.problems},
                      indent=1)


def render_table(run: ClassRun, top: int = 20) -> str:
    """The top pairs, one line each, with their matching regions under them; then the files
    compared by their tokens only."""
    lines = [_pairs_table(run.pairs, top)]
    if run.problems:
        lines.append("Files read in part or in whole by their raw tokens (or not at all):")
    for key, files in run.problems.items():
        for path, why in files.items():
            lines.append(f"  {key}: {path}: {why}")
    return "\n".join(lines)


def _pairs_table(pairs: list[PairResult], top: int) -> str:
    if not pairs:
        return "fewer than two hand-ins: nothing to compare"
    width = max(len(p.a) for p in pairs[:top]) + 2
    lines = [f"{'SIMILARITY':<12}{'A':<{width}}B"]
    for pair in pairs[:top]:
        lines.append(f"{pair.similarity:<12.2f}{pair.a:<{width}}{pair.b}")
        for m in pair.matches[:6]:
            lines.append(f"{'':<12}  {m.a_file}:{m.a_lines[0]}-{m.a_lines[1]}  ~  "
                         f"{m.b_file}:{m.b_lines[0]}-{m.b_lines[1]}")
        if len(pair.matches) > 6:
            lines.append(f"{'':<12}  ... {len(pair.matches) - 6} more regions")
    if len(pairs) > top:
        lines.append(f"({len(pairs) - top} more pairs; --top N or --format json for all)")
    return "\n".join(lines)

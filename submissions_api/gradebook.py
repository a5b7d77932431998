"""Gradebook rows and statistics, computed from plain rows (pure)."""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from submissions_api.policy import final_score

COLUMNS = ("login", "name", "score", "raw_score", "manual_score", "late_penalty", "max_score",
           "submission_id", "received_at", "late", "graded_submissions", "manual_pending",
           "status")
"""`score` = (`raw_score` + `manual_score`) × (1 − `late_penalty`); `max_score` counts the manual
points too; `manual_pending` says the counted submission still waits for a TA's manual points."""


@dataclass(frozen=True)
class Entry:
    login: str
    name: str
    submission_id: int | None
    received_at: datetime | None
    status: str | None
    raw_score: float | None
    """The automatic tests' score."""
    late_penalty: float
    late: bool
    manual_score: float | None = None
    manual_pending: bool = False


def choose(entries: list[Entry], policy: str) -> Entry | None:
    """The graded submission that counts: the best final score (ties: the earliest) or the latest."""
    graded = [e for e in entries if e.status == "graded" and e.raw_score is not None]
    if not graded:
        return None
    if policy == "latest":
        return max(graded, key=lambda e: e.submission_id)
    return max(graded, key=lambda e: (final_score(e.raw_score, e.late_penalty, e.manual_score),
                                      -e.submission_id))


def gradebook(students: dict[str, list[Entry]], *, policy: str, max_score: float
              ) -> list[dict[str, Any]]:
    rows = []
    for login, entries in sorted(students.items()):
        chosen = choose(entries, policy)
        graded = sum(1 for e in entries if e.status == "graded")
        name = entries[0].name if entries else ""
        if chosen is None:
            status = "no graded submission" if any(e.submission_id for e in entries) else \
                "no submission"
            rows.append({"login": login, "name": name, "score": "", "raw_score": "",
                         "manual_score": "", "late_penalty": "", "max_score": max_score,
                         "submission_id": "", "received_at": "", "late": "",
                         "graded_submissions": graded, "manual_pending": "", "status": status})
            continue
        rows.append({"login": login, "name": name,
                     "score": final_score(chosen.raw_score, chosen.late_penalty,
                                          chosen.manual_score),
                     "raw_score": chosen.raw_score,
                     "manual_score": "" if chosen.manual_score is None else chosen.manual_score,
                     "late_penalty": chosen.late_penalty,
                     "max_score": max_score, "submission_id": chosen.submission_id,
                     "received_at": chosen.received_at.isoformat(), "late": chosen.late,
                     "graded_submissions": graded, "manual_pending": chosen.manual_pending,
                     "status": "graded"})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def stats(rows: list[dict[str, Any]], summaries: list[dict[str, Any]],
          status_counts: dict[str, int]) -> dict[str, Any]:
    """Score distribution of the gradebook rows and per-test pass rates of the given run
    summaries (views.run_summary)."""
    scores = [r["score"] for r in rows if r["score"] != ""]
    summary: dict[str, Any] = {"students": len(rows), "graded_students": len(scores),
                               "submissions": status_counts}
    if scores:
        summary.update(manual_pending=sum(1 for r in rows if r["manual_pending"] is True),
                       mean=round(statistics.fmean(scores), 2),
                       median=statistics.median(scores), min=min(scores), max=max(scores),
                       full_marks=sum(1 for r in rows if r["score"] != "" and
                                      r["score"] >= r["max_score"]))
    tests: dict[str, dict[str, Any]] = {}
    for run in summaries:
        for t in run.get("tests", []):
            entry = tests.setdefault(t["id"], {"id": t["id"], "name": t["name"], "passed": 0,
                                               "graded": 0})
            entry["graded"] += 1
            entry["passed"] += bool(t["passed"])
    for entry in tests.values():
        entry["pass_rate"] = round(entry["passed"] / entry["graded"], 3)
    summary["tests"] = list(tests.values())
    return summary

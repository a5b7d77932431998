"""Pure summaries for the TA dashboard: one row per student, and failures grouped by message."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from submissions_api.policy import final_score

NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?")


def student_rows(pairs: Iterable[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """(user, submission | None) pairs → per student: latest and best final score, number of
    submissions, last time and whether the latest was late."""
    students: dict[str, dict[str, Any]] = {}
    for user, sub in pairs:
        row = students.setdefault(user.login, {
            "login": user.login, "name": user.name, "count": 0, "latest": None, "best": None,
            "last": None, "late": False, "latest_id": None})
        if sub is None:
            continue
        row["count"] += 1
        if row["last"] is None or sub.received_at >= row["last"]:
            row["last"], row["late"], row["latest_id"] = sub.received_at, sub.late, sub.id
            row["latest_status"] = sub.status
            row["latest"] = _final(sub) if sub.status == "graded" else None
        if sub.status == "graded" and sub.score is not None:
            score = _final(sub)
            row["best"] = score if row["best"] is None else max(row["best"], score)
    return sorted(students.values(), key=lambda r: r["login"])


def _final(sub: Any) -> float | None:
    """The score that counts: automatic tests plus manual points, after the late penalty."""
    return final_score(sub.score, sub.late_penalty, getattr(sub, "manual_score", None))


def common_failures(summaries: Sequence[dict[str, Any]], limit: int = 20) -> list[dict[str, Any]]:
    """The failing check messages most students share (from run summaries, views.run_summary),
    numbers blanked so that the same mistake with different values groups together."""
    counts: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    names: dict[str, str] = {}
    for summary in summaries:
        for test in summary.get("tests", []):
            if test.get("passed"):
                continue
            names[test["id"]] = test["name"]
            messages = test.get("messages") or ["failed"]
            for message in dict.fromkeys(NUMBER.sub("#", m) for m in messages):
                key = (test["id"], message)
                counts[key] += 1
                example.setdefault(key, next(m for m in messages if NUMBER.sub("#", m) == message))
    return [{"test": names[t], "test_id": t, "pattern": p, "example": example[(t, p)],
             "count": n} for (t, p), n in counts.most_common(limit)]

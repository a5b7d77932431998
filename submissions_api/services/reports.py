"""What each role sees of a stored grading report, and summaries across reports.

Students see per test: id, name, points, passed, status, feedback and the check messages; the
sandbox's verdict message; what intake kept and dropped. Staff see the whole report, including check
`details`, sandbox stderr and timings. Reports never hold golden (expected) values at all.
The small per-run summary class-wide views read (`run_summary`) is made by the store when a run is
recorded; `services/feedback.py` groups failures by cause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

STUDENT_TEST_FIELDS = ("id", "name", "points", "max_points", "passed", "status", "feedback")
STUDENT_INTAKE_FIELDS = ("files", "dropped", "missing", "notes", "refused")
NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?")


def student_report(report: dict[str, Any]) -> dict[str, Any]:
    """The student's view of a report (an allow-list: new TA fields stay hidden by default)."""
    tests = [{**{k: t.get(k) for k in STUDENT_TEST_FIELDS},
              "checks": [{"name": c.get("name"), "passed": c.get("passed"),
                          "message": c.get("message", "")} for c in t.get("checks", [])]}
             for t in report.get("tests", [])]
    manual = [{k: m.get(k) for k in ("id", "name", "max_points", "points", "comment")}
              for m in report.get("manual", [])]
    sandbox = report.get("sandbox") or {}
    intake = report.get("intake") or {}
    return {"assignment": report.get("assignment"), "score": report.get("score"),
            "max_score": report.get("max_score"), "tests": tests, "manual": manual,
            "sandbox": {"verdict": sandbox.get("verdict"), "message": sandbox.get("message", "")},
            "intake": {k: intake[k] for k in STUDENT_INTAKE_FIELDS if k in intake},
            "artifacts": list(report.get("artifacts", []))}


def report_for(report: dict[str, Any] | None, *, staff: bool) -> dict[str, Any] | None:
    """The whole report for staff, the student's allow-list otherwise (None: not graded yet)."""
    if report is None:
        return None
    return report if staff else student_report(report)


def manual_view(items: Sequence[dict[str, Any]], grades: Sequence[Any]) -> list[dict[str, Any]]:
    """The manual rubric items with the points and comment a TA recorded (None: not yet) and
    `given_on`, the submission the TA gave them on (they count with the one that counts)."""
    by_id = {g.item_id: g for g in grades}
    out = []
    for item in items:
        g = by_id.get(item["id"])
        out.append({"id": item["id"], "name": item["name"], "max_points": item["max_points"],
                    "points": g.points if g else None, "comment": g.comment if g else "",
                    "graded_at": g.graded_at if g else None,
                    "given_on": g.submission_id if g else None})
    return out


def test_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Tests whose points changed between two reports."""
    old = {t["id"]: t for t in (before or {}).get("tests", [])}
    changes = []
    for t in (after or {}).get("tests", []):
        prev = old.get(t["id"])
        if prev is None or prev["points"] != t["points"]:
            changes.append({"id": t["id"], "name": t["name"],
                            "before": prev["points"] if prev else None, "after": t["points"]})
    return changes

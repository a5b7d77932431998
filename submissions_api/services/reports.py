"""What each role sees of a stored grading report, and summaries across reports.

Students see per test: id, name, points, passed, status, feedback, and per check its message and
the `details` named in STUDENT_CHECK_DETAILS (dtype, shape, how many values differ and where, the
error as a power of ten of the tolerance, the hint); the sandbox's verdict message; what intake
kept and dropped. Staff see the whole report, including the details that with the student's own
output would give golden values away (the largest error in the values' units, a constant factor:
`grader.compare.STAFF_ONLY`), sandbox stderr and timings. Reports never hold golden values.
The small per-run summary class-wide views read (`run_summary`) is made by the store when a run is
recorded; `services/feedback.py` groups failures by cause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

STUDENT_TEST_FIELDS = ("id", "name", "points", "max_points", "passed", "status", "feedback")
STUDENT_INTAKE_FIELDS = ("files", "dropped", "missing", "notes", "refused")
STUDENT_CHECK_DETAILS = ("got_type", "expected_dtype", "got_dtype", "expected_shape", "got_shape",
                         "hint", "mismatches", "total", "share", "nan", "inf",
                         "mismatch_indices", "error_to_tolerance")
"""An allow-list: a detail the comparison adds later stays with staff until named here."""
NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?")


def student_report(report: dict[str, Any]) -> dict[str, Any]:
    """The student's view of a report (an allow-list: new TA fields stay hidden by default)."""
    tests = [{**{k: t.get(k) for k in STUDENT_TEST_FIELDS},
              "checks": [_student_check(c) for c in t.get("checks", [])]}
             for t in report.get("tests", [])]
    manual = [{k: m.get(k) for k in ("id", "name", "max_points", "points", "comment")}
              for m in report.get("manual", [])]
    sandbox = report.get("sandbox") or {}
    intake = report.get("intake") or {}
    return {"assignment": report.get("assignment"), "score": report.get("score"),
            "max_score": report.get("max_score"), "tests": tests, "manual": manual,
            "training_notes": training_notes(report),
            "sandbox": {"verdict": sandbox.get("verdict"), "message": sandbox.get("message", "")},
            "intake": {k: intake[k] for k in STUDENT_INTAKE_FIELDS if k in intake},
            "artifacts": list(report.get("artifacts", []))}


def _student_check(check: dict[str, Any]) -> dict[str, Any]:
    details = check.get("details") or {}
    return {"name": check.get("name"), "passed": check.get("passed"),
            "message": check.get("message", ""),
            "details": {k: details[k] for k in STUDENT_CHECK_DETAILS if k in details}}


def training_notes(report: dict[str, Any]) -> list[str]:
    """Why the training run drew no curves of the hand-in's own (it did not run to the end, or
    returned something else than four curves): the advisory checks' messages that say so, as the
    TA page shows them. Empty when the curves were drawn (or no training run happened yet)."""
    notes = []
    for item in report.get("manual", []):
        evidence = item.get("evidence") or {}
        if evidence.get("error"):
            notes.append("The training run failed on our side (not your code); a TA can run it "
                         "again.")
        notes += [c["message"] for c in evidence.get("checks", [])
                  if c.get("message") and not c.get("passed") and (c.get("name") == "ran"
                                              or str(c.get("name", "")).endswith(" shape"))]
    return notes


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

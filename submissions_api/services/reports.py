"""What each role sees of a stored grading report, and summaries across reports.

A view reads the stored report once (`read_report`: `GradeReport.from_dict`, which also loads
reports stored by earlier versions) and shows it to its reader: staff the whole report, including
the details that with the student's own output would give golden values away, sandbox stderr and
timings; a student the grader's student view (grader/student_view.py, beside the comparison that
knows which details are staff-only). Reports never hold golden values. The small per-run summary
class-wide views read (`store.summary.run_summary`) is made by the store when a run is recorded;
`services/feedback.py` groups failures by cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grader.results import GradeReport
from grader.student_view import student_view
from submissions_api.store.models_grading import GradingRun


def read_report(run: GradingRun | None) -> GradeReport | None:
    """A run's stored report (None: no run, or the run has no report: we failed to grade)."""
    return GradeReport.from_dict(run.report) if run is not None and run.report else None


def report_for(report: GradeReport | None, *, staff: bool) -> dict[str, Any] | None:
    """The whole report for staff, the student's view otherwise (None: not graded yet)."""
    if report is None:
        return None
    return report.to_dict() if staff else student_view(report)


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


def test_diff(before: GradeReport | None, after: GradeReport | None) -> list[dict[str, Any]]:
    """Tests whose points changed between two reports."""
    old = {t.id: t for t in before.tests} if before else {}
    changes = []
    for t in after.tests if after else ():
        prev = old.get(t.id)
        if prev is None or prev.points != t.points:
            changes.append({"id": t.id, "name": t.name,
                            "before": prev.points if prev else None, "after": t.points})
    return changes

"""What a student may see of a grading report: the student's view, made here beside the
comparison that knows which of a check's details would give golden values away
(`grader.compare.student_details`).

Per test: id, name, points, passed, status, feedback, and per check its message and the details a
student may see; per manual item its points and comment (not the TA's evidence); the sandbox's
verdict and message; what intake kept, dropped and found missing; why the training run drew no
curves of the hand-in's own. Everything else (the details that with the student's own output give
golden values away, sandbox stderr, timings, versions) stays with staff. An allow-list throughout:
a field added to the report later stays with staff until it is named here.
"""

from __future__ import annotations

from typing import Any

from grader.compare import student_details
from grader.results import GradeReport, OutputCheck, TestResult

INTAKE_FIELDS = ("files", "dropped", "missing", "notes", "refused")


def student_view(report: GradeReport) -> dict[str, Any]:
    """The student's view of a report, as plain JSON types (the API's and the pages' `result`)."""
    sandbox, intake = report.sandbox, report.intake
    return {"assignment": report.assignment, "score": report.score,
            "max_score": report.max_score, "tests": [_test(t) for t in report.tests],
            "manual": [{"id": m.id, "name": m.name, "max_points": m.max_points,
                        "points": m.points, "comment": m.comment} for m in report.manual],
            "training_notes": training_notes(report),
            "sandbox": {"verdict": sandbox.get("verdict"), "message": sandbox.get("message", "")},
            "intake": {k: intake[k] for k in INTAKE_FIELDS if k in intake},
            "artifacts": list(report.artifacts)}


def _test(test: TestResult) -> dict[str, Any]:
    return {"id": test.id, "name": test.name, "points": test.points,
            "max_points": test.max_points, "passed": test.passed, "status": test.status.value,
            "feedback": test.feedback, "checks": [_check(c) for c in test.checks]}


def _check(check: OutputCheck) -> dict[str, Any]:
    return {"name": check.name, "passed": check.passed, "message": check.message,
            "details": student_details(check.details)}


def training_notes(report: GradeReport) -> list[str]:
    """Why the training run drew no curves of the hand-in's own (it did not run to the end, or
    returned something else than four curves): the advisory checks' messages that say so, as the
    TA page shows them. Empty when the curves were drawn (or no training run happened yet)."""
    notes = []
    for item in report.manual:
        evidence = item.evidence or {}
        if evidence.get("error"):
            notes.append("The training run failed on our side (not your code); a TA can run it "
                         "again.")
        notes += [c["message"] for c in evidence.get("checks", [])
                  if c.get("message") and not c.get("passed") and (c.get("name") == "ran"
                                              or str(c.get("name", "")).endswith(" shape"))]
    return notes

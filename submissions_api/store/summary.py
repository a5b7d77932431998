"""The small summary of a grading report kept beside it, which class-wide views read."""

from __future__ import annotations

from typing import Any

from grader.results import GradeReport


def run_summary(report: GradeReport) -> dict[str, Any]:
    """What class-wide views need of a report, kept small beside it (a stored report is ~20 KB of
    JSON; reading 1,000 of them made the TA dashboard take seconds): per test its id, name,
    whether it passed and, when it failed, its status (ok: it ran, values were wrong) and the
    messages saying why. Plain JSON types (it is stored as it is)."""
    tests = []
    for t in report.tests:
        entry: dict[str, Any] = {"id": t.id, "name": t.name, "passed": t.passed}
        if not t.passed:
            messages = [c.message for c in t.checks if not c.passed and c.message]
            if not messages:  # the code did not run: the feedback's first line says why
                messages = [(t.feedback or t.status.value).splitlines()[0]]
            entry["messages"] = messages
            entry["status"] = t.status.value
        tests.append(entry)
    return {"tests": tests}

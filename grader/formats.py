"""Ways to print a GradeReport: the course's table, Autolab's scores line, Gradescope, JSON."""

from __future__ import annotations

import json
from typing import Any

from grader.results import GradeReport

FORMATS = ("table", "json", "autolab", "gradescope")


def _points(value: float) -> str:
    return f"{value:g}"


def render_feedback(report: GradeReport) -> str:
    """The feedback of every failed test, then what the sandbox said if the run did not finish."""
    blocks = []
    if report.intake.get("refused"):
        blocks.append(f"Your hand-in was not accepted: {report.intake['refused']}")
    for name in report.intake.get("missing", []):
        blocks.append(f"Missing from your hand-in: {name}")
    if report.sandbox.get("message"):
        blocks.append(report.sandbox["message"])
    for test in report.tests:
        if not test.passed:
            blocks.append(f"--- {test.name} ({_points(test.points)}/{_points(test.max_points)})\n"
                          f"{test.feedback}")
    return "\n\n".join(blocks)


def render_table(report: GradeReport) -> str:
    """The course's local grader table: TASK 40 wide, SCORE 10 wide, then TOTAL SCORE."""
    rule = "-" * 50
    lines = [rule, f"{'TASK':<40}{'SCORE':<10}", rule]
    lines += [f"{t.name:<40}{_points(t.points):<10}" for t in report.tests]
    lines += [rule, f"{'TOTAL SCORE':<40}{_points(report.score):<10}", rule]
    for item in report.manual:
        shown = "pending" if item.points is None else _points(item.points)
        lines.append(f"{item.name + ' (manual)':<40}{shown:<10}")
    return "\n".join(lines)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def autolab_line(report: GradeReport) -> str:
    """The course server's last line: {"scores": {display name: points}}."""
    return json.dumps({"scores": {t.name: _number(t.points) for t in report.tests}})


def gradescope_results(report: GradeReport) -> dict[str, Any]:
    """Gradescope's results.json: one entry per test with its feedback as output."""
    tests = [{"name": t.name, "number": t.id, "score": t.points, "max_score": t.max_points,
              "status": "passed" if t.passed else "failed", "output": t.feedback,
              "visibility": "visible"} for t in report.tests]
    return {"score": report.score, "output": render_feedback(report) or "All tests passed.",
            "tests": tests, "execution_time": round(sum(report.timings.values()), 2),
            "extra_data": {"golden_version": report.golden_version,
                           "manual_pending": [m.id for m in report.manual if m.points is None]}}


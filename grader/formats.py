"""Ways to print a GradeReport: the course's table, Autolab's scores line, Gradescope, JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from grader.feedback import cause_view, dependants, group_failures, render_causes
from grader.pointers import load_code
from grader.results import GradeReport
from grader.rubric import Assignment

FORMATS = ("table", "json", "autolab", "gradescope")


def _points(value: float) -> str:
    return f"{value:g}"


def report_causes(report: GradeReport, a: Assignment) -> list[dict[str, Any]]:
    """The report's failed tests grouped by cause, as `grader.feedback.cause_view`s (what the
    service adds to a result as `causes`); `a`, the assignment it grades."""
    names = {t.id: t.name for t in a.tests}
    tests = report.to_dict()["tests"]
    return [cause_view(c, names) for c in group_failures(tests, dependants(a), load_code(a))]


def render_feedback(report: GradeReport, a: Assignment) -> str:
    """What to fix first, then each cause's fix-first test in full (see `feedback_text`)."""
    return feedback_text(report.to_dict(), report_causes(report, a))


def feedback_text(result: Mapping[str, Any], causes: Sequence[Mapping[str, Any]]) -> str:
    """A result (a report as `to_dict` makes it, or the service's view of it) as the command
    line prints it, grouped by cause as the pages show it: what intake and the sandbox said,
    "What to fix first", then each cause's fix-first test's whole feedback, once."""
    intake, sandbox = result.get("intake") or {}, result.get("sandbox") or {}
    blocks = []
    if intake.get("refused"):
        blocks.append(f"Your hand-in was not accepted: {intake['refused']}")
    blocks += [f"Missing from your hand-in: {name}" for name in intake.get("missing") or []]
    blocks += list(intake.get("notes") or [])
    if sandbox.get("message"):
        blocks.append(sandbox["message"])
    if intake.get("refused"):  # every test failed for that one reason, said above
        return "\n\n".join(blocks)
    if causes:
        blocks.append(render_causes(causes))
    tests = {t["id"]: t for t in result.get("tests", [])}
    for cause in causes:
        test = tests.get(cause["fix_first"])
        rest = _beyond(test.get("feedback") or "", cause) if test else []
        if rest:
            blocks.append(f"--- {test['name']} ({_points(test['points'])}/"
                          f"{_points(test['max_points'])})\n" + "\n".join(rest))
    return "\n\n".join(blocks)


def _beyond(feedback: str, cause: Mapping[str, Any]) -> list[str]:
    """The lines of a fix-first test's feedback the cause's lines do not already say (more
    wrong outputs, a traceback, what the code printed); [] when there are none."""
    said = {cause.get(k) for k in ("message", "layer", "look")}
    lines = feedback.splitlines()
    rest = [line for line in lines[1:] if line not in said]
    return [lines[0], *rest] if rest else []


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


def gradescope_results(report: GradeReport, a: Assignment) -> dict[str, Any]:
    """Gradescope's results.json: one entry per test with its feedback as output."""
    tests = [{"name": t.name, "number": t.id, "score": t.points, "max_score": t.max_points,
              "status": "passed" if t.passed else "failed", "output": t.feedback,
              "visibility": "visible"} for t in report.tests]
    return {"score": report.score, "output": render_feedback(report, a) or "All tests passed.",
            "tests": tests, "execution_time": round(sum(report.timings.values()), 2),
            "extra_data": {"golden_version": report.golden_version,
                           "manual_pending": [m.id for m in report.manual if m.points is None]}}


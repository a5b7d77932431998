"""Grading reports made by hand, for tests of what the service does with one."""

from __future__ import annotations

from typing import Any

from grader.results import GradeReport


def made_report(score: float = 95.0, max_score: float = 95.0, **fields: Any) -> GradeReport:
    """A report of hw1p1-s20 with this score and these fields as `to_dict` writes them (tests,
    manual items and checks as dictionaries); the rest empty. A test needs only its id, name and
    whether it passed, a check its name and whether it passed."""
    tests = [{"points": 0.0, "max_points": 5.0, "feedback": "", **test,
              "checks": [{"message": "", **check} for check in test.get("checks", ())]}
             for test in fields.pop("tests", ())]
    return GradeReport.from_dict({"assignment": "hw1p1-s20", "golden_version": "g",
                                  "score": score, "max_score": max_score, "tests": tests,
                                  **fields})

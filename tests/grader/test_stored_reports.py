"""Reports stored by earlier versions still load and print as they did: the two reports in
tests/grader/stored/ are a real grading of the reference hand-in (with its training evidence) and
of a buggy one (three catalogue mistakes and a Tanh that raises), as `GradeReport.to_dict()` wrote
them in December 2026; `*-views.json` holds what that version showed of them."""

from __future__ import annotations

import json

import pytest

from grader.compare import STAFF_ONLY, STUDENT_DETAILS
from grader.formats import render_feedback, render_table
from grader.results import GradeReport, TestStatus
from grader.rubric import load_assignment
from tests.api.stored_views import STORED, stored

NAMES = ("reference-2026-12", "buggy-2026-12")


@pytest.mark.parametrize("name", NAMES)
def test_stored_report_loads_and_writes_back_the_same(name):
    data = stored(name)
    report = GradeReport.from_dict(data)
    assert json.loads(json.dumps(report.to_dict())) == data
    assert report.score == data["score"] and len(report.tests) == len(data["tests"]) == 25


@pytest.mark.parametrize("name", NAMES)
def test_stored_report_prints_as_before(name):
    views = json.loads((STORED / f"{name}-views.json").read_text())
    report = GradeReport.from_dict(stored(name))
    assert render_feedback(report, load_assignment(report.assignment)) == views["feedback"]
    assert render_table(report) == views["table"]


def test_stored_reports_cover_what_a_view_must_hide():
    # The buggy one holds staff-only details and a test that raised; the reference does not.
    buggy = stored("buggy-2026-12")
    details = [c["details"] for t in buggy["tests"] for c in t["checks"]]
    assert any("max_abs_error" in d for d in details)
    assert {t["status"] for t in buggy["tests"]} == {"ok", "error"}
    assert stored("reference-2026-12")["score"] == 95


def test_test_status_values_are_the_stored_strings():
    # The enum's values are the stored format: renaming one would orphan every stored report.
    assert [s.value for s in TestStatus] == ["ok", "error", "timeout", "crashed", "too_big",
                                             "output_limit", "malformed", "not_run"]
    report = GradeReport.from_dict(stored("buggy-2026-12"))
    assert {type(t.status) for t in report.tests} == {TestStatus}
    assert {type(t["status"]) for t in report.to_dict()["tests"]} == {str}  # plain JSON
    assert json.dumps(report.to_dict()["tests"][3]["status"]) == '"error"'


def test_every_detail_the_comparison_stored_is_for_students_or_for_staff():
    # A detail the comparison adds must be placed on one side of the border (compare.py).
    seen = {k for t in stored("buggy-2026-12")["tests"] for c in t["checks"] for k in c["details"]}
    assert seen <= set(STUDENT_DETAILS) | set(STAFF_ONLY)
    assert not set(STUDENT_DETAILS) & set(STAFF_ONLY)
    assert seen & set(STAFF_ONLY) and seen & set(STUDENT_DETAILS)

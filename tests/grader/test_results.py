"""GradeReport.to_dict / from_dict: one serializer, an exact round trip (also through JSON)."""

from __future__ import annotations

import json

from grader.results import GradeReport, ManualItem, OutputCheck, TrainingResult
from grader.results import TestResult as Result


def report() -> GradeReport:
    check = OutputCheck(name="dW", passed=False, message="`dW` has shape (3, 4), expected (4, 3)",
                        details={"expected_shape": [4, 3], "got_shape": [3, 4], "hint": None})
    tests = (Result(id="linear", name="Linear", points=0.0, max_points=2.0, passed=False,
                        feedback="1 of 1 outputs wrong.", checks=(check,), seconds=0.25),
             Result(id="mcq", name="MCQ", points=5.0, max_points=5.0, passed=True,
                        feedback=""))
    return GradeReport(assignment="hw1p1-s20", golden_version="abc123def456", score=5.0,
                       max_score=7.0, tests=tests,
                       manual=(ManualItem(id="training_statistics", name="Training",
                                          max_points=5),),
                       sandbox={"verdict": "completed", "runtime": {"numpy": "1.23.5"}},
                       intake={"files": ["hw1/hw1.py"], "dropped": [], "missing": []},
                       timings={"intake": 0.01, "run": 1.5}, grader_version="0.1.0")


def test_report_round_trip_is_exact():
    r = report()
    assert GradeReport.from_dict(r.to_dict()) == r


def test_report_round_trip_through_json_is_exact():
    r = report().with_training(TrainingResult(item_id="training_statistics",
                                              evidence={"checks": [], "curves": {"a": [1.0]}},
                                              plots={"a.png": b"\x89PNG"}))
    assert GradeReport.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_report_with_training_attaches_evidence_and_plot_names():
    result = TrainingResult(item_id="training_statistics", evidence={"checks": [{"name": "ran"}]},
                            plots={"b.png": b"2", "a.png": b"1"})
    r = report().with_training(result)
    assert r.manual[0].evidence == {"checks": [{"name": "ran"}]}
    assert r.artifacts == ("a.png", "b.png") and r.plots == {"a.png": b"1", "b.png": b"2"}
    doc = r.to_dict()
    assert doc["artifacts"] == ["a.png", "b.png"] and "plots" not in doc
    assert report().manual[0].evidence == {}  # the original is untouched (frozen)

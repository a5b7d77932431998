"""Grading whole hand-ins end to end (intake → sandboxed runner → comparison → score)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grader.errors import InfrastructureError
from grader.fixtures import make_tar, reference_files, starter_files
from grader.formats import autolab_line, gradescope_results, render_table
from grader.golden.canary import verify_golden
from grader.grade import grade_handin
from grader.rubric import load_assignment
from tests.handins import make_handin_tar

S20 = load_assignment("hw1p1-s20")


def grade(data: bytes, golden, sandbox, assignment=S20):
    return grade_handin(data, assignment=assignment, golden=golden, sandbox=sandbox)


def failed(report) -> set[str]:
    return {t.id for t in report.tests if not t.passed}


def test_grade_reference_scores_full_marks(golden_s20, sandbox):
    report = grade(make_handin_tar(), golden_s20, sandbox)
    assert report.score == report.max_score == 95
    assert all(t.passed and t.feedback == "" for t in report.tests)
    assert [m.id for m in report.manual] == ["training_statistics"]


def test_grade_is_deterministic(golden_s20, sandbox):
    data = make_handin_tar(bugs=("bn_unbiased_variance",))
    first, second = (grade(data, golden_s20, sandbox) for _ in range(2))
    strip = lambda r: [(t.id, t.points, t.feedback) for t in r.tests]  # noqa: E731 - a one-line projection, read where it is used
    assert strip(first) == strip(second)


def test_canary_passes_for_every_bundled_handin_s20(golden_s20, sandbox):
    result = verify_golden(S20, golden_s20, sandbox)
    bad = [c for c in result["cases"] if not c["ok"]]
    assert not bad, bad
    assert len(result["cases"]) >= 12


def test_canary_passes_s21_with_100_points(golden_s21, sandbox):
    a = load_assignment("hw1p1-s21")
    result = verify_golden(a, golden_s21, sandbox)
    assert result["passed"], [c for c in result["cases"] if not c["ok"]]
    assert result["cases"][0]["score"] == 100


def test_grade_starter_scores_zero_with_not_implemented_feedback(golden_s20, sandbox):
    report = grade(make_tar(starter_files(S20)), golden_s20, sandbox)
    assert report.score == 0
    assert any("Not implemented yet" in t.feedback for t in report.tests)


def test_grade_hang_costs_only_the_tests_it_touches(golden_s20, sandbox):
    quick = dataclasses.replace(S20, test_seconds=2.0)
    data = make_handin_tar({"mytorch/activation.py": ("class Tanh(Activation):",
                                                      "class Tanh(Activation):\n"
                                                      "    def __init__(self):\n"
                                                      "        while True:\n"
                                                      "            pass\n\n"
                                                      "class _Unused(Activation):")})
    report = grade(data, golden_s20, sandbox, quick)
    assert failed(report) == {"tanh_forward", "tanh_derivative"}
    assert report.score == 91
    timeout = next(t for t in report.tests if t.id == "tanh_forward")
    assert timeout.status == "timeout" and "more than 2 s of CPU time" in timeout.feedback


def test_grade_exception_feedback_shows_the_students_traceback(golden_s20, sandbox):
    data = make_handin_tar({"hw1/mc.py": ("def question_2():", "def question_2():\n    1 / 0")})
    report = grade(data, golden_s20, sandbox)
    mcq = next(t for t in report.tests if t.id == "mcq")
    assert failed(report) == {"mcq"}
    assert "ZeroDivisionError" in mcq.feedback and 'File "hw1/mc.py"' in mcq.feedback


def test_grade_missing_file_is_named_and_fails_only_its_tests(golden_s20, sandbox):
    files = reference_files(S20)
    del files["hw1/mc.py"]
    report = grade(make_tar(files), golden_s20, sandbox)
    assert failed(report) == {"mcq"}
    assert "hw1/mc.py is missing" in next(t for t in report.tests if t.id == "mcq").feedback


def test_grade_known_mistake_gets_its_hint(golden_s20, sandbox):
    report = grade(make_handin_tar(bugs=("linear_dw_summed",)), golden_s20, sandbox)
    back = next(t for t in report.tests if t.id == "linear_layer_backward")
    assert "batch size" in back.feedback


def test_formats_table_autolab_and_gradescope(golden_s20, sandbox):
    report = grade(make_handin_tar(bugs=("mc_wrong_answer",)), golden_s20, sandbox)
    table = render_table(report).splitlines()
    assert table[1] == f"{'TASK':<40}{'SCORE':<10}"
    assert f"{'TOTAL SCORE':<40}{'90':<10}" in table
    scores = json.loads(autolab_line(report))["scores"]
    assert scores["Multiple Choice Questions"] == 0 and scores["Momentum"] == 10
    assert len(scores) == 25
    gs = gradescope_results(report, S20)
    assert gs["score"] == 90 and len(gs["tests"]) == 25
    assert {t["status"] for t in gs["tests"]} == {"passed", "failed"}


@pytest.mark.parametrize("policy,points", [("pass_fail", 0.0), ("partial", 8.75)])
def test_partial_policy_credits_the_share_of_matching_outputs(golden_s20, sandbox, policy,
                                                              points):
    a = dataclasses.replace(S20, policy=policy)
    # dgamma averaged: of batch_norm_train's 8 outputs only dgamma is wrong → 7/8 of 10 points
    report = grade(make_handin_tar(bugs=("bn_dgamma_averaged",)), golden_s20, sandbox, a)
    bn = next(t for t in report.tests if t.id == "batch_norm_train")
    assert not bn.passed and bn.points == points


def test_grade_refuses_a_golden_set_of_another_assignment(golden_s21, sandbox):
    with pytest.raises(InfrastructureError, match="golden set is for hw1p1-s21, not hw1p1-s20"):
        grade(make_handin_tar(), golden_s21, sandbox)

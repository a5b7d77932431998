"""Feedback that finds the cause: one group per reason, and which test to fix first."""

from __future__ import annotations

import dataclasses

from grader.feedback import dependants, depends_from, group_failures
from grader.grade import grade_handin
from grader.rubric import load_assignment
from submissions_api.services.reports import student_report
from submissions_api.store.summary import run_summary
from tests.handins import make_handin_tar

S20 = load_assignment("hw1p1-s20")
DEPENDS = dependants(S20)


def graded_tests(data: bytes, golden, sandbox) -> list[dict]:
    report = grade_handin(data, assignment=S20, golden=golden, sandbox=sandbox)
    return [dataclasses.asdict(t) for t in report.tests]


def test_dependants_come_from_the_known_mistakes():
    assert depends_from(["a", "b", "c"], [frozenset("ab"), frozenset("abc")]) == {
        "a": frozenset("ab"), "b": frozenset("ab"), "c": frozenset("abc")}
    assert DEPENDS["mcq"] == {"mcq"}  # nothing builds on it
    assert "single_hidden_backward" in DEPENDS["sigmoid_derivative"]
    assert "sigmoid_derivative" not in DEPENDS["single_hidden_backward"]


def test_cascade_names_the_component_to_fix_first(golden_s20, sandbox):
    data = make_handin_tar(bugs=("sigmoid_derivative_reapplied",))
    tests = graded_tests(data, golden_s20, sandbox)
    failed = [t["id"] for t in tests if not t["passed"]]
    [cause] = group_failures(tests, DEPENDS)
    assert (cause.kind, cause.fix_first) == ("wrong", "sigmoid_derivative")
    assert list(cause.tests) == failed and len(failed) == 8
    # the same from the student's view of the report and from the stored run summary
    student = student_report({"tests": tests})["tests"]
    assert group_failures(student, DEPENDS) == [cause]
    [from_summary] = group_failures(run_summary({"tests": tests})["tests"], DEPENDS)
    assert (from_summary.fix_first, from_summary.tests) == (cause.fix_first, cause.tests)


def test_one_syntax_error_is_one_group(golden_s20, sandbox):
    data = make_handin_tar({"mytorch/linear.py": ("def forward(self, x):", "def forward(self, x)")})
    tests = graded_tests(data, golden_s20, sandbox)
    failed = [t for t in tests if not t["passed"]]
    # 16 tests fail, with one of two tracebacks
    assert len(failed) > 10 and len({t["feedback"] for t in failed}) == 2
    [cause] = group_failures(tests, DEPENDS)
    assert cause.kind == "error" and "SyntaxError" in cause.message
    assert cause.location.startswith("mytorch/linear.py:") and len(cause.tests) == len(failed)
    assert cause.fix_first == failed[0]["id"]


def test_two_mistakes_two_groups_biggest_first():
    tests = [{"id": t.id, "passed": t.id not in {"mcq", *DEPENDS["linear_layer_backward"]},
              "status": "ok", "feedback": "", "checks": [{"passed": False, "message": "dW x 20"}]}
             for t in S20.tests]
    causes = group_failures(tests, DEPENDS)
    assert [(c.fix_first, len(c.tests)) for c in causes] == [("linear_layer_backward", 10),
                                                              ("mcq", 1)]
    assert causes[0].pattern == "dW x #"

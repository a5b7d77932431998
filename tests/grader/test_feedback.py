"""Feedback that finds the cause: one group per reason, and which test to fix first."""

from __future__ import annotations

import dataclasses

from grader.feedback import Cause, cause_view, dependants, depends_from, group_failures
from grader.formats import render_feedback, report_causes
from grader.grade import grade_handin
from grader.rubric import load_assignment
from grader.student_view import student_view
from submissions_api.services.feedback import with_causes
from submissions_api.store.summary import run_summary
from tests.handins import make_handin_tar
from tests.reports import made_report

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
    student = student_view(made_report(tests=tests))["tests"]
    assert group_failures(student, DEPENDS) == [cause]
    [from_summary] = group_failures(run_summary(made_report(tests=tests))["tests"], DEPENDS)
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


SIGMOID_OTHERS = ("Batch Normalization (training time), Batch Normalization (inference time), "
                  "Single Hidden Layer (backward), N Hidden Layer (backward) 1, N Hidden Layer "
                  "(backward) 2, N Hidden Layer (backward) 3, Momentum")


def test_a_cascade_points_at_code_and_counts_only_the_others(golden_s20, sandbox):
    report = grade_handin(make_handin_tar(bugs=("sigmoid_derivative_reapplied",)),
                          assignment=S20, golden=golden_s20, sandbox=sandbox, training=False)
    [view] = report_causes(report, S20)
    assert view["look"] == "Look at `Sigmoid.derivative` in mytorch/activation.py."
    assert view["more"] == f"7 more tests build on it and fail too: {SIGMOID_OTHERS}."
    assert len(view["others"]) == 7 and view["fix_first_test"] not in view["others"]
    # a dependant's own feedback says which layer goes wrong first (the last layer's dW needs
    # no activation derivative, the one before it does), and names first the code no passing
    # test runs (the linear classifier's backward test passed: MLP and Linear's backward work)
    single = next(t for t in report.tests if t.id == "single_hidden_backward")
    assert "linear_layers[1] is right; the backward pass first goes wrong at linear_layers[0]. " \
           "Look at `Sigmoid.derivative` in mytorch/activation.py, then `MLP.backward` in " \
           "hw1/hw1.py" in single.feedback


def test_a_batch_norm_forward_mistake_points_at_batch_norm(golden_s20, sandbox):
    """A known mistake (the unbiased variance) and one of our own (the standard deviation kept
    as the variance) in batch norm's training forward: no test checks that forward's output,
    the gradients after it are all wrong, and the cause names BatchNorm.forward first."""
    own = {"mytorch/batchnorm.py": ("self.var = np.var(x, axis=0, keepdims=True)",
                                    "self.var = np.std(x, axis=0, keepdims=True)")}
    for data in (make_handin_tar(bugs=("bn_unbiased_variance",)), make_handin_tar(own)):
        report = grade_handin(data, assignment=S20, golden=golden_s20, sandbox=sandbox,
                              training=False)
        [view] = report_causes(report, S20)
        assert view["fix_first"] == "batch_norm_train", view
        assert view["look"].startswith("Look at `BatchNorm.forward` in mytorch/batchnorm.py"), \
            view
        assert view["layer"].endswith("so the mistake likely lies before that pass."), view


def test_the_command_line_groups_by_cause_once(golden_s20, sandbox):
    report = grade_handin(make_handin_tar(bugs=("linear_dw_summed",)), assignment=S20,
                          golden=golden_s20, sandbox=sandbox, training=False)
    text = render_feedback(report, S20)
    hint = "dW summed over the batch instead of averaged (divide by the batch size)."
    assert text == (
        "What to fix first:\n"
        "1. Linear Layer (Backward): `dW`: 7,840 of 7,840 values (100.0%) differ beyond "
        "rtol=0.0001, atol=1e-08, first at index [0, 0]; the largest error is up to 1,000,000x "
        f"the tolerance. Hint: this is exactly what we get with a known mistake: {hint}\n"
        "   Look at `Linear.backward` in mytorch/linear.py.\n"
        "   9 more tests build on it and fail too: Batch Normalization (training time), Batch "
        "Normalization (inference time), Linear Classifier (backward), Linear Classifier "
        "(step), Single Hidden Layer (backward), N Hidden Layer (backward) 1, N Hidden Layer "
        "(backward) 2, N Hidden Layer (backward) 3, Momentum.")
    assert text.count(hint) == 1
    # the service's view of the same report groups and words it the same
    assert with_causes("hw1p1-s20", report.to_dict())["causes"] == report_causes(report, S20)


def test_more_counts_one_other_test_in_the_singular():
    cause = Cause("wrong", "a", ("a", "b"), "m")
    assert cause_view(cause, {"a": "A", "b": "B"})["more"] == "1 more test builds on it and " \
        "fails too: B."
    error = Cause("error", "a", ("a", "b", "c"), "m", "x.py:3")
    assert cause_view(error, {})["more"] == "The same error fails 2 more tests: b, c."
    assert cause_view(Cause("wrong", "a", ("a",), "m"), {})["more"] == ""

"""Each failed test's cause (issue 13): the API's result groups failures (`causes`, fix-first
first) and names each failed test's group (`cause`), so the pages open one traceback per mistake
instead of one per test. Computed once (services/feedback.with_causes), for the viewer's own view
of the report; nothing is taken out of the per-test feedback."""

from __future__ import annotations

import pytest

from grader.formats import render_feedback
from grader.grade import grade_handin
from grader.results import GradeReport
from grader.rubric import load_assignment
from grader.student_view import student_view
from submissions_api.client import _print_result as print_result
from submissions_api.services.feedback import with_causes
from tests.api.test_feedback_roles import record_report
from tests.api.test_submissions import A, upload
from tests.handins import make_handin_tar

SLUG = "hw1p1-s20"
HANDINS = {"syntax": make_handin_tar({"mytorch/linear.py": ("def forward(self, x):",
                                                            "def forward(self, x)")}),
           "cascade": make_handin_tar(bugs=("sigmoid_derivative_reapplied",))}


@pytest.fixture(scope="module")
def reports(golden_s20, sandbox) -> dict[str, dict]:
    """The two hand-ins graded for real, once for the module."""
    return {name: grade_handin(data, assignment=SLUG, golden=golden_s20,
                               sandbox=sandbox).to_dict() for name, data in HANDINS.items()}


def test_one_syntax_error_is_one_cause_named_by_every_failed_test(reports):
    report = reports["syntax"]
    out = with_causes(SLUG, report)
    [cause] = out["causes"]
    failed = [t for t in out["tests"] if not t["passed"]]
    assert cause["kind"] == "error" and "SyntaxError" in cause["message"]
    assert cause["fix_first"] == failed[0]["id"] and cause["count"] == len(failed) > 10
    assert cause["fix_first_test"] == failed[0]["name"]
    assert {t["cause"] for t in failed} == {0}
    assert {t["cause"] for t in out["tests"] if t["passed"]} == {None}
    # a copy with every field kept: the stored report is unchanged
    assert "causes" not in report and "cause" not in report["tests"][0]
    assert [{k: v for k, v in t.items() if k not in ("cause", "where")} for t in out["tests"]] \
        == report["tests"]


def test_a_cascade_names_the_component_its_tests_build_on(reports):
    out = with_causes(SLUG, student_view(GradeReport.from_dict(reports["cascade"])))
    [cause] = out["causes"]
    assert (cause["kind"], cause["fix_first"], cause["count"]) == ("wrong", "sigmoid_derivative",
                                                                   8)
    assert cause["fix_first_test"] == "Sigmoid Non-Linearity (derivative)"
    assert [t["cause"] for t in out["tests"] if not t["passed"]] == [0] * 8
    # each test that got wrong values says where to look, the layer first when it can tell,
    # and the code no passing test runs first (the linear classifier's backward test passed)
    where = {t["id"]: t["where"] for t in out["tests"]}
    assert where["sigmoid_derivative"] == "Look at `Sigmoid.derivative` in mytorch/activation.py."
    assert where["single_hidden_backward"] == (
        "linear_layers[1] is right; the backward pass first goes wrong at linear_layers[0]. Look "
        "at `Sigmoid.derivative` in mytorch/activation.py, then `MLP.backward` in hw1/hw1.py, "
        "then `Linear.backward` in mytorch/linear.py.")
    assert where["sigmoid_forward"] == ""  # passed
    assert with_causes(SLUG, None) is None


@pytest.mark.parametrize("handin", ["syntax", "cascade"])
def test_api_result_keeps_feedback_and_adds_causes_for_student_and_staff(
        client, users, sessions, reports, handin):
    sub_id = upload(client, users, "alice").json()["id"]
    record_report(sessions, sub_id, reports[handin])
    for login in ("alice", "ta1"):
        result = client.get(f"{A}/submissions/{sub_id}", headers=users.headers(login)).json()[
            "result"]
        [cause] = result["causes"]
        failed = [t for t in result["tests"] if not t["passed"]]
        assert len(failed) == cause["count"] and {t["cause"] for t in failed} == {0}, login
        # the per-test messages are all still there (clients may rely on them)
        stored = {t["id"]: t["feedback"] for t in reports[handin]["tests"]}
        assert all(t["feedback"] == stored[t["id"]] for t in result["tests"]), login


def test_submit_prints_the_causes_as_the_page_and_grade_do(client, users, sessions, reports,
                                                           capsys):
    """`mlpgrade submit`'s printout of the API's result: grouped by cause, through the same
    renderer as `mlpgrade grade` (grader.formats.feedback_text), each hint once."""
    sub_id = upload(client, users, "alice").json()["id"]
    record_report(sessions, sub_id, reports["cascade"])
    sub = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice")).json()
    assert print_result(sub) == 0
    out = capsys.readouterr().out
    report = GradeReport.from_dict(reports["cascade"])
    assert out.startswith(render_feedback(report, load_assignment("hw1p1-s20")) + "\n\n")
    assert out.startswith(
        "What to fix first:\n1. Sigmoid Non-Linearity (derivative): `derivative()`: 600 of 600 "
        "values (100.0%) differ beyond rtol=0.0001")
    assert "   Look at `Sigmoid.derivative` in mytorch/activation.py.\n   7 more tests build on " \
           "it and fail too: Batch Normalization (training time)," in out
    assert out.count("the sigmoid derivative applied sigmoid again") == 1
    assert "TOTAL " + sub["score_text"] in out

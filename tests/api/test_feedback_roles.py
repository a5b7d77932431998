"""Feedback never hands a student the golden values (issue 11, item 9): with their own output
known to them, "largest error X at index i" or "every value is c times the expected one" would
give an expected value away. Students see which output, dtype, shape, how many values differ
and where, the error as a power of ten of the tolerance, and hints; staff see the numbers."""

from __future__ import annotations

import numpy as np

from grader.compare import STAFF_ONLY, STUDENT_DETAILS, compare_output
from grader.results import GradeReport
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from tests.api.test_submissions import A, upload

RNG = np.random.default_rng(7)
EXPECTED = RNG.normal(size=(4, 5))
TOL = {"rtol": 1e-5, "atol": 1e-8}


def _record(sessions, sub_id: int, checks) -> None:
    tests = [{"id": f"t{i}", "name": f"T{i}", "points": 0.0, "max_points": 5.0, "passed": False,
              "feedback": " ".join(c.message for c in [check]), "status": "ok", "seconds": 0.1,
              "checks": [{"name": check.name, "passed": check.passed, "message": check.message,
                          "details": check.details}]} for i, check in enumerate(checks)]
    record_report(sessions, sub_id, {"assignment": "hw1p1-s20", "golden_version": "g1",
                                     "score": 0.0, "max_score": 95.0, "grader_version": "0",
                                     "tests": tests})


def record_report(sessions, sub_id: int, report: dict) -> None:
    """`report` (as `GradeReport.to_dict` writes it) as the submission's graded run, as a worker
    records it."""
    with sessions() as session:
        sub = crud.get_submission(session, submission_id=sub_id)
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1, owner="w",
                                          lease_seconds=30)
        session.commit()
        assert lifecycle.record_graded(session, submission=sub, attempt=1, owner="w",
                                       report=GradeReport.from_dict(report),
                                       started_at=utcnow())
        session.commit()


def _digits(value: float) -> list[str]:
    """The ways a number could be printed: 3 to 6 significant digits, as %g and as %f."""
    return [f"{value:.{n}g}" for n in range(3, 7)] + [f"{abs(value):.{n}f}" for n in (3, 4)]


def test_student_feedback_holds_no_number_that_gives_golden_values_away(client, users, sessions):
    off_one = EXPECTED.copy()
    off_one[2, 3] += 0.731
    scaled = EXPECTED * 1.2345  # an unknown constant factor: its value would give them all
    checks = [compare_output("dW", EXPECTED, off_one, **TOL),
              compare_output("db", EXPECTED, scaled, **TOL)]
    sub_id = upload(client, users, "alice").json()["id"]
    _record(sessions, sub_id, checks)

    student = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("alice"))
    text = student.text
    for number in [*_digits(0.731), *_digits(1.2345), *_digits(1 / 1.2345)]:
        assert number not in text, number
    for value in EXPECTED.ravel():
        assert all(d not in text for d in _digits(float(value))[:2]), value
    first, second = (t["checks"][0] for t in student.json()["result"]["tests"])
    assert first["message"] == ("`dW`: 1 of 20 values (5.0%) differ beyond rtol=1e-05, "
                                "atol=1e-08, first at index [2, 3]; the largest error is up to "
                                f"{10 ** first['details']['error_to_tolerance']:,}x the "
                                "tolerance.")
    assert first["details"]["mismatches"] == 1 and first["details"]["mismatch_indices"] == [[2, 3]]
    assert not set(first["details"]) & set(STAFF_ONLY)
    assert "same constant multiple" in second["message"]
    assert second["details"]["mismatches"] == 20

    staff = client.get(f"{A}/submissions/{sub_id}", headers=users.headers("ta1")).json()
    staff_first, staff_second = (t["checks"][0] for t in staff["result"]["tests"])
    assert staff_first["details"]["max_abs_error"] == np.float64(0.731).item() or \
        abs(staff_first["details"]["max_abs_error"] - 0.731) < 1e-12
    assert staff_first["details"]["max_error_index"] == [2, 3]
    assert abs(staff_second["details"]["constant_factor"] - 1.2345) < 1e-9


def test_student_details_allow_list_excludes_every_staff_only_fact():
    assert not set(STUDENT_DETAILS) & set(STAFF_ONLY)

"""The training path is as hostile-proof as the tests (issue 11, item 7): curves holding NaN,
inf or 1e308 are the student's result (the "finite" check fails), recorded once, stored on
PostgreSQL as on SQLite (a non-finite value as null), plotted after clipping; and a training
run the reaper keeps re-sending is capped, then failed with the reason for the TA."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.results import GradeReport
from grader.training.evidence import PLOT_LIMIT
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import utcnow
from tests.handins import make_handin_tar
from tests.reports import made_report
from tests.worker.test_grading import ctx, runs, submit  # noqa: F401 - ctx: the fixture
from worker.grading import grade_submission
from worker.reaper import reap_once
from worker.training import train_run

RETURN = "    return training_losses, training_errors, validation_losses, validation_errors"
ATTACKS = {
    "nan": "training_losses[:] = np.nan",
    "inf": "validation_losses[::2] = np.inf; validation_errors[1] = -np.inf",
    "huge": "training_losses[:] = 1e308; validation_losses[:] = -1e308",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_training_curves_nan_inf_huge_are_the_students_result(ctx, attack):  # noqa: F811 - fixture
    data = make_handin_tar({"hw1/hw1.py": (RETURN, f"    {ATTACKS[attack]}\n{RETURN}")})
    sub_id = submit(ctx, data)
    assert grade_submission(ctx, submission_id=sub_id, attempt=1, owner="w1") == "graded"
    [run] = runs(ctx, sub_id)
    assert run.score == 95.0  # the automatic tests do not call get_training_stats
    assert train_run(ctx, run_id=run.id) == "done"
    [run] = runs(ctx, sub_id)
    assert run.training == "done"
    [item] = run.report["manual"]
    checks = {c["name"]: c["passed"] for c in item["evidence"]["checks"]}
    assert checks["shapes"] is True
    assert checks["finite"] is (attack == "huge")  # 1e308 is finite: its losses do not fall
    assert checks["agrees with its own network"] is False
    curves = item["evidence"]["curves"]
    if attack == "nan":
        assert curves["training_losses"] == [None] * len(curves["training_losses"])
    if attack == "inf":
        assert curves["validation_losses"][0] is None and curves["validation_errors"][1] is None
    if attack == "huge":
        assert curves["training_losses"][0] == 1e308 and PLOT_LIMIT < 1e308
    assert sorted(run.artifacts) == ["training_errors.png", "training_losses.png",
                                     "validation_errors.png", "validation_losses.png"]
    with ctx.sessions() as session:
        assert all(crud.get_blob(session, sha256=sha)[:4] == b"\x89PNG"
                   for sha in run.artifacts.values())


def test_reaper_resends_a_training_run_a_capped_number_of_times(ctx):  # noqa: F811 - fixture
    sub_id = submit(ctx, make_handin_tar())
    with ctx.sessions() as session:  # graded; its training runs keep vanishing (a dead worker)
        assert lifecycle.claim_submission(session, submission_id=sub_id, attempt=1, owner="w",
                                          lease_seconds=60)
        session.commit()
        sub = crud.get_submission(session, submission_id=sub_id)
        run = lifecycle.record_graded(session, submission=sub, attempt=1, owner="w",
                                      report=_report(), started_at=utcnow(), training=True)
        session.commit()
        run_id = run.id
    resent = []
    for _ in range(ctx.settings.infra_retries + 3):
        ctx.dispatcher.app.control.purge()  # the message is lost again
        later = utcnow() + timedelta(seconds=ctx.settings.requeue_after + 1)
        resent += reap_once(ctx, now=later)["training"]
    assert resent == [run_id] * ctx.settings.infra_retries
    [run] = runs(ctx, sub_id)
    assert run.training == "failed" and run.training_tries == ctx.settings.infra_retries
    [item] = run.report["manual"]
    assert "never finished" in item["evidence"]["error"]


def _report() -> GradeReport:
    return made_report(manual=[{"id": "training_statistics", "name": "Training",
                                "max_points": 5.0}])

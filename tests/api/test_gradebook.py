"""Gradebook choice (best or latest, penalties applied), policy functions and the migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from submissions_api.grades import Entry, final_score
from submissions_api.services.gradebook import gradebook, stats
from submissions_api.services.policy import classify, limit_refusal, window_for
from submissions_api.store.migrate import downgrade, upgrade
from submissions_api.store.models import Base
from submissions_api.store.summary import run_summary
from tests.reports import made_report

T0 = datetime(2020, 2, 1, tzinfo=UTC)


def entry(sub_id, score, penalty=0.0, status="graded"):
    return Entry("alice", "Alice", sub_id, T0 + timedelta(hours=sub_id), status, score, penalty,
                 penalty > 0)


def test_gradebook_best_applies_penalty_before_choosing():
    students = {"alice": [entry(1, 80.0), entry(2, 95.0, penalty=0.25), entry(3, 10.0),
                          entry(4, None, status="failed")], "bob": []}
    best = {r["login"]: r for r in gradebook(students, policy="best", max_score=95)}
    assert best["alice"]["submission_id"] == 1 and best["alice"]["score"] == 80.0  # 95×0.75<80
    latest = {r["login"]: r for r in gradebook(students, policy="latest", max_score=95)}
    assert latest["alice"]["submission_id"] == 3 and latest["alice"]["score"] == 10.0
    assert best["bob"]["status"] == "no submission" and best["bob"]["score"] == ""
    report = made_report(tests=[
        {"id": "lin", "name": "Linear", "passed": False, "feedback": "",
         "checks": [{"name": "dW", "passed": False, "message": "dW shape"}]},
        {"id": "mcq", "name": "MCQ", "passed": True, "checks": []}])
    summary = stats(list(best.values()), [run_summary(report), run_summary(report)],
                    {"graded": 3})
    assert summary["graded_students"] == 1 and summary["mean"] == 80.0
    assert summary["submissions"] == {"graded": 3}
    assert [(t["id"], t["pass_rate"]) for t in summary["tests"]] == [("lin", 0.0), ("mcq", 1.0)]
    assert run_summary(report)["tests"][0]["messages"] == ["dW shape"]


def test_policy_windows_and_extensions():
    deadline, late = T0, T0 + timedelta(days=2)
    w = window_for(deadline=deadline, late_deadline=late, penalty=0.1)
    assert classify(deadline, w).late is False
    assert classify(deadline + timedelta(seconds=1), w).penalty == 0.1
    assert not classify(late + timedelta(seconds=1), w).accepted
    ext = window_for(deadline=deadline, late_deadline=late, penalty=0.1,
                     extension_deadline=deadline + timedelta(days=3))
    assert ext.late_deadline == deadline + timedelta(days=5)  # keeps the 2-day grace
    assert classify(deadline + timedelta(days=1), ext).late is False
    assert final_score(95.0, 0.1) == 85.5 and final_score(None, 0.5) is None


def test_policy_limit_and_cooldown():
    now = T0
    assert limit_refusal(counted=3, last_received=None, limit=3, cooldown_seconds=0, now=now)
    assert limit_refusal(counted=2, last_received=None, limit=3, cooldown_seconds=0,
                         now=now) is None
    wait = limit_refusal(counted=0, last_received=now - timedelta(seconds=10), limit=None,
                         cooldown_seconds=60, now=now)
    assert wait and wait[1] == 51


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_match_models_and_downgrade(kind, request, tmp_path):


    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("postgres_databases").fresh()  # cloned, migrated
    engine = create_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
    downgrade(url)
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)

"""What the service shows of reports stored by earlier versions is what it showed then: each
role's view (with its failures grouped by cause), the run summary class-wide views read, and the
submission page's result part rendered from them (tests/grader/stored/)."""

from __future__ import annotations

import json

import pytest

from submissions_api.services.feedback import with_causes
from submissions_api.services.reports import read_report, report_for
from submissions_api.store.models_grading import GradingRun
from submissions_api.store.summary import run_summary
from tests.api.stored_views import STORED, result_html, stored

NAMES = ("reference-2026-12", "buggy-2026-12")


def _views(name: str) -> dict:
    report = read_report(GradingRun(report=stored(name)))
    views = {"student": with_causes("hw1p1-s20", report_for(report, staff=False)),
             "staff": with_causes("hw1p1-s20", report_for(report, staff=True)),
             "summary": run_summary(report)}
    return json.loads(json.dumps(views, default=str))


@pytest.mark.parametrize("name", NAMES)
def test_stored_report_views_are_as_before(name):
    before = json.loads((STORED / f"{name}-views.json").read_text())
    now = _views(name)
    for key in ("student", "staff", "summary"):
        assert now[key] == before[key], key


@pytest.mark.parametrize("name", NAMES)
def test_stored_report_pages_are_as_before(name):
    before = json.loads((STORED / f"{name}-pages.json").read_text())
    now = _views(name)
    for role in ("student", "staff"):
        assert result_html(now[role]) == before[role], role


def test_stored_student_view_hides_the_staff_only_details():
    view = _views("buggy-2026-12")["student"]
    shown = json.dumps(view)
    assert "max_abs_error" not in shown and "constant_factor" not in shown
    assert "max_abs_error" in json.dumps(_views("buggy-2026-12")["staff"])

"""The views the service makes of a stored report, rendered as the pages render them: what
tests/api/test_stored_reports.py pins for reports stored by earlier versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from submissions_api.main import TEMPLATES_DIR
from submissions_api.pages.base import ENUMS, points, ticks
from submissions_api.services.sources import link_places, link_traceback

STORED = Path(__file__).resolve().parents[1] / "grader" / "stored"
RESULT = """{% from "macros.html" import task_table, feedback, causes_box %}
{{ task_table(result.tests, result.score, result.max_score) }}
{{ causes_box(result.causes) }}
{% for t in result.tests if not t.passed %}{{ feedback(t, causes=result.causes) }}{% endfor %}"""


def stored(name: str) -> dict[str, Any]:
    """A report as an earlier version stored it (GradeReport.to_dict(), through JSON)."""
    return json.loads((STORED / f"{name}.json").read_text())


def result_html(result: dict[str, Any]) -> str:
    """A submission page's result part (the task table, "What to fix first", each failed
    test's feedback), rendered from the service's view of a report."""
    env = Jinja2Templates(directory=str(TEMPLATES_DIR)).env
    env.filters.update(points=points, ticks=ticks, tblinks=link_traceback, look=link_places)
    env.globals.update(ENUMS)
    return env.from_string(RESULT).render(result=result)

"""The small summary of a grading report kept beside it, which class-wide views read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """What class-wide views need of a stored report (`GradeReport.to_dict()`), kept small beside
    it (a report is ~20 KB of JSON; reading 1,000 of them made the TA dashboard take seconds): per
    test its id, name, whether it passed and, when it failed, its status (ok: it ran, values
    were wrong) and the messages saying why."""
    tests = []
    for t in report.get("tests", []):
        entry = {"id": t["id"], "name": t["name"], "passed": bool(t.get("passed"))}
        if not entry["passed"]:
            messages = [c["message"] for c in t.get("checks", [])
                        if not c.get("passed") and c.get("message")]
            if not messages:  # the code did not run: the feedback's first line says why
                first = (t.get("feedback") or t.get("status") or "failed").splitlines()
                messages = [first[0] if first else "failed"]
            entry["messages"] = messages
            entry["status"] = t.get("status", "ok")
        tests.append(entry)
    return {"tests": tests}

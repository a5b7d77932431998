"""Failures grouped by cause (grader.feedback) for the pages and the API: one submission's causes,
with the test to fix first, each failed test's cause, and the class's common causes counted by
students.

Each submission's groups come from the report the viewer may see (the student's view for a
student), so a group shows no more than the per-test feedback does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from grader.feedback import cause_view, dependants, group_failures
from grader.pointers import TestCode, load_code, point
from grader.results import TestStatus
from submissions_api.store import rubrics


@cache
def _depends(slug: str) -> dict[str, frozenset[str]]:
    return dependants(rubrics.assignment(slug))


@cache
def _code(slug: str) -> dict[str, TestCode]:
    return load_code(rubrics.assignment(slug))


@cache
def test_names(slug: str) -> dict[str, str]:
    """test id → the name students see."""
    return {t.id: t.name for t in rubrics.assignment(slug).tests}


def causes(slug: str, tests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The failed tests of one report (or run summary) grouped by cause, fix-first first, as
    `grader.feedback.cause_view` words them (the command line shows the same)."""
    names = test_names(slug)
    return [cause_view(c, names) for c in group_failures(tests, _depends(slug), _code(slug))]


def with_causes(slug: str, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A report (or the student's view of it) with its failures grouped: `causes` as causes()
    gives them, and on each test `cause`, the index of its group in `causes` (None for a passed
    test), and `where`, the code to look at for its wrong values ("" if none). The pages show
    a test's feedback in full only in its group's fix-first test. A copy: the stored report is
    not changed."""
    if result is None:
        return None
    tests = result.get("tests", [])
    groups = group_failures(tests, _depends(slug), _code(slug))
    index = {test: i for i, cause in enumerate(groups) for test in cause.tests}
    names = test_names(slug)
    passed = {t["id"] for t in tests if t.get("passed")}
    return {**result, "causes": [cause_view(c, names) for c in groups],
            "tests": [{**t, "cause": index.get(t["id"]), "where": _where(slug, t, passed)}
                      for t in tests]}


def _where(slug: str, test: Mapping[str, Any], passed: set[str]) -> str:
    """For a test that ran and got wrong values: the layer they first go wrong at and the code
    to look at (grader.pointers, knowing which tests of the report passed); "" otherwise."""
    if test.get("passed") or test.get("status", TestStatus.OK) != TestStatus.OK \
            or not test.get("checks"):
        return ""
    pointer = point(_code(slug), test["id"], test["checks"], passed)
    return pointer.text if pointer else ""


def cluster_key(kind: str, fix_first: str, signature: str) -> str:
    """A failure cluster's short stable name (in links and hints): its cause's kind, fix-first
    test, and location (an error's path:line) or message pattern (numbers blanked)."""
    text = json.dumps([kind, fix_first, signature])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def clusters(slug: str, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One run summary's failure clusters: its causes (causes()), each once, with `key`
    (cluster_key) and `signature`."""
    found: dict[str, dict[str, Any]] = {}
    for cause in causes(slug, summary.get("tests", [])):
        signature = cause["location"] or cause["pattern"]
        key = cluster_key(cause["kind"], cause["fix_first"], signature)
        found.setdefault(key, {**cause, "key": key, "signature": signature})
    return list(found.values())


def count_clusters(per_student: Iterable[Sequence[Mapping[str, Any]]], limit: int | None = 20
                   ) -> list[dict[str, Any]]:
    """The clusters most students share, from each student's clusters (clusters()): `students`
    is how many students have the cluster (not how many tests or outputs fail), the message one
    example, `tests` the tests it fails for the first student seen."""
    groups: dict[str, dict[str, Any]] = {}
    for found in per_student:
        for cluster in found:
            group = groups.setdefault(cluster["key"], {**cluster, "students": 0})
            group["students"] += 1
    ranked = sorted(groups.values(), key=lambda g: (-g["students"], -g["count"]))
    return ranked if limit is None else ranked[:limit]


def common_causes(slug: str, summaries: Sequence[Mapping[str, Any]], limit: int = 20
                  ) -> list[dict[str, Any]]:
    """The clusters most students share, from the counted run summaries (one per student)."""
    return count_clusters((clusters(slug, s) for s in summaries), limit)

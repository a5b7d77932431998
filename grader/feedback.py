"""Feedback that finds the cause: failed tests grouped by the one reason they fail for, and which
group to fix first when one mistake cascades into many tests.

Two kinds of groups:
- the code did not run (an exception, a timeout, a crash): tests whose feedback begins the same
  way and points at the same line of the hand-in are one cause (the same SyntaxError in 14 tests
  is one group);
- the code ran and gave wrong values: a mistake in one component fails the tests of everything
  built on it. Which tests depend on which comes from the assignment's known mistakes
  (`bugs.toml`): test B depends on test A when every known mistake that fails A also fails B.
  The failed test whose dependants explain the most other failures is the one to fix first.

A wrong-values cause also says where to look: the hand-in's file, class and method, and the first
layer that goes wrong, from the assignment's code.toml (grader.pointers). `cause_view` words a
cause once for every reader: the pages' "What to fix first" lays out its fields, and
`render_causes` prints them for `mlpgrade grade` and `mlpgrade submit`.

Pure functions over report dictionaries (`GradeReport.to_dict()["tests"]`, or the student's view
of them, or the stored run summaries): no web, no database. The messages shown are the tests' own
(the student sees nothing here that their per-test feedback does not already show).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.fixtures import load_bugs
from grader.pointers import CodeMap, Place, Pointer, point
from grader.results import TestStatus
from grader.rubric import Assignment

NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?")
ERROR_STARTS = ("Your code", "Not implemented", "This test did not", "The results of this test")
"""How the grader's feedback begins when a test's code did not run to the end."""
LOCATION = re.compile(r'File "([^"]+)", line (\d+)|\(([\w./-]+\.py), line (\d+)\)')
"""A traceback's `File "path", line N`, or a SyntaxError's `(file.py, line N)`."""

Depends = Mapping[str, frozenset[str]]
"""test id → the tests that fail whenever it fails for a known mistake (itself included)."""


class CauseKind(enum.StrEnum):
    """Why a group of tests fails (a cause's `kind` in views and templates)."""

    ERROR = "error"
    """The code did not run to the end (a test status other than ok)."""
    WRONG = "wrong"
    """It ran, and values were wrong."""


@dataclass(frozen=True)
class Cause:
    """Failed tests that share one reason."""

    kind: CauseKind
    fix_first: str
    """The test to look at: fixing it is expected to fix the others of the group."""
    tests: tuple[str, ...]
    """Every failed test of the group, in rubric order (fix_first among them)."""
    message: str
    """Why, in one line: the fix_first test's first message."""
    location: str = ""
    """`path:line` of the hand-in where an error was raised, when the traceback says."""
    pattern: str = field(default="", compare=False)
    """The message with numbers blanked: the same mistake with other values groups together."""
    places: tuple[Place, ...] = field(default=(), compare=False)
    """For wrong values: the code to look at, likeliest first (grader.pointers)."""
    layer: str = field(default="", compare=False)
    """For wrong values: which layer they first go wrong at, when the fix-first test can tell."""


def dependants(assignment: Assignment) -> dict[str, frozenset[str]]:
    """Which tests depend on which, from the assignment's known mistakes (see the module doc)."""
    bugs = [frozenset(b.fails) for b in load_bugs(assignment) if b.fails]
    return depends_from([t.id for t in assignment.tests], bugs)


def depends_from(test_ids: Sequence[str], failing_sets: Sequence[frozenset[str]]
                 ) -> dict[str, frozenset[str]]:
    """For each test, the intersection of the failing sets that contain it (just itself when no
    known mistake fails it)."""
    out = {}
    for t in test_ids:
        sets = [s for s in failing_sets if t in s]
        out[t] = frozenset.intersection(*sets) if sets else frozenset({t})
    return out


def group_failures(tests: Sequence[Mapping[str, Any]], depends: Depends,
                   code: CodeMap | None = None) -> list[Cause]:
    """The failed tests of one report grouped by cause, the one to fix first first; with `code`
    (the assignment's code.toml), a wrong-values cause says where to look.

    `tests`: dictionaries with `id`, `passed`, and either `status`/`feedback`/`checks` (reports)
    or `messages` (run summaries)."""
    failed = [t for t in tests if not t.get("passed")]
    order = {t["id"]: i for i, t in enumerate(tests)}
    errors: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    wrong: dict[str, Mapping[str, Any]] = {}
    for t in failed:
        kind, first, where = _reason(t)
        if kind == CauseKind.ERROR:
            errors.setdefault((NUMBER.sub("#", first) if not where else first, where),
                              []).append(t)
        else:
            wrong[t["id"]] = t
    causes = [Cause(CauseKind.ERROR, ts[0]["id"], tuple(t["id"] for t in ts), _reason(ts[0])[1],
                    where, NUMBER.sub("#", first)) for (first, where), ts in errors.items()]
    passed = {t["id"] for t in tests if t.get("passed")}
    causes += [_pointed(c, wrong[c.fix_first], code or {}, passed)
               for c in _cascades(wrong, depends, order)]
    return sorted(causes, key=lambda c: (-len(c.tests), order[c.fix_first]))


def _pointed(cause: Cause, test: Mapping[str, Any], code: CodeMap, passed: set[str]
             ) -> Cause:
    """The cause with where its fix-first test's mistake lies (`passed`: the report's passing
    tests, whose code is less likely wrong)."""
    pointer = point(code, cause.fix_first, test.get("checks") or (), passed)
    if pointer is None:
        return cause
    return dataclasses.replace(cause, places=pointer.places, layer=pointer.layer)


def _cascades(wrong: dict[str, Mapping[str, Any]], depends: Depends, order: dict[str, int]
              ) -> list[Cause]:
    """Greedy: the failed test whose dependants cover most remaining failures, repeatedly."""
    left = set(wrong)
    causes = []
    while left:
        root = min(left, key=lambda t: (-len(depends.get(t, {t}) & left), order[t]))
        group = sorted((depends.get(root, frozenset({root})) & left) | {root}, key=order.get)
        left -= set(group)
        message = _reason(wrong[root])[1]
        causes.append(Cause(CauseKind.WRONG, root, tuple(group), message, "",
                            NUMBER.sub("#", message)))
    return causes


def _reason(test: Mapping[str, Any]) -> tuple[CauseKind, str, str]:
    """(kind, first line of why, `path:line` of an error or "")."""
    checks = [c for c in test.get("checks") or [] if not c.get("passed") and c.get("message")]
    if "messages" in test:  # a run summary (older ones have no status)
        message = (test.get("messages") or ["failed"])[0]
        ran = test["status"] == TestStatus.OK if test.get("status") \
            else not message.startswith(ERROR_STARTS)
        return (CauseKind.WRONG if ran else CauseKind.ERROR), message, _location(message)
    if test.get("status", TestStatus.OK) == TestStatus.OK and checks:
        return CauseKind.WRONG, checks[0]["message"], ""
    feedback = test.get("feedback") or test.get("status") or "failed"
    return CauseKind.ERROR, feedback.splitlines()[0], _location(feedback)


def _location(text: str) -> str:
    """The last hand-in line a traceback names (where the error was raised), as path:line."""
    found = LOCATION.findall(text)
    if not found:
        return ""
    path, line, short, short_line = found[-1]
    return f"{path}:{line}" if path else f"{short}:{short_line}"


def cause_view(cause: Cause, names: Mapping[str, str]) -> dict[str, Any]:
    """One cause as the pages, the API and the command line show it (THE wording: the page's
    "What to fix first" and `render_causes` both read these fields): kind, fix_first (id),
    fix_first_test (its name), fix_first_name (as shown: the test's name, or for an error where
    it was raised), tests (every name), others (the names besides fix_first), count, message,
    location, pattern, places ({file, name, text}), layer and look (where the mistake lies), and
    more (the sentence naming the others)."""
    name = names.get(cause.fix_first, cause.fix_first)
    others = [names.get(t, t) for t in cause.tests if t != cause.fix_first]
    return {"kind": cause.kind, "fix_first": cause.fix_first, "fix_first_test": name,
            "fix_first_name": cause.location or name if cause.kind == CauseKind.ERROR else name,
            "tests": [names.get(t, t) for t in cause.tests], "others": others,
            "count": len(cause.tests), "message": cause.message, "location": cause.location,
            "pattern": cause.pattern,
            "places": [{"file": p.file, "name": p.name, "text": p.text} for p in cause.places],
            "layer": cause.layer, "look": Pointer(cause.places).look,
            "more": _more(cause.kind, others)}


def _more(kind: CauseKind, others: Sequence[str]) -> str:
    """`9 more tests build on it and fail too: A, B, ….`: counts the others, not fix_first."""
    n = len(others)
    if not n:
        return ""
    listed = ", ".join(others)
    if kind == CauseKind.ERROR:
        return f"The same error fails {n} more test{'s' if n > 1 else ''}: {listed}."
    return (f"{n} more test{'s build' if n > 1 else ' builds'} on it and "
            f"fail{'' if n > 1 else 's'} too: {listed}.")


def render_causes(views: Sequence[Mapping[str, Any]]) -> str:
    """The "What to fix first" list as plain text (the command line's), from `cause_view`s."""
    if not views:
        return ""
    lines = ["What to fix first:"]
    for i, c in enumerate(views, 1):
        head = c["fix_first_name"]
        if c["location"] and c["location"] != head:
            head += f" ({c['location']})"
        lines.append(f"{i}. {head}: {c['message']}")
        lines += [f"   {c[k]}" for k in ("layer", "look", "more") if c.get(k)]
    return "\n".join(lines)

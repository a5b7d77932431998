"""Scoring as pure functions: a test's run + its golden outputs → a TestResult with feedback."""

from __future__ import annotations

import dataclasses
import signal as signals
from collections.abc import Iterable, Mapping

from grader.compare import MISSING, compare_output
from grader.golden.store import GoldenSet
from grader.limits import WALL_FACTOR, cpu_limit
from grader.outputs import TestRun
from grader.pointers import load_code, point
from grader.results import OutputCheck, TestResult, TestStatus
from grader.rubric import Assignment, TestSpec
from grader.sandbox.base import VERDICT_MESSAGES, Verdict


def score_test(spec: TestSpec, run: TestRun, golden: GoldenSet, assignment: Assignment, *,
               verdict: Verdict = Verdict.COMPLETED, missing: Iterable[str] = ()) -> TestResult:
    """Grade one test: pass/fail as the course did, or the matching share under `partial`."""
    expected = golden.outputs[spec.id]
    names = list(spec.outputs) if spec.outputs is not None else list(expected)
    base = dict(id=spec.id, name=spec.name, max_points=spec.points, status=run.status,
                seconds=run.seconds)
    if run.status != TestStatus.OK:
        return TestResult(points=0.0, passed=False,
                          feedback=run_feedback(run, assignment, verdict, set(missing),
                                                cpu_seconds=cpu_limit(assignment.test_seconds,
                                                                      golden.costs.get(spec.id))),
                          **base)
    batch = assignment.batch_sizes.get(spec.scenario)
    sigs = golden.signatures.get(spec.id, {})
    checks = tuple(
        compare_output(name, expected[name], run.outputs.get(name, MISSING), rtol=assignment.rtol,
                       atol=assignment.atol, batch=batch, signatures=sigs.get(name, ()))
        for name in names)
    passed = all(c.passed for c in checks)
    share = sum(c.passed for c in checks) / len(checks)
    points = spec.points if passed else 0.0
    if assignment.policy == "partial":
        points = round(spec.points * share, 2)
    pointer = point(load_code(assignment), spec.id,
                    [{"name": c.name, "passed": c.passed} for c in checks])
    return TestResult(points=points, passed=passed,
                      feedback=checks_feedback(checks, run.log, pointer.text if pointer else ""),
                      checks=checks, **base)


def repointed(results: Mapping[str, TestResult], assignment: Assignment) -> dict[str, TestResult]:
    """The results with each wrong-values test's "Look at …" sentence said again knowing which
    tests of the report passed (grader.pointers.point): `score_test` words it from its own test
    alone, as each test's outputs are read."""
    code, out = load_code(assignment), dict(results)
    passed = {test_id for test_id, r in results.items() if r.passed}
    for test_id, r in results.items():
        if r.passed or not r.checks:
            continue
        checks = [{"name": c.name, "passed": c.passed} for c in r.checks]
        alone, knowing = point(code, test_id, checks), point(code, test_id, checks, passed)
        if alone and knowing and alone.text and alone.text != knowing.text:
            out[test_id] = dataclasses.replace(
                r, feedback=r.feedback.replace(alone.text, knowing.text, 1))
    return out


def checks_feedback(checks: tuple[OutputCheck, ...], log: str, where: str = "") -> str:
    """The failed outputs' messages (five at most), then `where` (grader.pointers: the code to
    look at), then what the code printed."""
    failed = [c for c in checks if not c.passed]
    if not failed:
        return ""
    lines = [f"{len(failed)} of {len(checks)} outputs wrong."] + [c.message for c in failed[:5]]
    if len(failed) > 5:
        lines.append(f"… and {len(failed) - 5} more outputs wrong in the same way or another.")
    if where:
        lines.append(where)
    return "\n".join(lines) + _log_tail(log)


def run_feedback(run: TestRun, assignment: Assignment, verdict: Verdict, missing: set[str], *,
                 cpu_seconds: float | None = None) -> str:
    """Why the hand-in's code did not produce outputs for this test, in the student's terms."""
    if run.status == TestStatus.ERROR:
        err = run.error or {}
        kind, message = err.get("type", "Error"), err.get("message", "")
        text = f"Your code raised {kind}: {message}".rstrip(": ")
        if kind in ("ModuleNotFoundError", "ImportError"):
            gone = [f for mod, f in assignment.handin.modules.items()
                    if f in missing and f"'{mod}'" in message]
            if gone:
                text = f"{gone[0]} is missing from your hand-in ({kind}: {message})."
        elif kind == "NotImplementedError":
            text = "Not implemented yet (your code raised NotImplementedError)."
        if err.get("traceback"):
            text += "\nTraceback (your files):\n" + "\n".join(err["traceback"])
        return text + _log_tail(run.log)
    if run.status == TestStatus.TIMEOUT:
        cpu = assignment.test_seconds if cpu_seconds is None else cpu_seconds
        if run.limit == "wall":
            return (f"Your code waited longer than {cpu * WALL_FACTOR:g} s on this test "
                    "and was stopped (sleeping, or waiting on something that never comes?)."
                    + _log_tail(run.log))
        return (f"Your code used more than {cpu:g} s of CPU time on this "
                "test and was stopped (an endless loop?)." + _log_tail(run.log))
    if run.status == TestStatus.CRASHED:
        if run.signal is not None:
            name = _signal_name(run.signal)
            why = {signals.SIGKILL: " (out of memory?)",
                   signals.SIGXFSZ: " (it wrote a file larger than allowed)",
                   signals.SIGXCPU: " (it used more CPU time than allowed)"}.get(run.signal, "")
            return f"Your code crashed: killed by {name}{why}." + _log_tail(run.log)
        return (f"Your code ended the process (exit status {run.exit_code}) before the test "
                "finished: do not call exit() or os._exit()." + _log_tail(run.log))
    if run.status == TestStatus.OUTPUT_LIMIT:
        return "Your code printed far too much on this test (over 64 MB) and was stopped."
    if run.status == TestStatus.TOO_BIG:
        return "Your code returned far more data than this test expects."
    if run.status == TestStatus.MALFORMED:
        return ("The results of this test could not be read back (" + (run.reason or
                "malformed output") + "): did your code write into or delete files it does "
                "not own, or return something other than arrays and plain values?")
    return f"This test did not run. {run.reason or VERDICT_MESSAGES[verdict]}"


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _log_tail(log: str, limit: int = 800) -> str:
    log = log.strip()
    if not log:
        return ""
    tail = log[-limit:]
    return "\nYour code printed:\n" + ("…" if len(log) > limit else "") + tail

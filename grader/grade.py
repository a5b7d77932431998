"""Grade one hand-in: intake → sandboxed run → comparison (here, outside) → score."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignment import Assignment, load_assignment
from grader.errors import InfrastructureError, SubmissionError
from grader.execute import RunOutcome, run_handin
from grader.golden import GoldenSet
from grader.intake import unpack_handin
from grader.results import GradeReport, ManualItem, TestResult
from grader.runtime import runtime_python
from grader.sandbox import Sandbox, get_sandbox
from grader.sandbox.base import VERDICT_MESSAGES, Verdict
from grader.scoring import score_test
from grader.training import TEST_ID, TrainingConfig, assess, plot_curves

log = logging.getLogger(__name__)


def grade_handin(data: bytes, *, assignment: str | Assignment = "hw1p1-s20",
                 golden: GoldenSet | None = None, sandbox: Sandbox | None = None,
                 training: bool = True) -> GradeReport:
    """Grade the bytes of a handin.tar against a golden set.

    Raises InfrastructureError when we are at fault (no runtime, sandbox broken, no golden set).
    A refused tar (SubmissionError at intake) is not raised: it yields a report in which every
    test failed with the refusal as feedback, because the student's fault is a grade, not an error.
    `golden` defaults to the assignment's current verified set; `sandbox` to the configured one.
    `training` also runs get_training_stats (when the assignment has a training run) and attaches
    its checks to the manual item and its plots to `report.artifacts`.
    """
    a = assignment if isinstance(assignment, Assignment) else load_assignment(assignment)
    sandbox = sandbox or get_sandbox()
    golden = golden or current_golden(a, sandbox)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mlpgrade-handin-") as tmp:
        Path(tmp).chmod(0o711)  # the sandbox's uid may pass through to the hand-in, not list
        start = time.perf_counter()
        try:
            intake = unpack_handin(data, Path(tmp))
        except SubmissionError as exc:
            return refused_report(a, golden, str(exc))
        timings["intake"] = time.perf_counter() - start
        start = time.perf_counter()
        outcome = run_handin(intake.root, a, sandbox, runtime_python(a.packages),
                             training=training)
        timings["run"] = time.perf_counter() - start
    start = time.perf_counter()
    report = score_outcome(a, golden, outcome, missing=intake.missing)
    timings["compare"] = time.perf_counter() - start
    intake_info = {"files": list(intake.files), "dropped": list(intake.dropped),
                   "missing": list(intake.missing), "notes": list(intake.notes)}
    return GradeReport(**{**report.__dict__, "intake": intake_info, "timings": timings})


def score_outcome(a: Assignment, golden: GoldenSet, outcome: RunOutcome, *,
                  missing: tuple[str, ...] = ()) -> GradeReport:
    """Compare a run's outputs with the golden set and score every test (pure)."""
    if golden.assignment != a.slug:
        raise InfrastructureError(f"golden set is for {golden.assignment}, not {a.slug}")
    box = outcome.sandbox
    if box.verdict == Verdict.COMPLETED and not outcome.runtime.get("done") and \
            all(t.status == "not_run" for t in outcome.tests.values()):
        # The runner never started a test and nothing the student did explains it: ours.
        raise InfrastructureError("the runner produced nothing: exit "
                                  f"{box.exit_code}, stderr {box.stderr[-500:]!r}")
    tests = tuple(score_test(spec, outcome.tests[spec.id], golden, a, verdict=box.verdict,
                             missing=missing) for spec in a.tests)
    sandbox = {"backend": box.backend, "verdict": str(box.verdict), "exit_code": box.exit_code,
               "signal": box.signal, "wall_seconds": round(box.wall_seconds, 3),
               "cpu_seconds": round(box.cpu_seconds, 3), "message": _verdict_message(box.verdict),
               "runtime": outcome.runtime, "stderr": box.stderr[-4000:].decode("utf-8", "replace")}
    manual, artifacts = manual_items(a), {}
    evidence = training_evidence(a, golden, outcome)
    if evidence is not None:
        evidence, artifacts = evidence
        manual = tuple(dataclasses.replace(m, evidence=evidence) if m.id == TEST_ID else m
                       for m in manual)
    return GradeReport(assignment=a.slug, golden_version=golden.version,
                       score=round(sum(t.points for t in tests), 2), max_score=a.max_score,
                       tests=tests, manual=manual, sandbox=sandbox, grader_version=__version__,
                       artifacts=artifacts)


def training_evidence(a: Assignment, golden: GoldenSet, outcome: RunOutcome
                      ) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """The training run's checks and curves (evidence for the TA) and its four plots, or None
    when the run did not include training."""
    cfg = TrainingConfig.of(a)
    if cfg is None or TEST_ID not in outcome.tests:
        return None
    reference = golden.outputs.get(TEST_ID)
    evidence = assess(outcome.tests[TEST_ID], reference, cfg)
    return evidence, plot_curves(evidence["curves"], reference)


def train_handin(data: bytes, *, assignment: str | Assignment, golden: GoldenSet | None = None,
                 sandbox: Sandbox | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Only the training run of a hand-in (the service runs it after the automatic tests, on the
    bulk queue): the evidence for the manual item and the plots. InfrastructureError as for
    grade_handin; a hand-in intake refuses gets evidence saying so."""
    a = assignment if isinstance(assignment, Assignment) else load_assignment(assignment)
    if TrainingConfig.of(a) is None:
        raise ValueError(f"{a.slug} has no training run")
    sandbox = sandbox or get_sandbox()
    golden = golden or current_golden(a, sandbox)
    with tempfile.TemporaryDirectory(prefix="mlpgrade-handin-") as tmp:
        Path(tmp).chmod(0o711)
        try:
            intake = unpack_handin(data, Path(tmp))
        except SubmissionError as exc:
            return {"checks": [], "refused": str(exc)}, {}
        outcome = run_handin(intake.root, a, sandbox, runtime_python(a.packages), test_ids=[],
                             training=True)
    result = outcome.tests[TEST_ID]
    if outcome.sandbox.verdict == Verdict.COMPLETED and result.status == "not_run" and \
            not outcome.runtime.get("done"):
        raise InfrastructureError("the runner produced nothing: exit "
                                  f"{outcome.sandbox.exit_code}, stderr "
                                  f"{outcome.sandbox.stderr[-500:]!r}")
    return training_evidence(a, golden, outcome)


def refused_report(a: Assignment, golden: GoldenSet, reason: str) -> GradeReport:
    """Every test failed because the hand-in could not be accepted at all."""
    tests = tuple(TestResult(id=t.id, name=t.name, points=0.0, max_points=t.points, passed=False,
                             feedback=reason, status="not_run") for t in a.tests)
    return GradeReport(assignment=a.slug, golden_version=golden.version, score=0.0,
                       max_score=a.max_score, tests=tests, manual=manual_items(a),
                       intake={"refused": reason}, grader_version=__version__)


def manual_items(a: Assignment) -> tuple[ManualItem, ...]:
    return tuple(ManualItem(id=m.id, name=m.name, max_points=m.points) for m in a.manual)


def _verdict_message(verdict: Verdict) -> str:
    return "" if verdict == Verdict.COMPLETED else VERDICT_MESSAGES[verdict]


def current_golden(a: Assignment, sandbox: Sandbox) -> GoldenSet:
    """The assignment's current verified golden set, made and verified on first use."""
    from grader.canary import ensure_current_golden  # canary grades hand-ins: it imports us

    return ensure_current_golden(a, sandbox)

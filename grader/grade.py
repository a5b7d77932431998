"""Grade one hand-in: intake → sandboxed run → comparison (here, outside) → score.

Both entry points take the golden set and the sandbox explicitly: the grader never makes or
activates a golden set on its own (the command line does, in its local store; the service, in its
database).
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.errors import GraderError, InfrastructureError, SubmissionError
from grader.golden.store import GoldenSet
from grader.intake import IntakeReport, unpack_handin
from grader.outputs import TestRun
from grader.progress import Progress
from grader.results import GradeReport, ManualItem, TestResult, TestStatus, TrainingResult
from grader.rubric import Assignment, TrainingConfig, load_assignment
from grader.run import SandboxRun, run_handin
from grader.runtime import runtime_python
from grader.sandbox import Sandbox
from grader.sandbox.base import VERDICT_MESSAGES, Verdict
from grader.scoring import repointed, score_test
from grader.settings import GraderSettings, load_settings
from grader.text import printable
from grader.training.evidence import assess, plot_curves


def grade_handin(data: bytes, *, assignment: str | Assignment, golden: GoldenSet,
                 sandbox: Sandbox, training: bool = False, max_bytes: int | None = None,
                 progress: Progress | None = None, settings: GraderSettings | None = None
                 ) -> GradeReport:
    """Grade the bytes of a handin.tar against a golden set, in `sandbox`.

    Raises InfrastructureError when we are at fault (no runtime, sandbox broken, a golden set of
    another assignment). A refused tar (SubmissionError at intake) is not raised: it yields a
    report in which every test failed with the refusal as feedback, because the student's fault is
    a grade, not an error. `training` also runs the assignment's training run in the same sandbox
    run (when it has one) and attaches its evidence and plots (`GradeReport.with_training`).
    `max_bytes` is the upload limit (default `grader.intake.DEFAULT_MAX_BYTES`); `progress`
    hears which test is running (grader/progress.py). `settings`: the caller's, made once (the
    worker's); None reads them from the environment (the command line, the tests).
    """
    a = _assignment(assignment, golden)
    scorer = Scorer(a, golden)
    done = _intake_and_run(data, a, sandbox, scorer, test_ids=None, training=training,
                           max_bytes=max_bytes, progress=progress,
                           settings=settings or load_settings())
    if done.refused is not None:
        return refused_report(a, golden, done.refused)
    done.timings["compare"] = scorer.seconds
    report = scored_report(a, golden, done.outcome, scorer.results)
    intake = done.intake
    report = dataclasses.replace(report, timings=done.timings, intake={
        "files": list(intake.files), "dropped": list(intake.dropped),
        "missing": list(intake.missing), "notes": list(intake.notes)})
    return report if scorer.training is None else report.with_training(scorer.training)


def train_handin(data: bytes, *, assignment: str | Assignment, golden: GoldenSet,
                 sandbox: Sandbox, max_bytes: int | None = None,
                 settings: GraderSettings | None = None) -> TrainingResult:
    """Only the training run of a hand-in (the service runs it after the automatic tests, on the
    bulk queue). InfrastructureError as for grade_handin; a hand-in intake refuses gets evidence
    saying so. GraderError when the assignment has no training run."""
    a = _assignment(assignment, golden)
    if not a.has_training:
        raise GraderError(f"{a.slug} has no training run")
    scorer = Scorer(a, golden)
    done = _intake_and_run(data, a, sandbox, scorer, test_ids=[], training=True,
                           max_bytes=max_bytes, settings=settings or load_settings())
    if done.refused is not None:
        return TrainingResult(item_id=a.training_id,
                              evidence={"checks": [], "refused": done.refused})
    assert scorer.training is not None  # the run was planned with the training run
    return scorer.training


class Scorer:
    """Scores each test the moment its results are read (`run_handin`'s `each`) and keeps it
    without its arrays: the grader holds one test's outputs at a time whatever a hand-in
    returns (28 tests of 32 MB of zeros each once took it to 887 MB)."""

    def __init__(self, a: Assignment, golden: GoldenSet) -> None:
        self.a, self.golden = a, golden
        self.specs = {spec.id: spec for spec in a.tests}
        self.cfg = a.training
        self.missing: tuple[str, ...] = ()
        """The required files intake found missing (set once intake has run)."""
        self.results: dict[str, TestResult] = {}
        self.training: TrainingResult | None = None
        self.seconds = 0.0

    def __call__(self, run: TestRun, verdict: Verdict) -> TestRun:
        start = time.perf_counter()
        spec = self.specs.get(run.id)
        if spec is not None:
            self.results[run.id] = score_test(spec, run, self.golden, self.a, verdict=verdict,
                                              missing=self.missing)
        elif self.cfg is not None and run.id == self.cfg.id:
            self.training = training_result(self.cfg, self.golden, run)
        self.seconds += time.perf_counter() - start
        return dataclasses.replace(run, outputs={})


@dataclass
class _Run:
    """What intake and the sandboxed run made of one hand-in (or why intake refused it)."""

    intake: IntakeReport | None = None
    outcome: SandboxRun | None = None
    refused: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _assignment(assignment: str | Assignment, golden: GoldenSet) -> Assignment:
    a = assignment if isinstance(assignment, Assignment) else load_assignment(assignment)
    if golden.assignment != a.slug:
        raise InfrastructureError(f"golden set is for {golden.assignment}, not {a.slug}")
    return a


def _intake_and_run(data: bytes, a: Assignment, sandbox: Sandbox, scorer: Scorer, *,
                    test_ids: list[str] | None, training: bool, max_bytes: int | None,
                    settings: GraderSettings, progress: Progress | None = None) -> _Run:
    """Intake, then one sandboxed run of the wanted tests (None: all) and the training run,
    each test scored by `scorer` as it is read. The training run's shuffles follow a seed drawn
    for this run: curves copied from another run (the reference's, a classmate's) cannot agree
    with what the hand-in's own network gives under our loop with it."""
    done = _Run()
    with tempfile.TemporaryDirectory(prefix="mlpgrade-handin-") as tmp:
        Path(tmp).chmod(0o711)  # the sandbox's uid may pass through to the hand-in, not list
        start = time.perf_counter()
        try:
            done.intake = unpack_handin(data, Path(tmp), layout=a.handin, max_bytes=max_bytes)
        except SubmissionError as exc:
            done.refused = str(exc)
            return done
        done.timings["intake"] = time.perf_counter() - start
        scorer.missing = done.intake.missing
        start = time.perf_counter()
        done.outcome = run_handin(done.intake.root, a, sandbox,
                                  runtime_python(a.packages, settings),
                                  data_root=settings.data_root, test_ids=test_ids,
                                  training=training,
                                  costs=scorer.golden.costs, progress=progress, each=scorer,
                                  training_seed=secrets.randbelow(2**31))
        done.timings["run"] = time.perf_counter() - start - scorer.seconds
    return done


def scored_report(a: Assignment, golden: GoldenSet, outcome: SandboxRun,
                  results: dict[str, TestResult]) -> GradeReport:
    """The report of a run whose every test is scored (`results`, by test id): pure."""
    box = outcome.sandbox
    results = repointed(results, a)
    tests = tuple(results[spec.id] for spec in a.tests)
    sandbox = {"backend": box.backend, "verdict": str(box.verdict), "exit_code": box.exit_code,
               "signal": box.signal, "wall_seconds": round(box.wall_seconds, 3),
               "cpu_seconds": round(box.cpu_seconds, 3), "message": _verdict_message(box.verdict),
               "runtime": outcome.runtime,
               "stderr": printable(box.stderr[-4000:].decode("utf-8", "replace"))}
    return GradeReport(assignment=a.slug, golden_version=golden.version,
                       score=round(sum(t.points for t in tests), 2), max_score=a.max_score,
                       tests=tests, manual=manual_items(a), sandbox=sandbox,
                       grader_version=__version__)


def training_result(cfg: TrainingConfig, golden: GoldenSet, run: TestRun) -> TrainingResult:
    """The training run's checks and curves (evidence for the TA) and its four plots."""
    reference = golden.outputs.get(cfg.id)
    evidence = assess(run, cfg)
    return TrainingResult(item_id=cfg.id, evidence=evidence,
                          plots=plot_curves(evidence["curves"], reference,
                                            evidence.get("own_curves")))


def refused_report(a: Assignment, golden: GoldenSet, reason: str) -> GradeReport:
    """Every test failed because the hand-in could not be accepted at all."""
    tests = tuple(TestResult(id=t.id, name=t.name, points=0.0, max_points=t.points, passed=False,
                             feedback=reason, status=TestStatus.NOT_RUN) for t in a.tests)
    return GradeReport(assignment=a.slug, golden_version=golden.version, score=0.0,
                       max_score=a.max_score, tests=tests, manual=manual_items(a),
                       intake={"refused": reason}, grader_version=__version__)


def manual_items(a: Assignment) -> tuple[ManualItem, ...]:
    return tuple(ManualItem(id=m.id, name=m.name, max_points=m.points) for m in a.manual)


def _verdict_message(verdict: Verdict) -> str:
    return "" if verdict == Verdict.COMPLETED else VERDICT_MESSAGES[verdict]

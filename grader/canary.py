"""Making and verifying golden sets.

`generate_golden` runs the scenarios on our reference (and on each bundled known mistake, to keep
their outputs as signatures). `verify_golden` is the canary that must pass before a set is used:
the reference scores full marks, the starter scores 0, every known mistake fails exactly its tests.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.assignment import Assignment
from grader.errors import InfrastructureError
from grader.execute import RunOutcome, run_handin
from grader.golden import (GoldenSet, build_golden, find_golden, golden_root, load_golden,
                           outputs_of, save_golden, set_current)
from grader.handins import Files, apply_bug, load_bugs, make_tar, reference_files, starter_files
from grader.runtime import runtime_python
from grader.sandbox import Sandbox
from grader.sandbox.process import ProcessSandbox
from grader.training import TEST_ID as TRAINING_ID
from grader.training import TrainingConfig, assess

log = logging.getLogger(__name__)


def run_trusted(files: Files, a: Assignment, *, training: bool = False) -> RunOutcome:
    """Run OUR code (reference or a known mistake) under the student runtime, unsandboxed."""
    with tempfile.TemporaryDirectory(prefix="mlpgrade-ref-") as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return run_handin(root, a, ProcessSandbox(trusted=True), runtime_python(a.packages),
                          training=training)


def generate_golden(a: Assignment, out: Path | None = None) -> GoldenSet:
    """Make the golden set from the reference and save it under `out` (default: MLPGRADE_HOME)."""
    ref_files = reference_files()
    outcome = run_trusted(ref_files, a, training=True)
    reference = outputs_of(outcome, "the reference")
    _check_reference_training(a, outcome)
    mistakes = []
    for bug in load_bugs(a):
        bugged = run_trusted(apply_bug(ref_files, bug), a)
        # A mistake may raise in some tests (a transposed dW cannot be stepped): keep the rest.
        mistakes.append((bug.hint, {t: dict(r.outputs) for t, r in bugged.tests.items()
                                    if r.status == "ok"}))
    golden = build_golden(a, reference, mistakes)
    path = save_golden(golden, out or golden_root(), numpy_version=outcome.runtime.get("numpy", "?"))
    log.info("golden set %s %s written to %s", a.slug, golden.version, path)
    return load_golden(path)


def _check_reference_training(a: Assignment, outcome: RunOutcome) -> None:
    """Our own curves must pass every advisory check, or the checks are wrong."""
    cfg = TrainingConfig.of(a)
    if cfg is None:
        return
    run = outcome.tests[TRAINING_ID]
    failed = [c["message"] for c in assess(run, dict(run.outputs), cfg)["checks"]
              if not c["passed"]]
    if failed:
        raise InfrastructureError(f"the reference's training run fails its checks: {failed}")


@dataclass(frozen=True)
class CanaryCase:
    handin: str
    expected_score: float
    score: float
    expected_failed: list[str]
    failed: list[str]
    ok: bool


def verify_golden(a: Assignment, golden: GoldenSet, sandbox: Sandbox | None = None
                  ) -> dict[str, Any]:
    """Grade the reference, the starter and every known mistake; report whether all came out."""
    from grader.grade import grade_handin

    start = time.perf_counter()
    ref = reference_files()
    cases = [("reference", ref, ()), ("starter", starter_files(a), tuple(t.id for t in a.tests))]
    cases += [(f"bug:{b.id}", apply_bug(ref, b), b.fails) for b in load_bugs(a)]
    results = []
    for name, files, fails in cases:
        report = grade_handin(make_tar(files), assignment=a, golden=golden, sandbox=sandbox,
                              training=False)
        failed = sorted(t.id for t in report.tests if not t.passed)
        expected = a.max_score - sum(t.points for t in a.tests if t.id in fails)
        results.append(CanaryCase(handin=name, expected_score=expected, score=report.score,
                                   expected_failed=sorted(fails), failed=failed,
                                   ok=failed == sorted(fails) and report.score == expected))
    return {"assignment": a.slug, "golden_version": golden.version,
            "passed": all(c.ok for c in results), "cases": [asdict(c) for c in results],
            "seconds": round(time.perf_counter() - start, 2)}


def ensure_current_golden(a: Assignment, sandbox: Sandbox | None = None) -> GoldenSet:
    """The current golden set of `a`; on first use, generate it, verify it and make it current."""
    golden = find_golden(a.slug)
    if golden is not None:
        return golden
    log.info("no golden set for %s yet: generating and verifying one", a.slug)
    golden = generate_golden(a)
    result = verify_golden(a, golden, sandbox)
    if not result["passed"]:
        bad = [c["handin"] for c in result["cases"] if not c["ok"]]
        raise InfrastructureError(f"the canary of golden set {golden.version} failed for {bad}")
    set_current(golden)
    return golden

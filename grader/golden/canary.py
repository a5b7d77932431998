"""Making and verifying golden sets.

`generate_golden` runs the scenarios on our reference (and on each bundled known mistake, to keep
their outputs as signatures). `verify_golden` is the canary that must pass before a set is used:
the reference scores full marks, the starter scores 0, every known mistake fails exactly its tests.
Canary grades hand-ins, so it imports `grader.grade`; nothing in `grader.grade` imports it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import InfrastructureError
from grader.fixtures import (
    Files,
    apply_bug,
    load_bugs,
    make_tar,
    reference_files,
    starter_files,
    write_tree,
)
from grader.golden.store import GoldenSet, Outputs, content_sha256, load_golden, save_golden
from grader.grade import grade_handin
from grader.outputs import TestRun
from grader.results import TestStatus
from grader.rubric import Assignment
from grader.run import SandboxRun, run_handin
from grader.runtime import runtime_python
from grader.sandbox import Sandbox
from grader.sandbox.process import process_sandbox
from grader.settings import GraderSettings, load_settings
from grader.training.evidence import assess

log = logging.getLogger(__name__)


def run_trusted(files: Files, a: Assignment, settings: GraderSettings, *,
                training: bool = False) -> SandboxRun:
    """Run OUR code (reference or a known mistake) under the student runtime, unsandboxed."""
    with tempfile.TemporaryDirectory(prefix="mlpgrade-ref-") as tmp:
        root = write_tree(files, Path(tmp))
        return run_handin(root, a, process_sandbox(trusted=True),
                          runtime_python(a.packages, settings), data_root=settings.data_root,
                          training=training)


def outputs_of(outcome: SandboxRun, what: str) -> Outputs:
    """The outputs of a run of OUR code (reference or a known mistake); it must not fail."""
    broken = {t: r for t, r in outcome.tests.items() if r.status != TestStatus.OK}
    if broken:
        details = "; ".join(f"{t}: {_describe_failure(r)}" for t, r in broken.items())
        raise InfrastructureError(f"{what} did not run cleanly ({outcome.sandbox.verdict}): "
                                  f"{details[:2000]}")
    return {t: dict(r.outputs) for t, r in outcome.tests.items()}


def _describe_failure(run: TestRun) -> str:
    if run.error:
        return f"{run.error['type']}: {run.error['message']}"
    return run.status + (f" ({run.log[-300:]})" if run.log else "")


def costs_of(outcome: SandboxRun) -> dict[str, float]:
    """The CPU seconds the reference spent on each test (its tests' limits derive from them)."""
    return {t: round(r.cpu_seconds, 4) for t, r in outcome.tests.items()}


def build_golden(assignment: Assignment, reference: Outputs,
                 mistakes: list[tuple[str, Outputs]],
                 costs: dict[str, float] | None = None) -> GoldenSet:
    """Assemble a golden set from the reference's outputs and the known mistakes' outputs."""
    sha = content_sha256(reference)
    signatures: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    for hint, outputs in mistakes:
        for test_id, named in outputs.items():
            for name, value in named.items():
                expected = reference.get(test_id, {}).get(name)
                if isinstance(value, np.ndarray) and isinstance(expected, np.ndarray) and \
                        value.shape == expected.shape and not np.allclose(
                            value, expected, rtol=assignment.rtol, atol=assignment.atol):
                    signatures.setdefault(test_id, {}).setdefault(name, []).append((hint, value))
    manifest = {"assignment": assignment.slug, "version": sha[:12], "sha256": sha,
                "numpy": None, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "costs": costs or {}}
    return GoldenSet(assignment=assignment.slug, version=sha[:12], sha256=sha, outputs=reference,
                     signatures=signatures, manifest=manifest)


def generate_golden(a: Assignment, out: Path, settings: GraderSettings | None = None
                    ) -> GoldenSet:
    """Make the golden set from the reference and save it under the root folder `out`.
    `settings`: the caller's (None: from the environment)."""
    settings = settings or load_settings()
    ref_files = reference_files(a)
    outcome = run_trusted(ref_files, a, settings, training=True)
    reference = outputs_of(outcome, "the reference")
    _check_reference_training(a, outcome)
    mistakes = []
    for bug in load_bugs(a):
        bugged = run_trusted(apply_bug(ref_files, bug), a, settings)
        # A mistake may raise in some tests (a transposed dW cannot be stepped): keep the rest.
        mistakes.append((bug.hint, {t: dict(r.outputs) for t, r in bugged.tests.items()
                                    if r.status == TestStatus.OK}))
    golden = build_golden(a, reference, mistakes, costs_of(outcome))
    path = save_golden(golden, out, numpy_version=outcome.runtime.get("numpy", "?"))
    log.info("golden set %s %s written to %s", a.slug, golden.version, path)
    return load_golden(path)


def _check_reference_training(a: Assignment, outcome: SandboxRun) -> None:
    """Our own curves must pass every advisory check, or the checks are wrong."""
    cfg = a.training
    if cfg is None:
        return
    run = outcome.tests[cfg.id]
    failed = [c["message"] for c in assess(run, cfg)["checks"]
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


def verify_golden(a: Assignment, golden: GoldenSet, sandbox: Sandbox,
                  settings: GraderSettings | None = None) -> dict[str, Any]:
    """Grade the reference, the starter and every known mistake; report whether all came out.
    `settings`: the caller's (None: from the environment)."""
    settings = settings or load_settings()
    start = time.perf_counter()
    ref = reference_files(a)
    cases = [("reference", ref, ()), ("starter", starter_files(a), tuple(t.id for t in a.tests))]
    cases += [(f"bug:{b.id}", apply_bug(ref, b), b.fails) for b in load_bugs(a)]
    results = []
    for name, files, fails in cases:
        report = grade_handin(make_tar(files, a.handin), assignment=a, golden=golden,
                              sandbox=sandbox, settings=settings)
        failed = sorted(t.id for t in report.tests if not t.passed)
        expected = a.max_score - sum(t.points for t in a.tests if t.id in fails)
        results.append(CanaryCase(handin=name, expected_score=expected, score=report.score,
                                  expected_failed=sorted(fails), failed=failed,
                                  ok=failed == sorted(fails) and report.score == expected))
    return {"assignment": a.slug, "golden_version": golden.version,
            "passed": all(c.ok for c in results), "cases": [asdict(c) for c in results],
            "seconds": round(time.perf_counter() - start, 2)}

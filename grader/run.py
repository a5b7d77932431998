"""Run the in-sandbox runner on an unpacked hand-in: a `Plan` → one `SandboxJob` → `SandboxRun`.

The plan is everything the runner needs and nothing of the host (no paths, no golden outputs):
the scenario module, the hand-in's layout, the children's environment and the tests with their
time limits. It crosses into the sandbox once, as the runner's `--plan` argument. The runner's
code folder for the job holds grader/inside/runner.py and the assignment's own modules (its
scenarios and training module), which only ever run in there.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import GraderError, InfrastructureError
from grader.limits import WALL_FACTOR, WALL_MAX_FACTOR, cpu_limit
from grader.outputs import TestRun, read_test
from grader.progress import Progress, watch_outputs
from grader.reports import Reports, new_key, read_reports
from grader.rubric import Assignment, HandinLayout, TrainingConfig
from grader.sandbox.base import CHILD_ENV, CODE_DIR, Sandbox, SandboxJob, SandboxResult, Verdict
from grader.sandbox.output import output_parent
from grader.text import printable
from grader.training.config import prepare_data

RUNNER = "runner.py"
STOPPED = ("Your code stopped the grader's test runner (it killed or interrupted it) before "
           "this test could run.")


@dataclass(frozen=True)
class PlannedTest:
    """One test as the runner runs it."""

    id: str
    scenario: str
    timeout: float
    """CPU seconds the test's code may use (RLIMIT_CPU of its process); the wall clock is
    WALL_FACTOR times that."""
    module: str | None = None
    """Its own scenario module (the training run's), else the plan's."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the scenario function (plain JSON)."""


@dataclass(frozen=True)
class Plan:
    """What the runner does for one hand-in."""

    module: str
    layout: HandinLayout
    tests: tuple[PlannedTest, ...]
    env: dict[str, str] = field(default_factory=lambda: dict(CHILD_ENV))

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.tests]

    def to_json(self) -> str:
        """The runner's `--plan` argument."""
        tests = []
        for t in self.tests:
            entry: dict[str, Any] = {"id": t.id, "scenario": t.scenario, "timeout": t.timeout,
                                     "wall": round(t.timeout * WALL_FACTOR, 3),
                                     "wall_max": round(t.timeout * WALL_MAX_FACTOR, 3)}
            if t.module:
                entry["module"] = t.module
            if t.kwargs:
                entry["kwargs"] = t.kwargs
            tests.append(entry)
        handin = {"folders": list(self.layout.folders), "path": list(self.layout.path),
                  "modules": sorted(self.layout.modules)}
        return json.dumps({"module": self.module, "handin": handin, "env": self.env,
                           "tests": tests})


@dataclass(frozen=True)
class SandboxRun:
    """What one sandboxed run produced: each planned test's validated results, how the sandbox
    ended, and what the runner said about itself on its signed channel (done, python and
    numpy)."""

    tests: dict[str, TestRun]
    sandbox: SandboxResult
    runtime: dict[str, Any]


def plan_for(a: Assignment, test_ids: list[str] | None = None,
             training: TrainingConfig | None = None,
             costs: dict[str, float] | None = None, training_seed: int | None = None) -> Plan:
    """The plan of `a`'s tests (those of `test_ids`; None: all), the training run last when
    asked for (its shuffles from `training_seed`, else the rubric's seed); each test's CPU
    seconds from the reference's `costs` (test id -> CPU seconds, as the golden set recorded
    them: `grader.limits`)."""
    costs = costs or {}
    tests = [PlannedTest(id=t.id, scenario=t.scenario,
                         timeout=cpu_limit(a.test_seconds, costs.get(t.id)),
                         kwargs={"batch_size": a.batch_sizes[t.scenario]}
                         if t.scenario in a.batch_sizes else {})
             for t in a.tests if test_ids is None or t.id in test_ids]
    if training is not None:
        tests.append(PlannedTest(id=training.id, scenario=training.scenario,
                                 timeout=cpu_limit(training.seconds, costs.get(training.id)),
                                 module=training.module,
                                 kwargs=training.kwargs(training_seed)))
    return Plan(module=a.scenarios, layout=a.handin, tests=tuple(tests))


#: Called on each test's results as they are read, before the next test's are; what it returns
#: is what the outcome keeps of that test.
EachTest = Callable[[TestRun, Verdict], TestRun]


def run_handin(handin_dir: Path, a: Assignment, sandbox: Sandbox, runtime_python: Path, *,
               data_root: Path | None = None, test_ids: list[str] | None = None,
               training: bool = False,
               costs: dict[str, float] | None = None,
               progress: Progress | None = None, each: EachTest | None = None,
               training_seed: int | None = None) -> SandboxRun:
    """Run `a`'s scenarios on an unpacked hand-in inside `sandbox` (and the training run when
    `training` and the assignment has one), each test limited by the reference's `costs`;
    `progress` hears which test runs (progress.py). With `each`, the outcome keeps what it
    returns of each test (the grader scores a test and keeps it without its arrays, so it holds
    one test's outputs at a time); without, every test's outputs (our own reference's run).
    `data_root`: where the training run's data is prepared (GraderSettings.data_root), needed
    with `training`."""
    cfg = a.training if training else None
    if cfg is not None and data_root is None:
        raise GraderError("a training run needs the folder of its data (data_root)")
    data_dir = prepare_data(cfg, data_root) if cfg is not None else None
    plan = plan_for(a, test_ids, cfg, costs, training_seed)
    key = new_key()
    parent = output_parent(sandbox.copies_output, a.limits.disk_mb)
    with tempfile.TemporaryDirectory(prefix="mlpgrade-out-", dir=parent) as out, \
            tempfile.TemporaryDirectory(prefix="mlpgrade-code-", dir=parent) as code:
        out_dir = Path(out)
        job = SandboxJob(handin_dir=handin_dir, output_dir=out_dir, runtime_python=runtime_python,
                         args=("--plan", plan.to_json()), limits=a.limits, data_dir=data_dir,
                         code_dir=stage_runner(a, Path(code)), entry=RUNNER, secret=key)
        with watch_outputs(out_dir, plan.ids, progress):
            result = sandbox.run(job)
        reports = read_reports(result.stdout, key)
        if reports.ready is None:
            raise InfrastructureError(_never_ready(result))
        tests = read_tests(out_dir, plan.ids, reports, result.verdict, each)
    return SandboxRun(tests=tests, sandbox=result, runtime=reports.runtime)


def read_tests(out_dir: Path, ids: list[str], reports: Reports, verdict: Verdict,
               each: EachTest | None = None) -> dict[str, TestRun]:
    """Each planned test's results, from the files the runner's reports vouch for only, one
    test at a time, each handed to `each` (when given) before the next is read. A test it never
    reported did not run: the sandbox's verdict says why, or (a run that ended on its own without
    the runner's "done") the hand-in stopped the runner."""
    reason = STOPPED if verdict == Verdict.COMPLETED and not reports.done else ""
    found = {}
    for test_id in ids:
        run = read_test(out_dir, test_id, reports.tests.get(test_id), reason)
        found[test_id] = run if each is None else each(run, verdict)
        del run  # only what `each` kept outlives this test
    return found


def _never_ready(result: SandboxResult) -> str:
    """The runner never said it was ready: nothing of the hand-in had run yet, so the sandbox
    or our runtime failed (bwrap's own messages, an engine error, a broken runtime)."""
    stderr = printable(result.stderr[-1500:].decode("utf-8", "replace"))
    return (f"the {result.backend} sandbox never started the runner (verdict {result.verdict}, "
            f"exit {result.exit_code}, signal {result.signal}): {stderr}")


def stage_runner(a: Assignment, dest: Path) -> Path:
    """`dest` (an empty folder) holding the runner and the assignment's top-level modules, side
    by side: the runner imports them by bare name. The backends mount or copy it read-only."""
    for module in sorted(CODE_DIR.glob("*.py")):  # the runner and its warm-up
        shutil.copyfile(module, dest / module.name)
    for module in sorted(a.folder.glob("*.py")):
        shutil.copyfile(module, dest / module.name)
    return dest

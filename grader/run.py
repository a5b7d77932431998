"""Run the in-sandbox runner on an unpacked hand-in: a `Plan` → one `SandboxJob` → `RunOutcome`.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.outputs import TestRun, read_json, read_test
from grader.progress import Progress, watch_outputs
from grader.rubric import Assignment, HandinLayout
from grader.sandbox.base import CHILD_ENV, CODE_DIR, Sandbox, SandboxJob, SandboxResult
from grader.training.config import TrainingConfig, prepare_data

RUNNER = "runner.py"



@dataclass(frozen=True)
class PlannedTest:
    """One test as the runner runs it."""

    id: str
    scenario: str
    timeout: float
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
            entry: dict[str, Any] = {"id": t.id, "scenario": t.scenario, "timeout": t.timeout}
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
class RunOutcome:
    """What one sandboxed run produced: each planned test's validated results, how the sandbox
    ended, and what the runner said about itself (`runner.json`: done, python and numpy)."""

    tests: dict[str, TestRun]
    sandbox: SandboxResult
    runtime: dict[str, Any]


def plan_for(a: Assignment, test_ids: list[str] | None = None,
             training: TrainingConfig | None = None) -> Plan:
    """The plan of `a`'s tests (those of `test_ids`; None: all), the training run last when
    asked for."""
    tests = [PlannedTest(id=t.id, scenario=t.scenario, timeout=a.test_seconds,
                         kwargs={"batch_size": a.batch_sizes[t.scenario]}
                         if t.scenario in a.batch_sizes else {})
             for t in a.tests if test_ids is None or t.id in test_ids]
    if training is not None:
        tests.append(PlannedTest(id=training.id, scenario=training.scenario,
                                 timeout=training.seconds, module=training.module,
                                 kwargs=training.kwargs()))
    return Plan(module=a.scenarios, layout=a.handin, tests=tuple(tests))


def run_handin(handin_dir: Path, a: Assignment, sandbox: Sandbox, runtime_python: Path, *,
               test_ids: list[str] | None = None, training: bool = False,
               progress: Progress | None = None) -> RunOutcome:
    """Run `a`'s scenarios on an unpacked hand-in inside `sandbox` (and the training run when
    `training` and the assignment has one); `progress` hears which test runs (progress.py)."""
    cfg = TrainingConfig.of(a) if training else None
    data_dir = prepare_data(cfg) if cfg is not None else None
    plan = plan_for(a, test_ids, cfg)
    with tempfile.TemporaryDirectory(prefix="mlpgrade-out-") as out, \
            tempfile.TemporaryDirectory(prefix="mlpgrade-code-") as code:
        out_dir = Path(out)
        job = SandboxJob(handin_dir=handin_dir, output_dir=out_dir, runtime_python=runtime_python,
                         args=("--plan", plan.to_json()), limits=a.limits, data_dir=data_dir,
                         code_dir=stage_runner(a, Path(code)), entry=RUNNER)
        with watch_outputs(out_dir, plan.ids, progress):
            result = sandbox.run(job)
        tests = {test_id: read_test(out_dir, test_id) for test_id in plan.ids}
        runtime = read_json(out_dir / "runner.json") or {}
    return RunOutcome(tests=tests, sandbox=result, runtime=runtime)


def stage_runner(a: Assignment, dest: Path) -> Path:
    """`dest` (an empty folder) holding the runner and the assignment's top-level modules, side
    by side: the runner imports them by bare name. The backends mount or copy it read-only."""
    for module in sorted(CODE_DIR.glob("*.py")):  # the runner and its warm-up
        shutil.copyfile(module, dest / module.name)
    for module in sorted(a.folder.glob("*.py")):
        shutil.copyfile(module, dest / module.name)
    return dest

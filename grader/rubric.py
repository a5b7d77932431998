"""Assignments as data: a rubric file per assignment in grader/assignments/<slug>.toml."""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from grader.errors import GraderError
from grader.sandbox.base import CODE_DIR, Limits

ASSIGNMENTS_DIR = Path(__file__).resolve().parent / "assignments"
DEFAULT_ASSIGNMENT = "hw1p1-s20"
POLICIES = ("pass_fail", "partial")


@dataclass(frozen=True)
class TestSpec:
    """One automatic test of the rubric."""

    id: str
    name: str
    points: float
    scenario: str
    outputs: tuple[str, ...] | None = None
    """Which of the scenario's outputs it compares; None means all of them."""


@dataclass(frozen=True)
class ManualSpec:
    id: str
    name: str
    points: float


@dataclass(frozen=True)
class Assignment:
    slug: str
    title: str
    family: str
    scenarios: str
    policy: str
    packages: tuple[str, ...]
    rtol: float
    atol: float
    test_seconds: float
    limits: Limits
    tests: tuple[TestSpec, ...]
    manual: tuple[ManualSpec, ...]
    training: dict | None = None
    """The `[training]` section as written (see grader.training), or None."""

    @property
    def max_score(self) -> float:
        """Points of the automatic tests (what a grading run scores out of)."""
        return sum(t.points for t in self.tests)

    @property
    def total_max_score(self) -> float:
        """Points of the automatic tests and the manual items together."""
        return self.max_score + sum(m.points for m in self.manual)

    @property
    def has_training(self) -> bool:
        """Whether the assignment has a training run (its `[training]` section)."""
        return bool(self.training)

    @property
    def family_dir(self) -> Path:
        """Data shared by the family's editions: starter code and the bug catalogue."""
        return ASSIGNMENTS_DIR / self.family

    def scenario_module(self) -> ModuleType:
        """The scenario module, imported here only for its constants (e.g. batch sizes)."""
        return _load_scenarios(self.scenarios)

    def test(self, test_id: str) -> TestSpec:
        for spec in self.tests:
            if spec.id == test_id:
                return spec
        raise KeyError(test_id)


@cache
def _load_scenarios(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"grader_scenarios_{name}", CODE_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def list_assignments() -> list[str]:
    return sorted(p.stem for p in ASSIGNMENTS_DIR.glob("*.toml"))


@cache
def load_assignment(slug: str = DEFAULT_ASSIGNMENT) -> Assignment:
    """Read and check a rubric file. Unknown slugs and malformed rubrics raise GraderError."""
    path = ASSIGNMENTS_DIR / f"{slug}.toml"
    if not path.is_file():
        raise GraderError(f"unknown assignment {slug!r}; known: {', '.join(list_assignments())}")
    raw = tomllib.loads(path.read_text())
    lim = raw["limits"]
    tests = tuple(TestSpec(id=t["id"], name=t["name"], points=float(t["points"]),
                           scenario=t.get("scenario", t["id"]),
                           outputs=tuple(t["outputs"]) if "outputs" in t else None)
                  for t in raw["tests"])
    assignment = Assignment(
        slug=raw["slug"], title=raw["title"], family=raw["family"], scenarios=raw["scenarios"],
        policy=raw.get("policy", "pass_fail"), packages=tuple(raw["runtime"]["packages"]),
        rtol=float(raw["tolerance"]["rtol"]), atol=float(raw["tolerance"]["atol"]),
        test_seconds=float(lim["test_seconds"]),
        limits=Limits(wall_seconds=float(lim["wall_seconds"]), cpu_seconds=int(lim["cpu_seconds"]),
                      memory_mb=int(lim["memory_mb"]), processes=int(lim["processes"]),
                      output_bytes=int(lim["output_bytes"]), disk_mb=int(lim["disk_mb"])),
        tests=tests,
        manual=tuple(ManualSpec(id=m["id"], name=m["name"], points=float(m["points"]))
                     for m in raw.get("manual", [])),
        training=raw.get("training"),
    )
    _check(assignment)
    return assignment


def _check(a: Assignment) -> None:
    slug = a.slug
    if a.policy not in POLICIES:
        raise GraderError(f"{slug}: policy must be one of {POLICIES}, not {a.policy!r}")
    ids = [t.id for t in a.tests]
    if len(set(ids)) != len(ids):
        raise GraderError(f"{slug}: duplicate test ids")
    module = a.scenario_module()
    missing = [t.scenario for t in a.tests if not callable(getattr(module, t.scenario, None))]
    if missing:
        raise GraderError(f"{slug}: no scenario function for {missing}")

"""Assignments as data: one folder per assignment, one rubric file per edition.

An assignment folder (`grader/assignments/<family>/`, or one under another root the caller
passes: the folders of `MLPGRADE_ASSIGNMENTS`, `GraderSettings.assignment_roots`) holds
`rubric.toml` or `rubric-<edition>.toml` files, the scenario and training modules that run
inside the sandbox, `bugs.toml` and `starter/`. The slug of `<family>/rubric-<edition>.toml` is
`<family>-<edition>` (of `<family>/rubric.toml`, `<family>`). A rubric may
`extends = "<other rubric file>"` and state only what differs: tables merge key by key,
`[[tests]]` merge by id (`drop_tests` removes some), any other array replaces the base's.
docs/assignments.md describes every key.

Loading a rubric reads TOML and nothing else: no NumPy, no scenario code (it only checks, by
parsing the scenario module's source, that every test has its function), and no environment: the
roots to look in are the caller's (by default ours alone).
"""

from __future__ import annotations

import ast
import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from grader.errors import GraderError
from grader.sandbox.base import Limits
from grader.settings import ASSIGNMENTS_DIR

OURS = (ASSIGNMENTS_DIR,)
"""The roots of the assignments that come with the grader."""
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
    """A rubric item a TA grades by hand."""

    id: str
    name: str
    points: float


@dataclass(frozen=True)
class TrainingConfig:
    """The rubric's `[training]` section, typed once at load (docs/assignments.md lists the
    keys); its run and data are grader.training's."""

    id: str
    """The run's id in the plan and the golden set, and the manual item its evidence is for."""
    module: str
    scenario: str
    hiddens: tuple[int, ...]
    activation: str
    lr: float
    momentum: float
    batch: int
    epochs: int
    dataset: str
    split: tuple[int, int, int]
    seed: int
    seconds: float
    max_final_val_error: float

    def kwargs(self, seed: int | None = None) -> dict[str, Any]:
        """The training scenario's keyword arguments (plain JSON); `seed`, the shuffles' seed
        when not the rubric's (a hand-in's run draws its own: `grader.grade`)."""
        return {"hiddens": list(self.hiddens), "activation": self.activation, "lr": self.lr,
                "momentum": self.momentum, "batch": self.batch, "epochs": self.epochs,
                "seed": self.seed if seed is None else seed}


@dataclass(frozen=True)
class HandinLayout:
    """What a hand-in looks like: the rubric's `[handin]` section."""

    folders: tuple[str, ...]
    """Top-level folders of the archive, in the order the students' tar command names them."""
    path: tuple[str, ...]
    """Those folders as they go on sys.path in the sandbox, first wins (modules by bare name)."""
    required: tuple[str, ...]
    """The files graded (`folder/module.py`); each module is imported by its bare name."""

    @property
    def modules(self) -> dict[str, str]:
        """Bare module name → the hand-in file it comes from."""
        return {PurePosixPath(f).stem: f for f in self.required}

    @property
    def tar_command(self) -> str:
        return "tar -cvf handin.tar " + " ".join(self.folders)

    @property
    def folders_text(self) -> str:
        """The folders as a student reads them: `a/ and b/`."""
        names = [f"{f}/" for f in self.folders]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Assignment:
    """One edition of an assignment, as its rubric states it."""

    slug: str
    title: str
    family: str
    """The assignment folder's name."""
    folder: Path
    """The assignment folder: scenarios, training, bugs.toml, starter/."""
    version: str
    """The rubric's own version: sha256 (12 hex digits) of its rubric file(s)."""
    scenarios: str
    """The scenario module (`<folder>/<scenarios>.py`) run inside the sandbox."""
    policy: str
    packages: tuple[str, ...]
    rtol: float
    atol: float
    test_seconds: float
    limits: Limits
    tests: tuple[TestSpec, ...]
    manual: tuple[ManualSpec, ...]
    handin: HandinLayout
    reference_dir: Path
    """Our reference hand-in (the layout of `handin`), from which the golden set is made."""
    batch_sizes: dict[str, int] = field(default_factory=dict)
    """Scenario → batch size (passed to the scenario as `batch_size`; scoring uses it to name
    "off by the batch size" mistakes)."""
    training: TrainingConfig | None = None
    """The `[training]` section, typed, or None."""

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
    def training_id(self) -> str | None:
        """The training run's id: the manual item its evidence is for."""
        return self.training.id if self.training else None

    def test(self, test_id: str) -> TestSpec:
        for spec in self.tests:
            if spec.id == test_id:
                return spec
        raise KeyError(test_id)


def _index(roots: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots:
        for path in sorted(root.glob("*/rubric*.toml")):
            edition = path.stem.removeprefix("rubric")
            if edition and not edition.startswith("-"):
                continue
            slug = path.parent.name + edition
            if slug in found:
                raise GraderError(f"assignment {slug!r} is defined twice: {found[slug]} and {path}")
            found[slug] = path
    return found


def list_assignments(roots: tuple[Path, ...] = OURS) -> list[str]:
    """The slugs of the assignments under `roots` (folders of assignment folders)."""
    return sorted(_index(roots))


def load_assignment(slug: str = DEFAULT_ASSIGNMENT, roots: tuple[Path, ...] = OURS
                    ) -> Assignment:
    """Read and check a rubric found under `roots`. Unknown slugs and malformed rubrics raise
    GraderError."""
    index = _index(roots)
    if slug not in index:
        raise GraderError(f"unknown assignment {slug!r}; known: {', '.join(sorted(index))}")
    return _load(index[slug], slug)


@cache
def _load(path: Path, slug: str) -> Assignment:
    raw, files = _read_merged(path)
    try:
        assignment = _build(raw, path.parent, slug, _version(files))
    except (KeyError, TypeError, ValueError) as exc:
        raise GraderError(f"{path}: malformed rubric ({exc!r})") from exc
    _check(assignment)
    return assignment


def _read_merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """The rubric with its `extends` chain merged in, and the files it was read from."""
    if path in seen:
        raise GraderError(f"{path}: `extends` loops")
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GraderError(f"cannot read rubric {path}: {exc}") from exc
    base = raw.pop("extends", None)
    if base is None:
        return raw, [path]
    merged, files = _read_merged(path.parent / base, (*seen, path))
    return _merge(merged, raw), [*files, path]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    dropped = set(over.get("drop_tests", ()))
    for key, value in over.items():
        if key == "drop_tests":
            continue
        if key == "tests":
            out["tests"] = _merge_tests(base.get("tests", []), value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    if dropped:
        out["tests"] = [t for t in out.get("tests", []) if t["id"] not in dropped]
    return out


def _merge_tests(base: list[dict[str, Any]], over: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tests of `over` update the base's test of the same id; new ids are appended."""
    merged = {t["id"]: dict(t) for t in base}
    for test in over:
        merged[test["id"]] = {**merged.get(test["id"], {}), **test}
    return list(merged.values())


def _version(files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _build(raw: dict[str, Any], folder: Path, slug: str, version: str) -> Assignment:
    lim, handin = raw["limits"], raw["handin"]
    tests = tuple(TestSpec(id=t["id"], name=t["name"], points=float(t["points"]),
                           scenario=t.get("scenario", t["id"]),
                           outputs=tuple(t["outputs"]) if "outputs" in t else None)
                  for t in raw["tests"])
    folders = tuple(handin["folders"])
    return Assignment(
        slug=slug, title=raw["title"], family=folder.name, folder=folder, version=version,
        scenarios=raw["scenarios"]["module"], policy=raw.get("policy", "pass_fail"),
        packages=tuple(raw["runtime"]["packages"]),
        rtol=float(raw["tolerance"]["rtol"]), atol=float(raw["tolerance"]["atol"]),
        test_seconds=float(lim["test_seconds"]),
        limits=Limits(wall_seconds=float(lim["wall_seconds"]), cpu_seconds=int(lim["cpu_seconds"]),
                      memory_mb=int(lim["memory_mb"]), processes=int(lim["processes"]),
                      output_bytes=int(lim["output_bytes"]), disk_mb=int(lim["disk_mb"])),
        tests=tests,
        manual=tuple(ManualSpec(id=m["id"], name=m["name"], points=float(m["points"]))
                     for m in raw.get("manual", [])),
        handin=HandinLayout(folders=folders, path=tuple(handin.get("path", folders)),
                            required=tuple(handin["required"])),
        reference_dir=(folder / handin["reference"]).resolve(),
        batch_sizes={k: int(v) for k, v in raw["scenarios"].get("batch_size", {}).items()},
        training=_training(raw["training"], slug) if "training" in raw else None,
    )


def _training(t: dict[str, Any], slug: str) -> TrainingConfig:
    for key in ("id", "module", "scenario", "seconds"):
        if key not in t:
            raise GraderError(f"{slug}: [training] lacks {key!r}")
    return TrainingConfig(id=t["id"], module=t["module"], scenario=t["scenario"],
                          hiddens=tuple(t["hiddens"]), activation=t["activation"],
                          lr=float(t["lr"]), momentum=float(t["momentum"]),
                          batch=int(t["batch"]), epochs=int(t["epochs"]), dataset=t["dataset"],
                          split=tuple(t["split"]), seed=int(t["seed"]),
                          seconds=float(t["seconds"]),
                          max_final_val_error=float(t["max_final_val_error"]))


def _check(a: Assignment) -> None:
    slug = a.slug
    if a.policy not in POLICIES:
        raise GraderError(f"{slug}: policy must be one of {POLICIES}, not {a.policy!r}")
    ids = [t.id for t in a.tests]
    if len(set(ids)) != len(ids):
        raise GraderError(f"{slug}: duplicate test ids")
    if len(a.handin.modules) != len(a.handin.required) or \
            any(PurePosixPath(f).parts[0] not in a.handin.folders for f in a.handin.required):
        raise GraderError(f"{slug}: [handin] required files must lie in its folders and have "
                          "distinct module names")
    wanted = {a.scenarios: [t.scenario for t in a.tests]}
    if a.training:
        wanted.setdefault(a.training.module, []).append(a.training.scenario)
    for module, functions in wanted.items():
        missing = sorted(set(functions) - _functions_of(a.folder / f"{module}.py"))
        if missing:
            raise GraderError(f"{slug}: no scenario function for {missing} in {module}.py")


@cache
def _functions_of(path: Path) -> frozenset[str]:
    """The top-level functions a module defines, read from its source (never imported here:
    scenario code runs only inside the sandbox)."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise GraderError(f"cannot read scenario module {path}: {exc}") from exc
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef))

"""What grading produces: small frozen dataclasses.

`GradeReport.to_dict()` is THE serializer (the `--format json` document and what the service
stores) and `GradeReport.from_dict()` reads it back: `from_dict(r.to_dict()) == r`, also after a
trip through JSON. The plots' bytes are not part of it: the service keeps them as blobs.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class TestStatus(enum.StrEnum):
    """How the hand-in's code ran one test. Stored as its value, so a stored report keeps plain
    strings and reports stored before this enum existed read back the same."""

    __test__ = False  # pytest: not a test class (a dunder name is no member of the enum)
    OK = "ok"
    """It ran to the end; its outputs were compared (right or wrong)."""
    ERROR = "error"
    """It raised an exception."""
    TIMEOUT = "timeout"
    """It used more CPU (or waited longer) than the test allows."""
    CRASHED = "crashed"
    """Its process died: killed by a signal, or it called exit()."""
    TOO_BIG = "too_big"
    """It returned far more data than the test expects."""
    OUTPUT_LIMIT = "output_limit"
    """It printed far too much."""
    MALFORMED = "malformed"
    """Its results could not be read back."""
    NOT_RUN = "not_run"
    """It never ran to a report: intake refused the hand-in, or the run was stopped first."""


@dataclass(frozen=True)
class OutputCheck:
    """The comparison of one named output of one test with its golden value."""

    name: str
    passed: bool
    message: str
    """One line a student can act on; empty when passed."""
    details: dict[str, Any] = field(default_factory=dict)
    """Machine-readable facts (expected/got dtype and shape, mismatch count and share, largest
    error and where, nan/inf, hint). Never holds expected values themselves."""


@dataclass(frozen=True)
class TestResult:
    """One course test: pass/fail (or a share under the partial policy) and its feedback."""

    id: str
    name: str
    points: float
    max_points: float
    passed: bool
    feedback: str
    status: TestStatus = TestStatus.OK
    """How the hand-in's code ran this test."""
    checks: tuple[OutputCheck, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class ManualItem:
    """A rubric item a TA grades by hand (e.g. training statistics)."""

    id: str
    name: str
    max_points: float
    points: float | None = None
    comment: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GradeReport:
    """The outcome of grading one hand-in against one golden set."""

    assignment: str
    golden_version: str
    score: float
    max_score: float
    tests: tuple[TestResult, ...]
    manual: tuple[ManualItem, ...] = ()
    sandbox: dict[str, Any] = field(default_factory=dict)
    """The sandbox's verdict, exit code, signal, wall and CPU seconds, backend."""
    intake: dict[str, Any] = field(default_factory=dict)
    """What intake kept, dropped and found missing; notes."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in intake, run, compare."""
    grader_version: str = ""
    artifacts: tuple[str, ...] = ()
    """Names of the files made for people beside this report (the training plots)."""
    plots: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    """Those files' bytes (name → PNG) while in memory; never serialized."""

    def with_training(self, result: TrainingResult) -> GradeReport:
        """This report with a training run's evidence on its manual item and its plots."""
        manual = tuple(dataclasses.replace(m, evidence=result.evidence)
                       if m.id == result.item_id else m for m in self.manual)
        return dataclasses.replace(self, manual=manual, artifacts=tuple(sorted(result.plots)),
                                   plots=dict(result.plots))

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON types; `plots` left out, `artifacts` as a list of names."""
        data = asdict(self)
        del data["plots"]
        return _lists(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeReport:
        """The report `to_dict` wrote (read back from storage)."""
        tests = tuple(TestResult(**{**t, "status": TestStatus(t.get("status", TestStatus.OK)),
                                    "checks": tuple(OutputCheck(**c) for c in t["checks"])})
                      for t in data["tests"])
        manual = tuple(ManualItem(**m) for m in data.get("manual", ()))
        return cls(**{**data, "tests": tests, "manual": manual,
                      "artifacts": tuple(data.get("artifacts", ()))})


@dataclass(frozen=True)
class TrainingResult:
    """A training run's outcome: evidence for the TA who grades one manual item, and plots."""

    item_id: str
    """The manual item the evidence is for (the rubric's `[training] item`)."""
    evidence: dict[str, Any]
    """Plain JSON: the advisory checks, the curves, or why the run could not be made."""
    plots: dict[str, bytes] = field(default_factory=dict, repr=False)
    """name → PNG bytes (the four course plots), empty when the run produced no curves."""


def _lists(value: Any) -> Any:
    """Tuples as lists and enums as their values, recursively: what a JSON round trip would make
    of them."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value

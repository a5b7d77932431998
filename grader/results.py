"""What grading produces: small frozen dataclasses, turned into plain JSON by `to_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
    status: str = "ok"
    """How the hand-in's code ran this test: ok, error, timeout, crashed, not_run, missing_file."""
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
    artifacts: dict[str, bytes] = field(default_factory=dict, repr=False)
    """Files for people, not for the JSON document: the training plots (name → PNG bytes)."""

    def to_dict(self) -> dict[str, Any]:
        """The `--format json` document (and what the service stores); artifacts excluded."""
        data = asdict(self)
        del data["artifacts"]
        for test in data["tests"]:
            test["checks"] = list(test["checks"])
        data["tests"] = list(data["tests"])
        data["manual"] = list(data["manual"])
        return data

"""The grading library: bytes of a hand-in in, a GradeReport out.

It knows no web, database or queue; `worker/` and `submissions_api/` build on it. The public API
(each name lives in the module in brackets, where consumers import it from):

- `grade_handin`, `train_handin` (grader.grade)
- `Assignment`, `load_assignment`, `list_assignments` (grader.rubric)
- `GradeReport`, `TrainingResult` (grader.results)
- `GoldenSet`, `load_golden`, `LocalGoldenStore` (grader.golden.store); the archive bytes and
  `materialize` (grader.golden.archive); `generate_golden`, `verify_golden` (grader.golden.canary)
- `GraderError`, `SubmissionError`, `InfrastructureError`, `GoldenSetError` (grader.errors)

They are re-exported here lazily, so that `import grader.rubric` (the web process reading a
rubric) does not import NumPy and the runner's machinery.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "grade_handin": "grader.grade", "train_handin": "grader.grade",
    "Assignment": "grader.rubric", "load_assignment": "grader.rubric",
    "list_assignments": "grader.rubric",
    "GradeReport": "grader.results", "TrainingResult": "grader.results",
    "GoldenSet": "grader.golden.store", "load_golden": "grader.golden.store",
    "LocalGoldenStore": "grader.golden.store",
    "GraderError": "grader.errors", "SubmissionError": "grader.errors",
    "InfrastructureError": "grader.errors", "GoldenSetError": "grader.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

"""The grading library: bytes of a hand-in in, a GradeReport out.

It knows no web, database or queue; `worker/` and `submissions_api/` build on it. Its public API,
imported from the module that defines each name:

- `grade_handin`, `train_handin` (grader.grade)
- `Assignment`, `load_assignment`, `list_assignments` (grader.rubric)
- `GradeReport`, `TestStatus`, `TrainingResult` (grader.results); `student_view`
  (grader.student_view)
- `GoldenSet`, `load_golden`, `LocalGoldenStore` (grader.golden.store); the archive bytes and
  `materialize` (grader.golden.archive); `generate_golden`, `verify_golden` (grader.golden.canary)
- `GraderError`, `SubmissionError`, `InfrastructureError`, `GoldenSetError` (grader.errors)

Nothing is re-exported here, so that `import grader.rubric` (the web process reading a rubric)
imports only what the rubric needs.
"""

__version__ = "0.1.0"

"""Who is at fault when grading goes wrong.

    GraderError
    ├── SubmissionError      the student's: shown to them, costs that test or that submission
    └── InfrastructureError  ours: retried, reported as an infrastructure failure, never a zero
        └── GoldenSetError   a golden set that is corrupt or does not fit its assignment

A malformed rubric or an unknown assignment raises plain GraderError (the instructor's to fix).
"""


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""


class SubmissionError(GraderError):
    """The hand-in is at fault. The message is shown to the student as it is."""


class InfrastructureError(GraderError):
    """The grader, its sandbox or its machine is at fault. Retry; never charge the student."""


class GoldenSetError(InfrastructureError):
    """A golden set cannot be read, does not match its sha256, or is for another assignment."""

"""Request and response bodies (what /docs shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from submissions_api import logins

MAX_COMMENT = 5000
"""The longest comment a TA may give with manual points."""


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(Out):
    id: int
    login: str
    name: str
    role: str


class UserIn(BaseModel):
    login: str = Field(min_length=1, max_length=100, description=f"a login: {logins.RULE}")
    name: str = ""
    role: Literal["student", "ta", "instructor"] = "student"

    @field_validator("login")
    @classmethod
    def _login(cls, value: str) -> str:
        """The login alphabet (logins.py), refused with its reason as a validation error."""
        if problem := logins.login_problem(value):
            raise ValueError(problem)
        return value


class UserPatch(BaseModel):
    role: Literal["student", "ta", "instructor"] | None = None
    name: str | None = Field(default=None, max_length=200)


class TokenInfo(Out):
    """A token's record: never the token (shown once) nor its hash."""

    id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


class TokenOut(BaseModel):
    user: UserOut
    token: str = Field(description="shown once; only its hash is stored")


class AssignmentOut(Out):
    slug: str
    title: str
    max_score: float
    rubric_version: str
    active_golden_id: int | None
    deadline: datetime | None
    late_deadline: datetime | None
    late_penalty: float
    submission_limit: int | None
    cooldown_seconds: int
    hidden: bool = False
    visible_from: datetime | None = None
    release_at: datetime | None = None
    canvas_assignment_id: str = ""


class AssignmentUpdate(BaseModel):
    deadline: datetime | None = None
    late_deadline: datetime | None = None
    late_penalty: float | None = Field(default=None, ge=0, le=1)
    submission_limit: int | None = Field(default=None, ge=1)
    cooldown_seconds: int | None = Field(default=None, ge=0)
    hidden: bool | None = Field(default=None, description="students do not see it")
    visible_from: datetime | None = Field(default=None,
                                          description="students see it from then on")
    release_at: datetime | None = Field(
        default=None, description="students see scores and feedback from then on (null: at once)")
    canvas_assignment_id: str | None = Field(
        default=None, pattern=r"^[0-9]{0,20}$",
        description="the assignment's id in Canvas (its gradebook column \"Title (id)\"): "
        "the Canvas CSV then fills that column (null or \"\": none)")


class ExtensionIn(BaseModel):
    deadline: datetime
    late_deadline: datetime | None = None
    reason: str = ""


class ExtensionOut(BaseModel):
    login: str
    deadline: datetime
    late_deadline: datetime | None
    reason: str


class SubmissionAccepted(BaseModel):
    id: int
    sha256: str
    size: int
    status: str
    server_time: datetime
    received_at: datetime
    late: bool
    late_penalty: float
    queue_position: int | None
    """1: next in its queue; None when it could not be read (the submission is accepted)."""


class SubmissionOut(BaseModel):
    id: int
    assignment: str
    login: str
    sha256: str
    size: int
    received_at: datetime
    status: str
    late: bool
    late_penalty: float
    score: float | None = Field(description="the automatic tests' score, before the late penalty")
    final_score: float | None = Field(
        description="automatic score plus manual points, after the late penalty")
    max_score: float = Field(description="of the automatic tests")
    manual_score: float | None = Field(
        description="manual points a TA gave the student for this assignment (None: none yet); "
        "they count with whichever submission counts")
    manual_max_score: float
    manual: list[dict[str, Any]] = Field(
        description="manual rubric items: id, name, max_points, points (None: waiting for a TA), "
                    "comment, graded_at, given_on (the submission they were given on)")
    manual_pending: bool = Field(description="graded automatically, manual points still to give")
    score_text: str = Field(
        default="", description="the score as every page shows it: automatic + manual − late "
        "penalty = total (services/scores.py)")
    run_id: int | None = Field(description="the grading run whose result this is")
    training: str | None = Field(
        default=None, description="the run's training run (evidence and plots for the manual "
        "item, after the automatic tests): pending, done or failed; with the result only")
    queue_position: int
    counts_toward_limit: bool
    released: bool = Field(default=True, description="False: scores and feedback are held back "
                           "until the assignment's release_at (students only)")
    result: dict[str, Any] | None = Field(
        default=None, description="the current run's report as the caller may see it: per test "
        "its points and feedback, `cause`, the index in `causes` of the group of failed "
        "tests it belongs to (None: passed), and `where`, the code to look at for its wrong "
        "values; `causes`: the failed tests grouped by one reason, the one to fix first first "
        "(kind, fix_first, fix_first_name, tests, others, count, message, location, places, "
        "layer, look, more)")
    staff: dict[str, Any] | None = Field(default=None, description="attempts, lease, error")


class ManualGradeIn(BaseModel):
    points: float = Field(ge=0, description="between 0 and the item's maximum")
    comment: str = Field(default="", max_length=MAX_COMMENT)


class RunOut(Out):
    id: int
    attempt: int
    reason: str
    regrade_id: int | None
    outcome: str
    score: float | None
    max_score: float | None
    golden_version: str
    grader_version: str
    rubric_version: str = Field(default="", description="the rubric's content hash it was "
                                "graded under (the assignment's rubric_version then)")
    error: str
    worker: str
    started_at: datetime | None
    finished_at: datetime
    report: dict[str, Any] | None = None
    artifacts: dict[str, str] | None = Field(default=None,
                                             description="plot name → sha256")
    training: str | None = Field(default=None, description="pending, done, failed or None")


class RegradeIn(BaseModel):
    latest_only: bool = True


class RegradeOut(BaseModel):
    id: int
    assignment: str
    scope: str
    created_at: datetime
    total: int
    done: int
    failed: int
    skipped: int
    pending: int
    finished: bool
    changed: int
    items: list[dict[str, Any]]


class GoldenSetOut(Out):
    id: int
    status: str
    version: str | None
    sha256: str | None
    numpy_version: str | None
    canary_passed: bool | None
    canary: dict[str, Any] | None
    error: str
    created_at: datetime
    activated_at: datetime | None
    active: bool = False

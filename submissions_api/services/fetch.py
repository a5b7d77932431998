"""The rows a request names, or NotFound: the first step of every service function."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound
from submissions_api.store import crud
from submissions_api.store.models import Assignment, User
from submissions_api.store.models_golden import GoldenSet
from submissions_api.store.models_grading import GradingRun, Regrade, Submission

Row = TypeVar("Row")


def _found(row: Row | None, what: str) -> Row:
    if row is None:
        raise NotFound(what)
    return row


def assignment(session: Session, slug: str) -> Assignment:
    return _found(crud.get_assignment(session, slug=slug), "assignment")


def assignment_by_id(session: Session, assignment_id: int) -> Assignment:
    return _found(crud.get_assignment_by_id(session, assignment_id=assignment_id), "assignment")


def submission(session: Session, submission_id: int) -> Submission:
    return _found(crud.get_submission(session, submission_id=submission_id), "submission")


def user(session: Session, login: str) -> User:
    return _found(crud.get_user_by_login(session, login=login), "user")


def run(session: Session, run_id: int) -> GradingRun:
    return _found(crud.get_run(session, run_id=run_id), "run")


def regrade(session: Session, regrade_id: int) -> Regrade:
    return _found(crud.get_regrade(session, regrade_id=regrade_id), "regrade")


def golden_set(session: Session, golden_id: int) -> GoldenSet:
    return _found(crud.get_golden_set(session, golden_id=golden_id), "golden set")

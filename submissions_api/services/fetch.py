"""The rows a request names, or NotFound: the first step of every service function."""

from __future__ import annotations

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound
from submissions_api.store import crud
from submissions_api.store.models import (
    Assignment,
    GoldenSet,
    GradingRun,
    Regrade,
    Submission,
    User,
)


def assignment(session: Session, slug: str) -> Assignment:
    row = crud.get_assignment(session, slug=slug)
    if row is None:
        raise NotFound("assignment")
    return row


def submission(session: Session, submission_id: int) -> Submission:
    row = crud.get_submission(session, submission_id=submission_id)
    if row is None:
        raise NotFound("submission")
    return row


def user(session: Session, login: str) -> User:
    row = crud.get_user_by_login(session, login=login)
    if row is None:
        raise NotFound("user")
    return row


def run(session: Session, run_id: int) -> GradingRun:
    row = crud.get_run(session, run_id=run_id)
    if row is None:
        raise NotFound("run")
    return row


def regrade(session: Session, regrade_id: int) -> Regrade:
    row = crud.get_regrade(session, regrade_id=regrade_id)
    if row is None:
        raise NotFound("regrade")
    return row


def golden_set(session: Session, golden_id: int) -> GoldenSet:
    row = crud.get_golden_set(session, golden_id=golden_id)
    if row is None:
        raise NotFound("golden set")
    return row

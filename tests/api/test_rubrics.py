"""The service's one reader of rubrics (store/rubrics.py), on both real stacks."""

from __future__ import annotations

from grader import __version__
from grader.rubric import load_assignment
from submissions_api.store import crud, rubrics
from submissions_api.store.rubrics import sync_rubrics


def test_assignment_rows_carry_the_rubrics_own_version(sessions):
    with sessions() as session:
        sync_rubrics(session)
        session.commit()
        row = crud.get_assignment(session, slug="hw1p1-s20")
        own = load_assignment("hw1p1-s20").version
        assert row.rubric_version == own and own != __version__ and len(own) == 12
        assert crud.get_assignment(session, slug="hw1p1-s21").rubric_version != own


def test_rubrics_are_read_once_per_process():
    assert rubrics.assignment("hw1p1-s20") is rubrics.assignment("hw1p1-s20")
    assert rubrics.grader_settings() is rubrics.grader_settings()
    assert {"hw1p1-s20", "hw1p1-s21"} <= set(rubrics.slugs())

"""Cluster hints (issue 28 item 4) on SQLite and PostgreSQL: written by a TA for one failure
cluster, found for every run that falls in it, counted once per student reached, cleaned of
control characters, and carried to another assignment through `mlpgrade hints export|import`."""

from __future__ import annotations

import pytest

from submissions_api import cli
from submissions_api.errors import Forbidden, NotFound, Refused
from submissions_api.services import feedback, hints
from submissions_api.store import crud
from submissions_api.store.crud import hints as hint_store

SLUG = "hw1p1-s20"


def summary(n: int, test: str = "relu_derivative") -> dict:
    """A run summary failing `test` with values wrong at `n` positions (numbers vary between
    students; the cluster does not)."""
    return {"tests": [{"id": test, "name": test, "passed": False, "status": "ok",
                       "messages": [f"derivative values differ at {n} of 600 positions"]},
                      {"id": "mc", "name": "mc", "passed": True}]}


def known(slug: str = SLUG) -> dict:
    return {c["key"]: c for c in feedback.clusters(slug, summary(7))}


def login(session, name: str):
    return crud.get_user_by_login(session, login=name)


def test_hint_reaches_each_student_of_its_cluster_once(sessions, users):
    with sessions() as session:
        ta, alice, bob = (login(session, n) for n in ("ta1", "alice", "bob"))
        [key] = known()
        hints.write_hint(session, ta, SLUG, key, "Look at state == 0.", known())
        assignment = crud.get_assignment(session, slug=SLUG)
        for student, n in ((alice, 3), (alice, 300), (bob, 41)):  # alice twice: counted once
            shown = hints.hints_for_run(session, assignment, summary(n), student)
            assert shown == [{"text": "Look at state == 0.",
                              "test": "ReLU Non-Linearity (derivative)"}]
        assert hints.hints_for_run(session, assignment, summary(5, "tanh_forward"), bob) == []
        hints.hints_for_run(session, assignment, summary(9), None)  # staff: not a reach
        [row] = hints.hint_rows(session, assignment)
        assert row["reached"] == 2 and row["cluster"] == key


def test_hint_text_is_cleaned_and_only_staff_write_known_clusters(sessions, users):
    with sessions() as session:
        ta, alice = login(session, "ta1"), login(session, "alice")
        [key] = known()
        hint = hints.write_hint(session, ta, SLUG, key,
                                "<b>x</b>\r\nline\x00two\x1b[31m\u202eevil\u2066 ", known())
        assert hint.text == "<b>x</b>\nlinetwo[31mevil"
        with pytest.raises(Forbidden):
            hints.write_hint(session, alice, SLUG, key, "mine", known())
        with pytest.raises(NotFound):
            hints.write_hint(session, ta, SLUG, "0" * 16, "no such cluster", known())
        # a cluster that left the class keeps its hint editable, and empty text removes it
        assert hints.write_hint(session, ta, SLUG, key, "edited", {}).text == "edited"
        assert hints.write_hint(session, ta, SLUG, key, " \x07 ", {}) is None
        assert hint_store.list_hints(session, assignment_id=hint.assignment_id) == []


def test_hints_export_and_import_into_the_next_semester(sessions, users, backend, monkeypatch,
                                                        tmp_path, capsys):
    with sessions() as session:
        [key] = known()
        hints.write_hint(session, login(session, "ta1"), SLUG, key, "Hint ✓ for next year",
                         known())
    monkeypatch.setenv("MLPGRADE_DATABASE_URL", backend.database_url)
    monkeypatch.setenv("MLPGRADE_HOME", str(backend.home))
    path = tmp_path / "hints.json"
    assert cli.main(["hints", "export", "--assignment", SLUG, "--file", str(path)]) == 0
    assert "Hint ✓ for next year" in path.read_text(encoding="utf-8")
    assert cli.main(["hints", "import", "--assignment", "hw1p1-s21", "--file",
                     str(path)]) == 0
    assert "imported 1 hints into hw1p1-s21" in capsys.readouterr().out
    with sessions() as session:
        s21 = crud.get_assignment(session, slug="hw1p1-s21")
        shown = hints.hints_for_run(session, s21, summary(12), None)
        assert [h["text"] for h in shown] == ["Hint ✓ for next year"]
        with pytest.raises(Refused):
            hints.import_hints(session, "hw1p1-s21", b'{"hints": [{"kind": 1}]}')
        with pytest.raises(Refused):
            hints.import_hints(session, "hw1p1-s21", b" " * (hints.MAX_FILE + 1))

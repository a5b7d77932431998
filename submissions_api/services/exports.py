"""What a course takes out of the service for its LMS and its TAs: the gradebook as Canvas
imports it, each student's points per test, and who fails a given test.

Every export is of the submission that counts (the policy's choice, `gradebook.choose`), so it
agrees with the gradebook CSV and the dashboard. Text cells that a spreadsheet would read as a
formula (`=`, `+`, `-`, `@` first) are quoted with a leading `'`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from grader.rubric import load_assignment
from submissions_api.errors import NotFound
from submissions_api.grades import total_max_score
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.gradebook import Policy, cell, gradebook_csv, gradebook_table
from submissions_api.store import crud
from submissions_api.store.models import Assignment, Role, User

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""The columns Canvas's gradebook import reads before the assignment columns; it matches a row
to a student by SIS Login ID (our login) when ID and SIS User ID are empty."""


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _points(value: object) -> str:
    return "" if value in ("", None) else f"{float(value):g}"


def _counted(session: Session, user: User, slug: str, policy: Policy
             ) -> tuple[Assignment, list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The gradebook rows (one per student) and the run summaries of the submissions that
    count, by submission id (TAs only)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    rows = gradebook_table(session, assignment, policy)
    ids = [r["submission_id"] for r in rows if r["submission_id"] != ""]
    return assignment, rows, crud.current_summaries(session, submission_ids=ids)


def canvas_csv(session: Session, user: User, slug: str, policy: Policy) -> str:
    """The gradebook as Canvas imports it: a "Points Possible" row, then one row per student
    with the score that counts (manual points and late penalty included); empty for a student
    without a graded submission, which Canvas leaves as it was."""
    assignment, rows, _ = _counted(session, user, slug, policy)
    header = (*CANVAS_COLUMNS, cell(assignment.title or assignment.slug))
    possible = ("Points Possible", "", "", "", "", _points(total_max_score(assignment)))
    body = [(cell(r["name"] or r["login"]), "", "", cell(r["login"]), "", _points(r["score"]))
            for r in rows]
    return _csv(header, [possible, *body])


def tests_csv(session: Session, user: User, slug: str, policy: Policy) -> str:
    """Each student's points per automatic test (a column per test id; the second row names
    the tests, the third gives their points) on the submission that counts; empty cells for a
    student without a graded submission."""
    _, rows, summaries = _counted(session, user, slug, policy)
    tests = load_assignment(slug).tests
    header = ("login", "name", "submission_id", "automatic_score", *(t.id for t in tests))
    names = ("", "(test name)", "", "", *(cell(t.name) for t in tests))
    points = ("", "(points)", "", _points(sum(t.points for t in tests)),
              *(_points(t.points) for t in tests))
    body = []
    for r in rows:
        summary = summaries.get(r["submission_id"])  # None: no graded submission ("")
        passed = {t["id"]: t["passed"] for t in (summary or {}).get("tests", [])}
        body.append((cell(r["login"]), cell(r["name"]), r["submission_id"],
                     _points(r["raw_score"]),
                     *("" if summary is None else _points(t.points if passed.get(t.id) else 0)
                       for t in tests)))
    return _csv(header, [names, points, *body])


def failing(session: Session, user: User, slug: str, test_id: str, policy: Policy
            ) -> dict[str, Any]:
    """Who fails one test on the submission that counts: the test (id, name, points) and one
    entry per such student (login, name, submission_id, status, message), by login."""
    _, rows, summaries = _counted(session, user, slug, policy)
    spec = next((t for t in load_assignment(slug).tests if t.id == test_id), None)
    if spec is None:
        raise NotFound("test")
    students = []
    for r in rows:
        summary = summaries.get(r["submission_id"])  # None: no graded submission ("")
        test = next((t for t in (summary or {}).get("tests", []) if t["id"] == test_id), None)
        if summary is None or (test is not None and test["passed"]):
            continue
        messages = (test or {}).get("messages") or ["the test did not run"]
        students.append({"login": r["login"], "name": r["name"],
                         "submission_id": r["submission_id"],
                         "status": (test or {}).get("status", "missing"),
                         "message": messages[0]})
    graded = sum(1 for r in rows if r["submission_id"] in summaries)
    return {"test": {"id": spec.id, "name": spec.name, "points": spec.points},
            "graded_students": graded, "students": students}


def failing_csv(result: dict[str, Any]) -> str:
    """`failing`'s students as CSV."""
    return _csv(("login", "name", "submission_id", "status", "message"),
                [(cell(s["login"]), cell(s["name"]), s["submission_id"], s["status"],
                  cell(s["message"])) for s in result["students"]])


FORMATS = ("mlpgrade", "canvas", "tests")
"""The gradebook CSV's formats: ours (`gradebook.COLUMNS`), Canvas's import, points per test."""


def gradebook_export(session: Session, user: User, slug: str, policy: Policy, fmt: str
                     ) -> tuple[str, str]:
    """(CSV text, file name) of the gradebook in one of FORMATS (TAs)."""
    if fmt == "canvas":
        return canvas_csv(session, user, slug, policy), f"{slug}-{policy}-canvas.csv"
    if fmt == "tests":
        return tests_csv(session, user, slug, policy), f"{slug}-{policy}-tests.csv"
    return gradebook_csv(session, user, slug, policy), f"{slug}-{policy}.csv"


def download_headers(filename: str) -> dict[str, str]:
    """The headers that make a browser save a CSV under this name."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}

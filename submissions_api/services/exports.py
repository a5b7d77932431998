"""What a course takes out of the service for its LMS and its TAs: the gradebook as Canvas
imports it, each student's points per test, and who fails a given test.

Every export is of the submission that counts (the policy's choice, `gradebook.choose`), so it
agrees with the gradebook CSV and the dashboard. Every CSV is written by `csvout`: no control
characters, and text cells that a spreadsheet would read as a formula quoted with a `'`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound
from submissions_api.grades import manual_max_score, total_max_score
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.csvout import cell, number, write_csv
from submissions_api.services.gradebook import Policy, gradebook_csv, gradebook_table
from submissions_api.services.scores import score_line
from submissions_api.store import crud, rubrics
from submissions_api.store.models import Assignment, Role, User

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""The columns Canvas's gradebook import reads before the assignment columns; it matches a row
to a student by ID, then SIS User ID, then SIS Login ID: we give the ones a Canvas roster
import kept (services/roster_import.py), and our login as SIS Login ID otherwise."""
MOODLE_ID_COLUMNS = ("Email address", "ID number", "Username", "Full name")
"""The identity columns of the Moodle CSV: Moodle's "Import grades → CSV file" maps one of them
(Map from) to its user field (Map to: useremail, useridnumber, username)."""
_points = number


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
    without a graded submission, which Canvas leaves as it was. The assignment's column is
    Canvas's own "Title (id)" once its Canvas id is known, so the import fills that column."""
    assignment, rows, _ = _counted(session, user, slug, policy)
    people = {u.login: u for u in crud.list_users(session)}
    title = assignment.title or assignment.slug
    column = f"{title} ({assignment.canvas_assignment_id})" \
        if assignment.canvas_assignment_id else title
    possible = ("Points Possible", "", "", "", "", _points(total_max_score(assignment)))
    body = []
    for r in rows:
        u = people.get(r["login"])
        body.append((cell(r["name"] or r["login"]), cell(u.lms_id if u else ""),
                     cell(u.sis_user_id if u else ""),
                     cell((u.sis_login_id if u else "") or r["login"]),
                     cell(u.section if u else ""), _points(r["score"])))
    return write_csv((*CANVAS_COLUMNS, cell(column)), [possible, *body])


def moodle_csv(session: Session, user: User, slug: str, policy: Policy, *,
               feedback: bool = False) -> str:
    """The gradebook as Moodle's "Import grades → CSV file" reads it: one row per student with
    the identity columns (MOODLE_ID_COLUMNS: map "Email address" to useremail, or "ID number"
    to useridnumber) and one column of points for the assignment (map it to its grade item;
    points are out of our maximum, `total_max_score`); with `feedback`, a column with the score
    as the pages write it (map it to the item's feedback). A student without a graded
    submission has an empty grade, which Moodle leaves as it was."""
    assignment, rows, _ = _counted(session, user, slug, policy)
    people = {u.login: u for u in crud.list_users(session)}
    title = assignment.title or assignment.slug
    header = [*MOODLE_ID_COLUMNS, cell(title), *([cell(f"Feedback: {title}")] if feedback else [])]
    maxima = (assignment.max_score, manual_max_score(assignment.slug))
    body = []
    for r in rows:
        u = people.get(r["login"])
        row = [cell(u.email if u else ""), cell(u.sis_user_id if u else ""), cell(r["login"]),
               cell(r["name"]), _points(r["score"])]
        if feedback:
            row.append(_feedback(r, *maxima))
        body.append(row)
    return write_csv(header, body)


def _feedback(row: dict[str, Any], auto_max: float, manual_max: float) -> str:
    """The counted score as every page writes it ("automatic 95/95 + manual 5/5 = 100/100")."""
    if row["submission_id"] == "":
        return ""
    return cell(score_line(
        score=row["raw_score"], max_score=auto_max,
        manual_score=None if row["manual_score"] == "" else row["manual_score"],
        manual_max_score=manual_max, late_penalty=float(row["late_penalty"] or 0),
        manual_pending=row["manual_pending"] is True).text)


def tests_csv(session: Session, user: User, slug: str, policy: Policy) -> str:
    """Each student's points per automatic test (a column per test id; the second row names
    the tests, the third gives their points) on the submission that counts; empty cells for a
    student without a graded submission."""
    _, rows, summaries = _counted(session, user, slug, policy)
    tests = rubrics.assignment(slug).tests
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
    return write_csv(header, [names, points, *body])


def failing(session: Session, user: User, slug: str, test_id: str, policy: Policy
            ) -> dict[str, Any]:
    """Who fails one test on the submission that counts: the test (id, name, points) and one
    entry per such student (login, name, submission_id, status, message), by login."""
    _, rows, summaries = _counted(session, user, slug, policy)
    spec = next((t for t in rubrics.assignment(slug).tests if t.id == test_id), None)
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
    return write_csv(("login", "name", "submission_id", "status", "message"),
                     [(cell(s["login"]), cell(s["name"]), s["submission_id"], cell(s["status"]),
                       cell(s["message"])) for s in result["students"]])


FORMATS = ("mlpgrade", "canvas", "moodle", "tests")
"""The gradebook CSV's formats: ours (`gradebook.CSV_COLUMNS`), Canvas's and Moodle's grade
import, points per test."""


def gradebook_export(session: Session, user: User, slug: str, policy: Policy, fmt: str, *,
                     feedback: bool = False) -> tuple[str, str]:
    """(CSV text, file name) of the gradebook in one of FORMATS (TAs); `feedback` adds the
    Moodle CSV's feedback column."""
    if fmt == "canvas":
        return canvas_csv(session, user, slug, policy), f"{slug}-{policy}-canvas.csv"
    if fmt == "moodle":
        return (moodle_csv(session, user, slug, policy, feedback=feedback),
                f"{slug}-{policy}-moodle.csv")
    if fmt == "tests":
        return tests_csv(session, user, slug, policy), f"{slug}-{policy}-tests.csv"
    return gradebook_csv(session, user, slug, policy), f"{slug}-{policy}.csv"


def download_headers(filename: str) -> dict[str, str]:
    """The headers that make a browser save a CSV under this name."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}

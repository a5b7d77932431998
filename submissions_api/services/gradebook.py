"""The gradebook: which submission counts (best or latest: the one copy of that rule), the
table the CSV and the pages show, the TA dashboard's per-student rows, and class statistics."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from submissions_api.grades import (
    COUNTING_POLICY,
    Entry,
    Policy,
    choose,
    read_entries,
    total_max_score,
)
from submissions_api.security import require_role
from submissions_api.services import classviews, fetch
from submissions_api.services.classviews import kept
from submissions_api.services.csvout import cell, write_csv
from submissions_api.services.scores import ScoreLine, score_line
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_grading import Status

COLUMNS = ("login", "name", "score", "raw_score", "manual_score", "late_penalty", "max_score",
           "submission_id", "received_at", "late", "graded_submissions", "manual_pending",
           "status")
"""`score` = (`raw_score` + `manual_score`) × (1 − `late_penalty`); `max_score` counts the manual
points too; `manual_pending` says the student still waits for a TA's manual points (manual points
belong to the student's assignment: they count with whichever submission counts)."""


def entry_line(entry: Entry, max_score: float, manual_max: float) -> ScoreLine:
    """An entry's score as every page shows it (services/scores.py)."""
    return score_line(score=entry.raw_score, max_score=max_score,
                      manual_score=entry.manual_score, manual_max_score=manual_max,
                      late_penalty=entry.late_penalty, manual_pending=entry.manual_pending)


def gradebook(students: dict[str, list[Entry]], *, policy: Policy, max_score: float
              ) -> list[dict[str, Any]]:
    """One row per student (COLUMNS), sorted by login."""
    return [gradebook_row(login, entries, policy, max_score)
            for login, entries in sorted(students.items())]


def gradebook_row(login: str, entries: list[Entry], policy: Policy, max_score: float
                  ) -> dict[str, Any]:
    """A student's gradebook row (COLUMNS)."""
    chosen = choose(entries, policy)
    graded = sum(1 for e in entries if e.status == Status.GRADED)
    row: dict[str, Any] = {c: "" for c in COLUMNS}
    row.update(login=login, name=entries[0].name if entries else "", max_score=max_score,
               graded_submissions=graded)
    if chosen is None:
        row["status"] = "no graded submission" if any(e.submission_id for e in entries) \
            else "no submission"
    else:
        row.update(score=chosen.final, raw_score=chosen.raw_score,
                   manual_score="" if chosen.manual_score is None else chosen.manual_score,
                   late_penalty=chosen.late_penalty, submission_id=chosen.submission_id,
                   received_at=chosen.received_at.isoformat(), late=chosen.late,
                   manual_pending=chosen.manual_pending, status=Status.GRADED.value)
    return row


def student_rows(students: dict[str, list[Entry]], *, max_score: float = 0.0,
                 manual_max: float = 0.0) -> list[dict[str, Any]]:
    """The TA dashboard's row per student (student_row), sorted by login."""
    return [student_row(login, entries, max_score=max_score, manual_max=manual_max)
            for login, entries in sorted(students.items())]


def student_row(login: str, entries: list[Entry], *, max_score: float = 0.0,
                manual_max: float = 0.0) -> dict[str, Any]:
    """One student's dashboard row: the latest submission (its final score when graded, its
    time, status and lateness), the best final score and its submission (the one that counts,
    where manual points are given), whether manual points wait, and how many submissions;
    `latest_text`/`best_text` present them as every page does (out of `max_score` automatic
    and `manual_max` manual points)."""
    subs = [e for e in entries if e.submission_id is not None]
    row = {"login": login, "name": entries[0].name, "count": len(subs), "latest": None,
           "best": None, "last": None, "late": False, "latest_id": None, "best_id": None,
           "manual_pending": False, "latest_text": "", "best_text": ""}
    if subs:
        latest = max(subs, key=lambda e: e.submission_id)
        row.update(last=latest.received_at, late=latest.late, latest_id=latest.submission_id,
                   latest_status=latest.status,
                   latest=latest.final if latest.status == Status.GRADED else None)
        if latest.status == Status.GRADED:
            row["latest_text"] = entry_line(latest, max_score, manual_max).text
        best = choose(subs, "best")
        if best:
            row.update(best=best.final, best_id=best.submission_id,
                       manual_pending=best.manual_pending,
                       best_text=entry_line(best, max_score, manual_max).text)
    return row


CSV_COLUMNS = ("login", "name", "score", "raw_score", "manual_score", "late_penalty_percent",
               "max_score", "submission_id", "received_at", "late", "graded_submissions",
               "manual_pending", "status")
"""Our CSV: COLUMNS with the penalty as a percentage (10 for −10 %, as the pages write it) and
`late` in the pages' words ("late", "on time"; empty without a counted submission)."""


def to_csv(rows: list[dict[str, Any]]) -> str:
    def csv_row(r: dict[str, Any]) -> list[object]:
        counted = r["submission_id"] != ""
        penalty = f"{round(float(r['late_penalty']) * 100, 4):g}" if counted else ""
        late = ("late" if r["late"] else "on time") if counted else ""
        return [cell(r["login"]), cell(r["name"]), r["score"], r["raw_score"],
                r["manual_score"], penalty, r["max_score"], r["submission_id"],
                r["received_at"], late, r["graded_submissions"], r["manual_pending"],
                r["status"]]
    return write_csv(CSV_COLUMNS, [csv_row(r) for r in rows])


def stats(rows: list[dict[str, Any]], summaries: list[dict[str, Any]],
          status_counts: dict[str, int]) -> dict[str, Any]:
    """Score distribution of the gradebook rows and per-test pass rates of the given run
    summaries."""
    tally: dict[str, dict[str, Any]] = {}
    for run in summaries:
        count(tally, run, 1)
    return {**score_stats(rows, status_counts), "tests": pass_rates(tally)}


def score_stats(rows: list[dict[str, Any]], status_counts: dict[str, int]) -> dict[str, Any]:
    """The score distribution of the gradebook rows."""
    scores = [r["score"] for r in rows if r["score"] != ""]
    summary: dict[str, Any] = {"students": len(rows), "graded_students": len(scores),
                               "submissions": status_counts}
    if scores:
        summary.update(manual_pending=sum(1 for r in rows if r["manual_pending"] is True),
                       mean=round(statistics.fmean(scores), 2),
                       median=statistics.median(scores), min=min(scores), max=max(scores),
                       full_marks=sum(1 for r in rows if r["score"] != "" and
                                      r["score"] >= r["max_score"]))
    return summary


def count(tally: dict[str, dict[str, Any]], run: dict[str, Any], sign: int) -> None:
    """Add (sign 1) or take back (-1) a run summary's tests to per-test pass counts."""
    for t in run.get("tests", []):
        entry = tally.setdefault(t["id"], {"id": t["id"], "name": t["name"], "passed": 0,
                                           "graded": 0})
        entry["graded"] += sign
        entry["passed"] += sign * bool(t["passed"])


def pass_rates(tally: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**entry, "pass_rate": round(entry["passed"] / entry["graded"], 3)}
            for entry in tally.values() if entry["graded"] > 0]


# -- over the database ---------------------------------------------------------------------------

def class_entries(session: Session, assignment: Assignment, user_id: int | None = None
                  ) -> dict[str, list[Entry]]:
    """Every student's (or one's) entries for the assignment, in two queries; the whole class's
    are kept, and brought up to date student by student (services/classviews.py)."""
    if user_id is not None:
        return read_entries(session, assignment, user_id)
    return classviews.source(session, assignment).entries


def counting(session: Session, assignment: Assignment, user: User,
             policy: Policy = COUNTING_POLICY) -> Entry | None:
    """The student's submission that counts (choose), or None before one is graded."""
    entries = class_entries(session, assignment, user.id).get(user.login, [])
    return choose(entries, policy)


@dataclass(frozen=True)
class Table:
    """The gradebook's rows as of a class view source's revision, each student's kept apart
    (a newer source's changed students are made again, the others carried)."""

    number: int
    by_login: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]


def gradebook_table(session: Session, assignment: Assignment, policy: Policy
                    ) -> list[dict[str, Any]]:
    """The gradebook's rows (one per student; best or latest), as the CSV and the pages show
    (kept, and made again only for the students a change touched: services/classviews.py)."""
    def compute(earlier: Table | None) -> Table:
        source = classviews.source(session, assignment)
        max_score = total_max_score(assignment)
        by_login, changed = classviews.carried(source, earlier)
        for login in source.entries if changed is None else changed:
            if login in source.entries:
                by_login[login] = gradebook_row(login, source.entries[login], policy, max_score)
        return Table(source.number, by_login, [by_login[k] for k in sorted(by_login)])
    return classviews.updated(session, ("gradebook", assignment.id, policy), compute).rows


@dataclass(frozen=True)
class Stats:
    """The class statistics as of a source's revision, with each student's counted run summary
    and the per-test counts they add up to (kept apart, as Table's rows)."""

    number: int
    by_login: dict[str, dict[str, Any]]
    tally: dict[str, dict[str, Any]]
    value: tuple[dict[str, Any], dict[int, dict[str, Any]]]


def class_stats(session: Session, assignment: Assignment, policy: Policy
                ) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Statistics of the gradebook (scores, per-test pass rates of the counted runs), with the
    run summaries they were computed from, by submission id (the dashboard's rows read their
    failures); kept, and brought up to date student by student."""
    def compute(earlier: Stats | None) -> Stats:
        rows = gradebook_table(session, assignment, policy)
        source = classviews.source(session, assignment)
        by_login, changed = classviews.carried(source, earlier)
        tally = {} if changed is None else {k: dict(v) for k, v in earlier.tally.items()}
        counted = {r["login"]: r["submission_id"] for r in rows}
        todo = list(source.entries if changed is None else changed)
        runs = dict(zip(*source.summaries(session, (
            counted[k] for k in todo if counted.get(k, "") != "")), strict=True))
        for login in todo:
            if changed is not None and login in earlier.by_login:
                count(tally, earlier.by_login[login], -1)
            if (run := runs.get(counted.get(login, ""))) is not None:
                by_login[login] = run
                count(tally, run, 1)
        counts = Counter(e.status for entries in source.entries.values() for e in entries
                         if e.submission_id is not None)
        return Stats(source.number, by_login, tally, (
            {"max_score": total_max_score(assignment), **score_stats(rows, dict(counts)),
             "tests": pass_rates(tally)},
            {counted[k]: by_login[k] for k in sorted(by_login) if counted.get(k, "") != ""}))
    return classviews.updated(session, ("stats", assignment.id, policy), compute).value


def gradebook_csv(session: Session, user: User, slug: str, policy: Policy) -> str:
    """The gradebook as CSV (TAs); kept."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    return kept(session, ("csv", assignment.id, policy),
                lambda: to_csv(gradebook_table(session, assignment, policy)))


def assignment_stats(session: Session, user: User, slug: str, policy: Policy) -> dict[str, Any]:
    """The class statistics (TAs)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    return class_stats(session, assignment, policy)[0]

"""A burst of uploads from concurrent clients, and the checks every fault test makes after it:
each accepted submission graded, exactly one graded run, the score the bug catalogue expects."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from grader.fixtures import load_bugs
from grader.rubric import load_assignment
from submissions_api import security
from submissions_api.store import crud
from submissions_api.store.models_grading import GradingRun
from tests.e2e.stack import Stack
from tests.handins import make_handin_tar

ASSIGNMENT = load_assignment("hw1p1-s20")
BUGS = {b.id: b for b in load_bugs(ASSIGNMENT)}
POINTS = {t.id: t.points for t in ASSIGNMENT.tests}
MAX = sum(POINTS.values())
# The reference and realistic mistakes that fail few or many tests (see bugs.toml).
MIX = (None, "linear_dw_summed", None, "ce_derivative_averaged", None, "linear_db_summed")


@dataclass(frozen=True)
class Handin:
    bug: str | None
    data: bytes

    @property
    def expected(self) -> float:
        """The score grading it alone gives: the canary checks the catalogue against the grader."""
        fails = BUGS[self.bug].fails if self.bug else ()
        return MAX - sum(POINTS[t] for t in fails)


def handins(n: int) -> list[Handin]:
    tars = {bug: make_handin_tar(bugs=(bug,) if bug else ()) for bug in set(MIX)}
    return [Handin(MIX[i % len(MIX)], tars[MIX[i % len(MIX)]]) for i in range(n)]


def add_students(stack: Stack, count: int) -> list[str]:
    """`count` more students with tokens, straight into the database (setup, not under test)."""
    logins = [f"rush{i:03d}" for i in range(count)]
    with stack.sessions()() as session:
        for login in logins:
            user = crud.create_user(session, login=login, name=login)
            stack.tokens[login] = security.issue_token(session, user=user)
        session.commit()
    return logins


def upload(stack: Stack, login: str, data: bytes, timeout: float = 60) -> httpx.Response:
    with httpx.Client(base_url=stack.url + "/api/v1", timeout=timeout,
                      headers={"Authorization": f"Bearer {stack.tokens[login]}"}) as client:
        return client.post("/assignments/hw1p1-s20/submissions",
                           files={"file": ("handin.tar", data)})


def upload_all(stack: Stack, logins: list[str], items: list[Handin], clients: int
               ) -> dict[int, Handin]:
    """Upload items[i] as logins[i % len(logins)] from `clients` concurrent clients; every upload
    must be accepted. Returns submission id → hand-in."""
    def one(i: int) -> tuple[int, Handin]:
        reply = upload(stack, logins[i % len(logins)], items[i].data)
        assert reply.status_code == 202, (reply.status_code, reply.text)
        return reply.json()["id"], items[i]

    with ThreadPoolExecutor(clients) as pool:
        return dict(pool.map(one, range(len(items))))


def graded_count(stack: Stack, ids) -> int:
    with stack.sessions()() as session:
        return sum(crud.get_submission(session, submission_id=i).status == "graded" for i in ids)


def check_graded_once(stack: Stack, accepted: dict[int, Handin]) -> Counter:
    """Every accepted submission graded with its expected score and exactly one graded run;
    returns the outcomes of all runs (infrastructure errors are allowed, as retries)."""
    outcomes: Counter = Counter()
    with stack.sessions()() as session:
        for sub_id, handin in accepted.items():
            sub = crud.get_submission(session, submission_id=sub_id)
            assert (sub.status, sub.score) == ("graded", handin.expected), (sub_id, handin.bug)
            runs = session.query(GradingRun).filter_by(submission_id=sub_id).all()
            graded = [r for r in runs if r.outcome == "graded"]
            assert len(graded) == 1, (sub_id, [(r.attempt, r.outcome) for r in runs])
            assert graded[0].attempt == sub.attempts
            outcomes.update(r.outcome for r in runs)
    return outcomes

"""Wait estimates from measured gradings and the live status line (services/estimates.py)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from submissions_api.services.estimates import Measure, live_line, measure, queue_wait
from submissions_api.services.submissions import wait_estimate
from submissions_api.store import crud, lifecycle
from submissions_api.store.db import session_factory
from submissions_api.store.models_grading import GradingRun, Status, Submission
from tests.reports import made_report

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_queue_wait_counts_the_running_grading_and_our_own():
    # 43 s gradings; one began 10 s ago on the one slot: next in line waits 33 + 43 s
    one_slot = Measure(durations=(43.0,) * 10, slots=1)
    wait = queue_wait(1, measured=one_slot, running_elapsed=[10.0])
    assert (wait.seconds, round(wait.low, 6), wait.high) == (76.0, 60.8, 95.0)


def test_queue_wait_plays_the_jobs_ahead_through_every_slot():
    two_slots = Measure(durations=(40.0,) * 10, slots=2)
    # place 3: both slots free now; places 1 and 2 take them, ours starts at 40 s and ends at 80
    assert queue_wait(3, measured=two_slots, running_elapsed=[]).seconds == 80.0
    # the range comes from the quicker and slower quarter of the measured gradings
    spread = Measure(durations=(20.0, 30.0, 40.0, 50.0, 60.0), slots=1)
    wait = queue_wait(2, measured=spread, running_elapsed=[])
    assert (wait.seconds, wait.low, wait.high) == (80.0, 60.0, 100.0)


def test_queue_wait_uses_the_measured_service_rate_when_the_queue_was_backed_up():
    # one slot; gradings take 1 s of wall time, but while uploads waited a claim came every 2 s
    # (dispatch, CPU shared with training runs): the jobs ahead take 2 s each, ours 1 s
    runs = [(NOW, NOW + timedelta(seconds=2 * i), NOW + timedelta(seconds=2 * i + 1))
            for i in range(10)]
    measured = measure(runs, running=0)
    assert (measured.slots, measured.cycle) == (1, 2.0)
    assert queue_wait(5, measured=measured, running_elapsed=[]).seconds == 9.0


def test_queue_wait_a_slot_that_just_claimed_is_busy_for_its_cycle():
    # gradings of 1 s, but the worker takes a job only every 5 s (it runs training runs in
    # between): 2 s after its last claim, the next starts in 3 s and ends 1 s later
    measured = Measure(durations=(1.0,) * 10, slots=1, cycle=5.0)
    assert queue_wait(1, measured=measured, running_elapsed=[], last_claim_ago=2.0).seconds == 4.0
    assert queue_wait(1, measured=measured, running_elapsed=[], last_claim_ago=9.0).seconds == 1.0
    # a grading under way 1 s: the slot is the queue's again when its cycle is over, in 4 s;
    # the one ahead holds it a cycle (5 s), ours ends 1 s after it starts
    assert queue_wait(2, measured=measured, running_elapsed=[1.0]).seconds == 10.0


def test_queue_wait_does_not_grow_while_a_grading_runs_its_usual_time():
    measured = Measure(durations=tuple(float(d) for d in range(30, 51)), slots=1)
    waits = [queue_wait(3, measured=measured, running_elapsed=[e]).seconds
             for e in range(0, 45, 5)]
    assert waits == sorted(waits, reverse=True)
    assert queue_wait(1, measured=None, running_elapsed=[]) is None
    assert queue_wait(0, measured=measured, running_elapsed=[]) is None


def test_live_line_says_elapsed_typical_and_the_running_test():
    status = {"status": "running", "queue_position": 0}
    running = {"elapsed": 12, "typical": 43.2,
               "progress": {"done": 6, "total": 25, "test": "Linear backward"}}
    assert live_line(status, running=running) == (
        "Being graded: 12 s so far (a grading usually takes about 44 s); running test 7 of 25: "
        "Linear backward.")


def test_live_line_queued_says_about_with_a_range():
    status = {"status": "queued", "queue_position": 30, "wait_seconds": 35, "wait_low": 28,
              "wait_high": 44}
    assert live_line(status, running=None) == \
        "Position 30 in the queue, about 35 s until graded (28–44 s)."
    status = {"status": "queued", "queue_position": 2, "wait_seconds": 130, "wait_low": 80,
              "wait_high": 170}
    assert live_line(status, running=None) == \
        "Position 2 in the queue, about 2 min 10 s until graded (80 s–2 min 50 s)."


def test_live_line_says_the_golden_set_is_being_made():
    running = {"elapsed": 20, "typical": None, "progress": None, "golden_ready": False}
    assert live_line({"status": "running", "queue_position": 0}, running=running) == (
        "Being graded: 20 s so far; first the service makes this assignment's reference answers "
        "(once, about a minute).")


# ------------------------------------------------------------------ the estimate under load

REPORT = made_report(1.0, 1.0)


class SyntheticWorkers:
    """`slots` threads that grade the live queue as the workers do (claim the next queued
    submission, hold it, record the run) with a short synthetic grading instead of a sandbox;
    after every second grading a worker spends `between` seconds on other work (a worker that
    also serves the bulk queue runs the training runs of what it graded), as measured on a
    real worker: gradings of 0.3-0.6 s in pairs, then 5-10 s of training runs."""

    def __init__(self, url: str, slots: int, seconds: random.Random, between: float = 0.3):
        self.factory, self.slots, self.rng = session_factory(url), slots, seconds
        self.between, self.done = between, 0
        self.lock = threading.Lock()

    def _grading_seconds(self) -> float:
        with self.lock:
            return self.rng.uniform(0.04, 0.10)

    def _one(self, owner: str) -> bool:
        with self.factory() as session:
            sub_id = session.scalar(select(Submission.id).where(Submission.status ==
                                                                Status.QUEUED)
                                    .order_by(Submission.id).limit(1))
            if sub_id is None:
                return False
            if not lifecycle.claim_submission(session, submission_id=sub_id, attempt=1,
                                              owner=owner, lease_seconds=60):
                session.rollback()
                return True
            session.commit()
            started = session.get(Submission, sub_id).started_at
        time.sleep(self._grading_seconds())
        with self.factory() as session:
            lifecycle.record_graded(session, submission=session.get(Submission, sub_id), attempt=1,
                                    owner=owner, report=REPORT, started_at=started)
            session.commit()
        with self.lock:
            self.done += 1
            busy = self.done % 2 == 0
        if busy:
            time.sleep(self.between)
        return True

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, args=(f"w{i}",)) for i in range(self.slots)]
        for t in threads:
            t.start()
        return threads

    def _loop(self, owner: str) -> None:
        while self._one(owner):
            pass


def _burst(factory, n: int) -> list[int]:
    with factory() as session:
        user = crud.get_user_by_login(session, login="alice")
        assignment = crud.get_assignment(session, slug="hw1p1-s20")
        now = crud.db_now(session)
        ids = [crud.create_submission(session, user=user, assignment=assignment,
                                      data=f"handin {i} {now}".encode(), filename="h.tar",
                                      received_at=now, late=False, penalty=0.0).id
               for i in range(n)]
        session.commit()
    return ids


def _estimates(factory) -> tuple[datetime, dict[int, float]]:
    """Every queued submission's estimate now, as the status line computes it."""
    with factory() as session:
        now = crud.db_now(session)
        queued = session.scalars(select(Submission).where(Submission.status == Status.QUEUED)
                                 .order_by(Submission.id)).all()
        return now, {s.id: wait_estimate(session, crud.queue_position(session, submission=s)
                                          ).seconds for s in queued}


def test_estimates_under_load_come_true(backend, users):
    """A burst of uploads on two slots that spend time between gradings: each estimate, made at
    the burst and again while the queue drains (gradings under way), is within 50 % of the real
    wait for 80 % of uploads."""
    factory = session_factory(backend.database_url)
    workers = SyntheticWorkers(backend.database_url, slots=2, seconds=random.Random(11785))
    _burst(factory, 12)  # history: the service's recent gradings, measured
    for t in workers.start():
        t.join()
    ids = _burst(factory, 30)
    made = [_estimates(factory)]
    threads = workers.start()
    time.sleep(0.8)
    made.append(_estimates(factory))
    for t in threads:
        t.join()
    with factory() as session:
        finished = dict(session.execute(select(GradingRun.submission_id, GradingRun.finished_at)
                                        .where(GradingRun.submission_id.in_(ids))).all())
    pairs = [(estimate, (finished[sub_id] - at).total_seconds())
             for at, estimates in made for sub_id, estimate in estimates.items()]
    assert len(pairs) > 40
    close = [abs(estimate - actual) <= 0.5 * actual for estimate, actual in pairs]
    assert sum(close) >= 0.8 * len(pairs), pairs

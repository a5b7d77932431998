"""AGS passback against a platform nobody here wrote (lti1p3platform's token endpoint, over real
HTTP): the score that counts reaches the line item once per change, the last value wins, nothing
is lost while the platform is down, tokens are cached, line items are made when not given."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from submissions_api.lms import advantage, outbox, passback
from submissions_api.lms.keys import signing_key
from submissions_api.services import assignments, manual
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import User, utcnow
from submissions_api.store.models_grading import Status
from submissions_api.store.models_lms import LtiIdentity, LtiResourceLink, ScoreOutbox
from tests.lms.fixtures import LINK, SLUG, make_course
from tests.reports import made_report
from worker.context import WorkerContext
from worker.reaper import reap_once, send_due_scores, start_sender_thread

BACKOFF = 0.2


def grade(sessions, login: str, score: float, sub_id: int | None = None) -> int:
    """A submission of `login` graded `score` by the lifecycle (a new one, or a regrade of
    `sub_id`), as the worker records it."""
    with sessions() as session:
        if sub_id is None:
            sub = crud.create_submission(
                session, user=crud.get_user_by_login(session, login=login),
                assignment=crud.get_assignment(session, slug=SLUG),
                data=f"{login}{score}{time.time()}".encode(), filename="handin.tar",
                received_at=utcnow(), late=False, penalty=0.0)
            session.commit()
        else:
            sub = crud.get_submission(session, submission_id=sub_id)
            assert lifecycle.requeue(session, submission_id=sub.id, attempt=sub.attempts,
                                     from_status=Status.GRADED) is not None
            session.commit()
        session.expire_all()
        sub = crud.get_submission(session, submission_id=sub.id)
        assert lifecycle.claim_submission(session, submission_id=sub.id, attempt=sub.attempts,
                                          owner="w", lease_seconds=60)
        assert lifecycle.record_graded(session, submission=sub, attempt=sub.attempts, owner="w",
                                       report=made_report(score),
                                       started_at=utcnow())
        session.commit()
        return sub.id


def give_manual(sessions, sub_id: int, points: float) -> None:
    with sessions() as session:
        manual.set_manual_grade(session, crud.get_user_by_login(session, login="ta1"), sub_id,
                                "training_statistics", points=points, comment="")


def drain(sessions) -> dict[str, int]:
    return passback.drain(sessions, backoff=BACKOFF)


def rows(sessions) -> dict[str, ScoreOutbox]:
    """The outbox rows by login."""
    with sessions() as session:
        return {login: row for row, login in session.execute(
            select(ScoreOutbox, User.login).join(User, User.id == ScoreOutbox.user_id))}


def time_passes(sessions) -> None:
    """Every row's retry time has come."""
    with sessions() as session:
        session.execute(update(ScoreOutbox).values(next_try_at=None))
        session.commit()


def test_grading_sends_the_score_once_and_manual_points_move_it(course, sessions):
    sub = grade(sessions, "alice", 95.0)
    assert drain(sessions) == {"sent": 1}
    [first] = course.state.scores_of(course.lineitem_url)
    assert first["userId"] == "sub-alice" and first["scoreGiven"] == 95.0
    assert first["scoreMaximum"] == 100.0  # 95 automatic + 5 manual
    assert (first["activityProgress"], first["gradingProgress"]) == ("Submitted", "PendingManual")
    assert drain(sessions) == {}  # nothing changed: nothing sent again
    give_manual(sessions, sub, 5.0)
    assert drain(sessions) == {"sent": 1}
    first, second = course.state.scores_of(course.lineitem_url)
    assert (second["scoreGiven"], second["gradingProgress"]) == (100.0, "FullyGraded")
    assert second["timestamp"] > first["timestamp"]
    assert course.state.token_requests == 1  # one token for both
    row = rows(sessions)["alice"]
    assert (row.sent_version, row.version, row.sent_score, row.last_error) == (2, 2, 100.0, "")


def test_the_score_that_counts_is_the_gradebooks(course, sessions):
    """Best final score (late penalty included); bob, graded too, is sent his own; an extension
    and a settings change send again (the same value: nothing else moved)."""
    grade(sessions, "alice", 80.0)
    grade(sessions, "alice", 60.0)  # a worse later one: the best still counts
    grade(sessions, "bob", 40.0)
    assert drain(sessions) == {"sent": 2}
    by_user = {s["userId"]: s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)}
    assert by_user == {"sub-alice": 80.0, "sub-bob": 40.0}
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        assignments.set_extension(session, prof, SLUG, "alice", reason="ill",
                                  deadline=utcnow() + timedelta(days=2), late_deadline=None)
    assert drain(sessions) == {"sent": 1}
    with sessions() as session:
        assignments.update_assignment(session, prof, SLUG, {"late_penalty": 0.5})
    assert drain(sessions) == {"sent": 2}  # both students, the same scores
    with sessions() as session:
        assignments.update_assignment(session, prof, SLUG, {"cooldown_seconds": 5})
    assert drain(sessions) == {}  # no score depends on the cooldown


@pytest.mark.parametrize("outage", ["stopped", "500", "429"])
def test_platform_down_loses_nothing_and_sends_the_last_value_once(course, sessions, outage):
    if outage == "stopped":
        course.server.stop()
    else:
        course.state.mode = outage
        course.state.retry_after = 30
    sub = grade(sessions, "alice", 60.0)
    with sessions() as session:
        before = crud.db_now(session)
    assert drain(sessions) == {"failed": 1}
    row = rows(sessions)["alice"]
    assert row.tries == 1 and row.sent_version == 0
    expected = {"stopped": "ConnectError", "500": "answered 500", "429": "answered 429"}[outage]
    assert expected in row.last_error
    wait = (row.next_try_at - before).total_seconds()
    assert wait >= (30 if outage == "429" else BACKOFF)  # the platform's Retry-After honoured
    give_manual(sessions, sub, 3.0)  # more changes while it is down
    grade(sessions, "alice", 90.0, sub_id=sub)  # a regrade
    time_passes(sessions)
    assert drain(sessions) == {"failed": 1}
    assert course.state.scores == []
    if outage == "stopped":
        course.server.start()
    course.state.mode = "up"
    if outage == "429":
        assert drain(sessions) == {}  # not due yet: the platform asked for 30 s
    time_passes(sessions)
    assert drain(sessions) == {"sent": 1}
    [only] = course.state.scores_of(course.lineitem_url)
    assert (only["scoreGiven"], only["gradingProgress"]) == (93.0, "FullyGraded")
    time_passes(sessions)
    assert drain(sessions) == {}
    row = rows(sessions)["alice"]
    assert (row.tries, row.last_error, row.sent_score) == (0, "", 93.0)


def test_change_during_a_send_is_sent_again(course, sessions, monkeypatch):
    """A change committed while a send is on the wire: the version read is recorded, the row
    stays pending, and the newer score follows at once, in order."""
    sub = grade(sessions, "alice", 50.0)
    real = advantage.post_score

    def slow_post(*args, **kwargs):  # the real send, and a TA's points meanwhile
        real(*args, **kwargs)
        if len(course.state.scores) == 1:
            give_manual(sessions, sub, 4.0)

    monkeypatch.setattr(advantage, "post_score", slow_post)
    assert drain(sessions) == {"sent": 1}
    values = [s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)]
    assert values == [50.0, 54.0]
    stamps = [s["timestamp"] for _, s in course.state.scores]
    assert stamps == sorted(stamps)


def test_token_cached_until_it_expires_then_renewed(course, sessions):
    course.state.token_life = 4  # renewed after half of it
    grade(sessions, "alice", 70.0)
    grade(sessions, "bob", 75.0)
    assert drain(sessions) == {"sent": 2}
    assert course.state.token_requests == 1
    time.sleep(2.2)
    grade(sessions, "alice", 71.0)
    assert drain(sessions) == {"sent": 1}
    assert course.state.token_requests == 2
    assert len(course.state.scores) == 3


def test_token_the_platform_revoked_is_renewed(course, sessions):
    grade(sessions, "alice", 70.0)
    assert drain(sessions) == {"sent": 1}
    course.state.tokens.clear()  # the platform forgets every token it gave (a restart, a revoke)
    grade(sessions, "alice", 72.0)
    assert drain(sessions) == {"sent": 1}  # 401, a new token, the same send again
    assert course.state.token_requests == 2
    assert [s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)] == [70.0, 72.0]


def test_inactive_students_scores_are_not_sent(course, sessions):
    with sessions() as session:
        crud.get_user_by_login(session, login="bob").active = False  # left the course
        session.commit()
    grade(sessions, "bob", 50.0)
    assert drain(sessions) == {"nothing": 1}
    assert course.state.scores == []


def test_token_endpoint_refuses_a_replayed_assertion(course, sessions):
    """The test platform adds the check lti1p3platform lacks: a jti is used once."""
    reg = advantage.Registration(client_id=course.state.client_id, token_url=course.state.token_url)
    with sessions() as session:
        assertion = advantage.client_assertion(reg, signing_key(session))
    form = {"grant_type": "client_credentials", "client_assertion_type": advantage.ASSERTION_TYPE,
            "client_assertion": assertion, "scope": " ".join(advantage.SCOPES)}
    assert httpx.post(reg.token_url, data=form).status_code == 200
    replay = httpx.post(reg.token_url, data=form)
    assert replay.status_code == 400 and "used before" in replay.text


def test_lineitem_made_when_the_platform_gave_none(platform, sessions, users):
    state, _ = platform
    _, _, link_pk, _ = make_course(sessions, state, given_lineitem=False)
    grade(sessions, "alice", 95.0)
    grade(sessions, "bob", 20.0)
    assert drain(sessions) == {"sent": 2}
    [(url, item)] = state.lineitems.items()
    assert (item["scoreMaximum"], item["resourceLinkId"], item["tag"]) == (100.0, LINK,
                                                                          f"mlpgrade:{SLUG}")
    with sessions() as session:
        assert session.get(LtiResourceLink, link_pk).lineitem_url == url
    assert {s["userId"] for s in state.scores_of(url)} == {"sub-alice", "sub-bob"}


def test_lineitem_the_platform_has_for_the_link_is_found_not_made(platform, sessions, users):
    state, _ = platform
    _, _, link_pk, _ = make_course(sessions, state, given_lineitem=False)
    mine = f"{state.lineitems_url('Course-C1')}/Made1"
    other = f"{state.lineitems_url('Course-C1')}/Other"
    state.lineitems[other] = {"id": other, "scoreMaximum": 10, "resourceLinkId": "RL-Other"}
    state.lineitems[mine] = {"id": mine, "scoreMaximum": 100, "resourceLinkId": LINK,
                             "tag": f"mlpgrade:{SLUG}"}
    grade(sessions, "alice", 95.0)
    assert drain(sessions) == {"sent": 1}
    assert len(state.lineitems) == 2 and len(state.scores_of(mine)) == 1
    with sessions() as session:
        assert session.get(LtiResourceLink, link_pk).lineitem_url == mine


def test_refused_score_is_failing_with_the_platforms_answer(course, sessions):
    with sessions() as session:
        session.execute(update(LtiResourceLink).values(
            lineitem_url=course.lineitem_url.replace("Given1", "Removed")))
        session.commit()
    grade(sessions, "alice", 95.0)
    with sessions() as session:
        before = crud.db_now(session)
    assert drain(sessions) == {"failed": 1}
    row = rows(sessions)["alice"]
    assert "answered 404" in row.last_error and "no such line item" in row.last_error
    wait = (row.next_try_at - before).total_seconds()
    assert wait >= BACKOFF * passback.REFUSED_FACTOR  # retried late: someone must look


def test_scores_wait_for_the_release_time(course, sessions):
    with sessions() as session:
        prof = crud.get_user_by_login(session, login="prof")
        assignments.update_assignment(session, prof, SLUG,
                                      {"release_at": utcnow() + timedelta(hours=1)})
    grade(sessions, "alice", 95.0)
    assert drain(sessions) == {"held": 2}  # alice's score, and bob's row of the settings
    assert drain(sessions) == {}  # held until then
    assert course.state.scores == []
    with sessions() as session:
        assignments.update_assignment(session, prof, SLUG, {"release_at": None})
    assert drain(sessions) == {"sent": 1, "nothing": 1}  # bob has nothing to tell
    assert [s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)] == [95.0]


def test_resend_sends_every_students_score_again(course, sessions):
    grade(sessions, "alice", 95.0)
    grade(sessions, "bob", 10.0)
    assert drain(sessions) == {"sent": 2}
    with sessions() as session:
        assert outbox.resend(session, crud.get_assignment(session, slug=SLUG).id) == 2
        session.commit()
    assert drain(sessions) == {"sent": 2}
    assert len(course.state.scores) == 4


def test_bulk_worker_sends_due_scores_while_its_pool_is_busy(course, backend, sessions,
                                                             dispatcher):
    """The score's message waits in the bulk queue behind a long job (a training run): the
    bulk worker's sender thread sends the score meanwhile, once; a lost message the same way.
    The reaper sends no message of its own."""
    ctx = WorkerContext(settings=backend, sessions=sessions, dispatcher=dispatcher)
    assert send_due_scores(ctx) == {}  # nothing due: no call to the platform
    dispatcher.send_training(10_000)  # the pool's next job, ahead of the score's message
    grade(sessions, "alice", 95.0)
    dispatcher.send_scores()
    reap_once(ctx)
    assert dispatcher.queue_size("bulk") == 2
    stop = threading.Event()
    thread = start_sender_thread(lambda: ctx, 0.05, stop)
    try:
        deadline = time.monotonic() + 30
        while not course.state.scores_of(course.lineitem_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        grade(sessions, "bob", 70.0)  # no message at all: as if it were lost
        while len(course.state.scores_of(course.lineitem_url)) < 2 and \
                time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert [s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)] == [95.0, 70.0]
    assert dispatcher.queue_size("bulk") == 2  # both messages still wait: the thread sent
    with sessions() as session:
        assert outbox.due(session, now=crud.db_now(session)) == []
    assert drain(sessions) == {}  # the waiting message, when it runs, has nothing to send


def test_a_regrade_in_flight_holds_the_score_until_its_result(course, sessions):
    """While a graded submission is regraded the gradebook does not count it: the LMS is not
    told that passing value; the regrade's result is."""
    sub = grade(sessions, "alice", 80.0)
    assert drain(sessions) == {"sent": 1}
    with sessions() as session:
        assert lifecycle.requeue(session, submission_id=sub, attempt=1,
                                 from_status=Status.GRADED) == 2
        prof = crud.get_user_by_login(session, login="prof")
        session.commit()
        assignments.update_assignment(session, prof, SLUG, {"late_penalty": 0.1})  # a change
    assert drain(sessions) == {"held": 1, "nothing": 1}  # alice's regrade runs; bob: none
    with sessions() as session:
        submission = crud.get_submission(session, submission_id=sub)
        assert lifecycle.claim_submission(session, submission_id=sub, attempt=2, owner="w",
                                          lease_seconds=60)
        assert lifecycle.record_graded(session, submission=submission, attempt=2, owner="w",
                                       report=made_report(85.0),
                                       started_at=utcnow())
        session.commit()
    time_passes(sessions)
    assert drain(sessions) == {"sent": 1}
    assert [s["scoreGiven"] for s in course.state.scores_of(course.lineitem_url)] == [80.0, 85.0]


def test_two_senders_at_once_send_each_score_once(course, sessions):
    """Two bulk workers draining together: each row is claimed by one of them."""
    with sessions() as session:
        for n in range(30):
            user = crud.create_user(session, login=f"s{n:02d}")
            session.add(LtiIdentity(issuer=course.state.issuer, sub=f"sub-s{n:02d}",
                                    user_id=user.id))
        session.commit()
    for n in range(30):
        grade(sessions, f"s{n:02d}", float(n))
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(drain(sessions)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("sent", 0) for r in results) == 30
    users = sorted(s["userId"] for s in course.state.scores_of(course.lineitem_url))
    assert users == sorted(f"sub-s{n:02d}" for n in range(30))

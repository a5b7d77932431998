"""The LMS grade passback in the real service (API and worker processes) and a real browser: a
hand-in graded by the worker reaches the test platform's line item (95, pending manual), a TA's
points given on the page move it to 100 (sent after the API's commit), and the TA's LMS grades
page shows what was sent and re-sends everything; the platform stopped during a regrade gets the
last value once when it is back."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy import select

from submissions_api.lms.keys import public_jwks
from submissions_api.store.models_lms import ScoreOutbox
from tests.api.services import wait_for
from tests.handins import make_handin_tar
from tests.lms.fixtures import make_course, port
from tests.lms.platform_services import PlatformState, Server, platform_app
from tests.pages.test_pages import GRADING, SLUG, api_upload, sign_in
from tests.pages.test_polish import no_serious_violations


@pytest.fixture
def lms_platform(stack):
    """The test platform, reading the tool's keys from the stack's database."""
    sessions = stack.sessions()

    def jwks() -> dict:
        with sessions() as session:
            return public_jwks(session)

    keys = FastAPI()
    keys.add_api_route("/jwks", jwks)
    key_server = Server(keys, port()).start()
    number = port()
    state = PlatformState(issuer="https://canvas.example.edu", client_id="10000000000042",
                          base_url=f"http://127.0.0.1:{number}",
                          tool_jwks_url=f"{key_server.url}/jwks")
    server = Server(platform_app(state), number).start()
    yield state, server
    server.stop()
    key_server.stop()


def test_pages_lms_grades_reach_the_platform(stack, new_page, shot, lms_platform):
    state, server = lms_platform
    *_, lineitem = make_course(stack.sessions(), state)
    sub = api_upload(stack, "alice", make_handin_tar())
    assert stack.wait_submission("alice", sub)["score"] == 95
    wait_for(lambda: state.scores_of(lineitem), 60, "the score at the platform", 0.2,
             tuple(stack.procs))
    [first] = state.scores_of(lineitem)
    assert (first["userId"], first["scoreGiven"], first["scoreMaximum"],
            first["gradingProgress"]) == ("sub-alice", 95.0, 100.0, "PendingManual")
    page = new_page()
    sign_in(page, stack.tokens["ta1"], then=f"/staff/submissions/{sub}")
    form = page.locator("#manual-form-training_statistics")
    form.locator("input[name=points]").fill("5")
    form.locator("button:has-text('Save points')").click()
    expect(page.locator("#manual .notice")).to_have_text("Saved.")
    wait_for(lambda: len(state.scores_of(lineitem)) == 2, 60, "the score after manual points",
             0.2, tuple(stack.procs))
    second = state.scores_of(lineitem)[1]
    assert (second["scoreGiven"], second["gradingProgress"]) == (100.0, "FullyGraded")
    page.goto(f"/staff/assignments/{SLUG}")
    page.click("#lms-grades")
    expect(page.locator("#lms-counts")).to_contain_text("1 sent · 0 pending · 0 failing")
    expect(page.locator("#lms-alice")).to_contain_text("100")
    no_serious_violations(page)
    shot(page, "ta-lms-grades", keep=True)
    page.on("dialog", lambda d: d.accept())
    page.click("#resend")
    expect(page.locator(".notice")).to_contain_text("will be sent again", timeout=GRADING)
    wait_for(lambda: len(state.scores_of(lineitem)) == 3, 60, "the re-sent score", 0.2,
             tuple(stack.procs))
    # the platform goes down; a regrade changes what counts; it comes back: the last value,
    # once (the reaper's drain retries after the backoff)
    server.stop()
    with stack.api("ta1") as ta:
        assert ta.post(f"/submissions/{sub}/regrade").status_code == 202
    assert stack.wait_submission("alice", sub)["score"] == 95
    wait_for(lambda: failing(stack), 60, "a failed send", 0.2, tuple(stack.procs))
    server.start()
    wait_for(lambda: len(state.scores_of(lineitem)) == 4, 60, "the score after the outage",
             0.2, tuple(stack.procs))
    time.sleep(3)  # several reaper passes: nothing more
    scores = state.scores_of(lineitem)
    assert len(scores) == 4 and scores[-1]["scoreGiven"] == 100.0
    assert [s["timestamp"] for s in scores] == sorted(s["timestamp"] for s in scores)


def failing(stack) -> bool:
    with stack.sessions()() as session:
        return any(row.tries > 0 and "ConnectError" in row.last_error
                   for row in session.scalars(select(ScoreOutbox)))

"""Invitations in a real browser against a real API, a real bulk worker and a real SMTP server
(aiosmtpd): the instructor ticks a student and sends; the worker mails the link; the student
opens it, sees whose it is, presses the button and lands signed in on the home page."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from submissions_api.store import crud
from submissions_api.store.db import dispose, session_factory
from submissions_api.store.models_lms import SignInLink
from tests.api.mailbox import start_smtp
from tests.api.services import (
    REPO,
    free_port,
    service_env,
    start_api,
    start_worker,
    wait_for,
)
from tests.e2e.stack import MLPGRADE
from tests.pages.test_pages import sign_in
from tests.pages.test_polish import no_serious_violations


@pytest.fixture
def mail_stack(tmp_path):
    """(url, tokens, mailbox, procs): the API and a bulk worker with mail set up."""
    controller, mailbox = start_smtp()
    home, port = tmp_path / "home", free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(home, f"sqlite:///{home / 'service.db'}",
                      f"sqla+sqlite:///{home / 'broker.db'}", MLPGRADE_PUBLIC_URL=url,
                      MLPGRADE_SMTP_HOST="127.0.0.1", MLPGRADE_SMTP_PORT=str(controller.port),
                      MLPGRADE_SMTP_FROM="11-785 staff <staff@example.edu>",
                      MLPGRADE_COURSE_NAME="11-785 Introduction to Deep Learning")
    roster = tmp_path / "roster.csv"
    roster.write_text("login,name,role\nprof,Prof,instructor\nalice,Alice Liddell,student\n")
    out = subprocess.run([*MLPGRADE, "users", "import", str(roster)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    tokens = dict(line.split(",")[::2] for line in out.stdout.splitlines()[1:])
    with session_factory(env["MLPGRADE_DATABASE_URL"])() as session:
        crud.get_user_by_login(session, login="alice").email = "alice@example.edu"
        session.commit()
    procs = [start_api(env, tmp_path / "api.log", port),
             start_worker(env, tmp_path / "worker.log", "bulk")]
    wait_for(lambda: _up(url), 30, "the API", 0.2, tuple(procs))
    yield url, tokens, mailbox, procs
    for proc in procs:
        proc.stop()
    controller.stop()
    dispose(env["MLPGRADE_DATABASE_URL"])


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_pages_invitation_signs_a_student_in(browser, mail_stack, shot, tmp_path):
    url, tokens, mailbox, procs = mail_stack
    staff = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    staff.set_default_timeout(20_000)
    page = staff.new_page()
    sign_in(page, tokens["prof"], then="/staff/users")
    page.check("input[aria-label='invite alice']")
    page.click("button:has-text('Invite the ticked users')")
    expect(page.locator("#invite-summary")).to_contain_text("1 invitation(s) queued")
    wait_for(lambda: mailbox.messages, 60, "the invitation e-mail", 0.2, tuple(procs))
    page.goto("/staff/users")
    expect(page.locator("#user-alice .invitation")).to_contain_text("sent")
    link = mailbox.link()
    student = browser.new_context(viewport={"width": 1000, "height": 640})
    student.set_default_timeout(20_000)
    landing = student.new_page()
    landing.goto(link)
    expect(landing.locator("h1")).to_have_text("Sign in as Alice Liddell")
    no_serious_violations(landing)
    shot(landing, "invitation-sign-in", keep=True)
    landing.click("#use-link")
    expect(landing).to_have_url(url + "/")
    expect(landing.locator("#account-link")).to_contain_text("alice")
    # the same link again, in another browser: used, with what to do
    other = browser.new_context().new_page()
    other.goto(link)
    expect(other.locator("#link-problem")).to_contain_text("works once")
    expect(other.locator("#new-link-form")).to_be_visible()
    no_serious_violations(other)
    shot(other, "invitation-link-used", keep=True)
    page.goto("/staff/users")
    expect(page.locator("#user-alice .invitation")).to_contain_text("signed in")
    no_serious_violations(page)
    shot(page.locator("#invitations"), "invitation-staff", keep=True)
    other.fill("#who", "alice@example.edu")  # "mail me a new link": the worker mails it
    other.click("#new-link-form button")
    expect(other.locator("#new-link-sent")).to_contain_text("If that is the login or e-mail")
    no_serious_violations(other)
    shot(other, "invitation-new-link", keep=True)
    wait_for(lambda: len(mailbox.messages) == 2, 60, "the new link's e-mail", 0.2, tuple(procs))
    assert mailbox.link() != link
    _expired_and_unknown_links(other, mailbox.link(), tmp_path)
    for context in (staff, student, other.context):
        context.close()


def _expired_and_unknown_links(page, link: str, tmp_path) -> None:
    """The new link, expired (its row made a week old), and a mistyped one: each says what
    happened and offers a new link, and passes axe-core (issue 29)."""
    url = f"sqlite:///{tmp_path / 'home' / 'service.db'}"  # mail_stack's database
    with session_factory(url)() as session:
        session.execute(update(SignInLink).where(SignInLink.used_at.is_(None))
                        .values(expires_at=datetime.now(UTC) - timedelta(days=7)))
        session.commit()
    page.goto(link)
    expect(page.locator("h1")).to_have_text("This link has expired")
    expect(page.locator("#new-link-form")).to_be_visible()
    no_serious_violations(page)
    page.goto(link[: link.rindex("/") + 1] + "mistyped")
    expect(page.locator("h1")).to_have_text("This link is not valid")
    no_serious_violations(page)

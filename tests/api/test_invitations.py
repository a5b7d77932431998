"""Sign-in links by e-mail (issue 24 item 7), against a real SMTP server (aiosmtpd): staff invite,
the link signs a browser in once, and the bad cases (expired, reused, tampered, rate limits, the
mail server down and then back) on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from submissions_api import sign_in_links
from submissions_api.cli import main as mlpgrade
from submissions_api.deps import SESSION_COOKIE
from submissions_api.main import create_app
from submissions_api.security import hash_token
from submissions_api.settings import SmtpSettings
from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_lms import SignInLink
from tests.api.mailbox import start_smtp
from tests.api.services import free_port

SENDER = "11-785 staff <staff@example.edu>"


@pytest.fixture
def smtp():
    controller, mailbox = start_smtp()
    yield controller, mailbox
    controller.stop()


def mail_settings(backend, port: int, **changes):
    return dataclasses.replace(
        backend, public_url="http://testserver", course_name="11-785",
        smtp=SmtpSettings(host="127.0.0.1", port=port, sender=SENDER), **changes)


@pytest.fixture
def mailer(backend, dispatcher, users, sessions, smtp):
    """(client, settings, mailbox): the app with mail set up; alice and bob have e-mails."""
    controller, mailbox = smtp
    settings = mail_settings(backend, controller.port)
    set_emails(sessions, alice="alice@example.edu", bob="bob@example.edu")
    with TestClient(create_app(settings, dispatcher)) as client:
        yield client, settings, mailbox


def set_emails(sessions, **emails):
    with sessions() as session:
        for login, email in emails.items():
            crud.get_user_by_login(session, login=login).email = email
        session.commit()


def staff(client, users, login="prof"):
    client.cookies.set(SESSION_COOKIE, users.tokens[login])
    return client


def invite(client, users, *logins, scope="chosen"):
    return staff(client, users).post("/staff/users/invitations",
                                     data={"scope": scope, "login": list(logins)})


def deliver_all(sessions, settings, **kwargs):
    """Send every queued link as the bulk worker's task does (worker/mailing.py)."""
    with sessions() as session:
        ids = session.scalars(select(SignInLink.id).where(SignInLink.status == "queued")).all()
    return [sign_in_links.deliver(sessions, settings, i, **kwargs) for i in ids]


def path(link: str) -> str:
    return link.removeprefix("http://testserver")


def test_invitation_link_signs_in_once(mailer, users, sessions):
    client, settings, mailbox = mailer
    answer = invite(client, users, "alice")
    assert answer.status_code == 200
    assert "1 invitation(s) queued" in answer.text
    assert [d.status for d in deliver_all(sessions, settings)] == ["sent"]
    (rcpt, message), = mailbox.wait(1)
    assert rcpt == ["alice@example.edu"]
    assert message["Subject"] == "Your sign-in link for 11-785"
    assert message["To"].addresses[0].display_name == "Alice"
    link = mailbox.link()
    assert "works once" in message.get_body(("plain",)).get_content()
    with sessions() as session:  # only the hash is kept
        row = session.scalars(select(SignInLink)).one()
        assert row.token_hash == hash_token(link.split("/")[-1]) not in link
    browser = TestClient(client.app)
    for _ in range(2):  # a mail scanner's GET does not use the link up
        page = browser.get(path(link))
        assert page.status_code == 200 and "Sign in as alice" in page.text
        assert page.headers["referrer-policy"] == "same-origin"
    signed_in = browser.post(path(link), follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/login/check")
    assert browser.get("/", follow_redirects=False).status_code == 200  # home, signed in
    assert browser.get("/account").status_code == 200
    again = TestClient(client.app).post(path(link), follow_redirects=False)
    assert again.status_code == 410 and "already used" in again.text
    assert "Mail me a new sign-in link" in again.text
    users_page = staff(client, users).get("/staff/users")
    assert "signed in" in users_page.text.split('id="user-alice"')[1].split("</tr>")[0]


def test_expired_and_tampered_links(mailer, users, sessions):
    client, settings, mailbox = mailer
    invite(client, users, "alice", "bob")
    deliver_all(sessions, settings)
    mailbox.wait(2)
    links = {rcpt[0]: mailbox.link(i) for i, (rcpt, _) in enumerate(mailbox.messages)}
    tampered = links["bob@example.edu"][:-1] + ("A" if links["bob@example.edu"][-1] != "A"
                                                 else "B")
    page = TestClient(client.app).post(path(tampered), follow_redirects=False)
    assert page.status_code == 404 and "not valid" in page.text
    assert SESSION_COOKIE not in page.cookies
    with sessions() as session:
        for row in session.scalars(select(SignInLink)):
            if row.sent_to == "alice@example.edu":
                row.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    expired = TestClient(client.app)
    assert expired.get(path(links["alice@example.edu"])).status_code == 410
    page = expired.post(path(links["alice@example.edu"]), follow_redirects=False)
    assert page.status_code == 410 and "has expired" in page.text
    assert expired.get("/", follow_redirects=False).status_code == 303  # not signed in
    # bob's untouched link still works after the tampered try
    assert TestClient(client.app).post(path(links["bob@example.edu"]),
                                       follow_redirects=False).status_code == 303


def test_rate_limits_per_user_and_for_the_service(backend, dispatcher, users, sessions, smtp):
    controller, _ = smtp
    settings = mail_settings(backend, controller.port, sign_in_links_per_hour=2, mail_per_hour=3)
    set_emails(sessions, alice="alice@example.edu", bob="bob@example.edu", ta1="")
    with TestClient(create_app(settings, dispatcher)) as client:
        for _ in range(2):
            assert "1 invitation(s) queued" in invite(client, users, "alice").text
        with sessions() as session:
            crud.get_user_by_login(session, login="bob").active = False
            session.commit()
        limited = invite(client, users, "alice", "ta1", "bob").text
        assert "Already sent 2 links this hour, not invited: alice" in limited
        assert "No e-mail address, not invited: ta1" in limited
        assert "No longer in the course, not invited: bob" in limited
        with sessions() as session:
            crud.get_user_by_login(session, login="bob").active = True
            session.commit()
        capped = invite(client, users, "bob", scope="everyone").text  # bob: the third mail
        assert "1 invitation(s) queued" in capped
        capped = invite(client, users, "bob").text
        assert "at most 3 e-mails an hour" in capped and "1 user(s)" in capped
        # a visitor asking for links is held back silently: the same answer
        answers = {client.post("/login/new-link", data={"who": who}).text
                   for who in ("alice", "alice@example.edu", "nobody@example.edu", "ghost")}
        assert len(answers) == 1 and "If that is the login" in answers.pop()
    with sessions() as session:
        assert session.query(SignInLink).count() == 3


def test_links_asked_for_on_the_sign_in_page_get_half_the_hours_mail(
        backend, dispatcher, users, sessions, smtp):
    controller, _ = smtp
    settings = mail_settings(backend, controller.port, mail_per_hour=2)
    set_emails(sessions, alice="alice@example.edu", bob="bob@example.edu")
    with TestClient(create_app(settings, dispatcher)) as client:
        for who in ("alice", "bob"):
            client.post("/login/new-link", data={"who": who})
        with sessions() as session:
            assert [r.sent_to for r in session.scalars(select(SignInLink))] == [
                "alice@example.edu"]
        assert "1 invitation(s) queued" in invite(client, users, "bob").text  # staff's half


def test_mail_server_down_is_recorded_and_sent_again(backend, dispatcher, users, sessions, smtp):
    controller, mailbox = smtp
    down = mail_settings(backend, free_port())  # nothing listens there: connection refused
    set_emails(sessions, alice="alice@example.edu")
    with TestClient(create_app(down, dispatcher)) as client:
        invite(client, users, "alice")
        first, = deliver_all(sessions, down, max_attempts=2)
        assert first.status == "queued" and first.retry  # the worker tries again later
        second, = deliver_all(sessions, down, max_attempts=2)
        assert second.status == "failed" and "could not reach the mail server" in second.error
        row = staff(client, users).get("/staff/users").text.split('id="user-alice"')[1]
        assert "failed:" in row.split("</tr>")[0] and "could not reach" in row.split("</tr>")[0]
    with sessions() as session:
        assert session.scalars(select(SignInLink.token_hash)).one() is None  # nobody has it
    up = mail_settings(backend, controller.port)
    with TestClient(create_app(up, dispatcher)) as client:
        page = staff(client, users).post("/staff/users/invitations", data={"scope": "resend"})
        assert "1 invitation(s) queued" in page.text
        assert [d.status for d in deliver_all(sessions, up)] == ["sent"]
        mailbox.wait(1)
        assert TestClient(client.app).post(path(mailbox.link()),
                                           follow_redirects=False).status_code == 303


def test_new_link_form_answers_the_same_and_mails_only_real_accounts(mailer, users, sessions):
    client, settings, mailbox = mailer
    assert "Mail me a new sign-in link" in TestClient(client.app).get("/login").text
    answers = [TestClient(client.app).post("/login/new-link", data={"who": who})
               for who in ("ALICE@example.edu", "bob", "nobody@example.edu", "")]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert {d.status for d in deliver_all(sessions, settings)} == {"sent"}
    assert sorted(r[0] for r, _ in mailbox.wait(2)) == ["alice@example.edu", "bob@example.edu"]


def test_invitations_need_an_instructor_and_a_mail_server(client, users, sessions):
    set_emails(sessions, alice="alice@example.edu")
    assert invite(client, users, "alice").status_code == 409  # no MLPGRADE_SMTP_HOST
    page = staff(client, users).get("/staff/users").text
    assert "E-mail is not configured: set MLPGRADE_SMTP_HOST" in page
    assert "--print" in page
    assert "Mail me a new sign-in link" not in TestClient(client.app).get("/login").text
    client.cookies.set(SESSION_COOKIE, users.tokens["ta1"])
    assert client.post("/staff/users/invitations", data={"scope": "everyone"}).status_code == 403
    with sessions() as session:  # a printed link (`users invite --print`) works the same
        link, _ = sign_in_links.print_link(
            session, dataclasses.replace(client.app.state.settings, public_url="http://x"),
            crud.get_user_by_login(session, login="alice"), requested_by="prof")
        session.commit()
    browser = TestClient(client.app)
    assert browser.post(link.removeprefix("http://x"), follow_redirects=False).status_code == 303
    used = browser.post(link.removeprefix("http://x"))
    assert used.status_code == 410 and "ask for a new link from your course staff" in used.text
    assert "new-link-form" not in used.text  # nothing would mail it


def test_cli_prints_or_mails_links(backend, users, sessions, smtp, monkeypatch, capsys):
    controller, mailbox = smtp
    set_emails(sessions, alice="alice@example.edu", bob="")
    for name, value in (("DATABASE_URL", backend.database_url), ("HOME", str(backend.home)),
                        ("BROKER_URL", backend.broker_url),
                        ("PUBLIC_URL", "http://testserver")):
        monkeypatch.setenv(f"MLPGRADE_{name}", value)
    assert mlpgrade(["users", "invite", "alice"]) == 2  # no mail server: says so
    assert "--print" in capsys.readouterr().err
    assert mlpgrade(["users", "invite", "--print", "bob"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header == "login,email,link,expires" and row.startswith("bob,,http://testserver/login/link/")
    monkeypatch.setenv("MLPGRADE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MLPGRADE_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("MLPGRADE_SMTP_FROM", SENDER)
    assert mlpgrade(["users", "invite", "--all"]) == 0  # alice (bob has no e-mail)
    assert capsys.readouterr().out.splitlines()[1:] == ["alice,sent,"]
    assert mailbox.wait(1)[0][0] == ["alice@example.edu"]
    assert mlpgrade(["users", "invite", "--all"]) == 0  # her link still works: nobody
    assert "Nobody to invite" in capsys.readouterr().err
    assert mlpgrade(["users", "invite", "nosuchuser"]) == 2
    assert "no such user" in capsys.readouterr().err


def test_invite_everyone_reaches_each_student_once(mailer, users, sessions):
    client, settings, mailbox = mailer
    set_emails(sessions, prof="prof@example.edu", ta1="ta1@example.edu")  # staff: not "everyone"
    assert "2 invitation(s) queued" in invite(client, users, scope="everyone").text
    assert "Nobody to invite" in invite(client, users, scope="everyone").text  # pressed twice
    deliver_all(sessions, settings)
    links = {rcpt[0]: mailbox.link(i) for i, (rcpt, _) in enumerate(mailbox.wait(2))}
    assert set(links) == {"alice@example.edu", "bob@example.edu"}
    TestClient(client.app).post(path(links["alice@example.edu"]))
    with sessions() as session:  # bob's link expired unused: he is invited again, alice not
        for row in session.scalars(select(SignInLink).where(
                SignInLink.sent_to == "bob@example.edu")):
            row.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    page = invite(client, users, scope="everyone").text
    assert "1 invitation(s) queued" in page
    with sessions() as session:
        newest = crud.latest_links(session)
        bob = crud.get_user_by_login(session, login="bob")
        assert newest[bob.id].status == "queued"


def test_a_link_used_twice_at_once_signs_in_once(mailer, users, sessions):
    client, settings, mailbox = mailer
    invite(client, users, "alice")
    deliver_all(sessions, settings)
    token = mailbox.wait(1) and mailbox.link().split("/")[-1]
    barrier = threading.Barrier(2)

    def use():
        with sessions() as session:
            barrier.wait()
            return sign_in_links.use(session, token)[1]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: use(), range(2)))
    assert sum(r is not None for r in results) == 1
    with sessions() as session:
        tokens = [t for t in crud.list_tokens(session, user=crud.get_user_by_login(
            session, login="alice")) if t.label == sign_in_links.TOKEN_LABEL]
        assert len(tokens) == 1

"""The bulk worker's sign-in-link job (worker/mailing.py) against a real SMTP server and a real
broker: a mail server that is down is tried again later by a re-sent job, then recorded as
failed; a redelivered job never mails a link twice."""

from __future__ import annotations

import dataclasses

import pytest

from submissions_api import sign_in_links
from submissions_api.settings import SmtpSettings
from submissions_api.store import crud
from submissions_api.store.models_grading import QueueKind
from submissions_api.store.models_lms import SignInLink
from tests.api.mailbox import start_smtp
from tests.api.services import free_port
from worker import mailing
from worker.context import WorkerContext


@pytest.fixture
def smtp():
    controller, mailbox = start_smtp()
    yield controller, mailbox
    controller.stop()


def context(backend, sessions, dispatcher, port: int) -> WorkerContext:
    settings = dataclasses.replace(
        backend, public_url="http://grader.example.edu", infra_retries=1, retry_backoff=30,
        smtp=SmtpSettings(host="127.0.0.1", port=port, sender="staff@example.edu"))
    return WorkerContext(settings=settings, sessions=sessions, dispatcher=dispatcher)


def queued_link(ctx) -> int:
    with ctx.sessions() as session:
        alice = crud.get_user_by_login(session, login="alice")
        alice.email = "alice@example.edu"
        link_id = sign_in_links.queue_link(session, ctx.settings, alice, requested_by="prof").id
        session.commit()
    return link_id


def test_mailing_retries_while_the_server_is_down_then_fails(backend, users, sessions,
                                                            dispatcher):
    ctx = context(backend, sessions, dispatcher, free_port())  # connection refused
    link_id = queued_link(ctx)
    assert mailing.send_sign_in_link(ctx, link_id=link_id) == "queued"
    assert dispatcher.queue_size(QueueKind.BULK) == 1  # the same job again, after a backoff
    assert mailing.send_sign_in_link(ctx, link_id=link_id) == "failed"
    assert dispatcher.queue_size(QueueKind.BULK) == 1  # no more tries
    with sessions() as session:
        row = session.get(SignInLink, link_id)
        assert row.attempts == 2 and row.token_hash is None
        assert "could not reach the mail server 127.0.0.1" in row.error


def test_mailing_a_redelivered_job_sends_once(backend, users, sessions, dispatcher, smtp):
    controller, mailbox = smtp
    ctx = context(backend, sessions, dispatcher, controller.port)
    link_id = queued_link(ctx)
    assert mailing.send_sign_in_link(ctx, link_id=link_id) == "sent"
    assert mailing.send_sign_in_link(ctx, link_id=link_id) == "sent"
    assert len(mailbox.wait(1)) == 1
    assert mailbox.link().startswith("http://grader.example.edu/login/link/")

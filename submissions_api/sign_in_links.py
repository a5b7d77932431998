"""One-time sign-in links, mailed to users of a course without an LMS (issue 24, item 7).

A link's life: staff (services/invitations.py) or the user themselves ask for one → a `queued`
row (no token yet) → the sender, the bulk worker (worker/mailing.py) or `mlpgrade users invite`,
mints the token, keeps only its sha256, mails the link and records `sent`, or, when the mail
server failed, `failed` with its answer (the token is dropped: nobody has it) → the user opens
the link, which shows a "Sign in as <name>" button (a mail scanner's GET does not use it up),
and the button's POST uses the link, once, before it expires, signing that browser in with an API
token of its own (pages/auth.py: set_sign_in). Tokens stay for the command line and the API.

No web framework and no service layer here: the worker imports this module.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from submissions_api import mail, security
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.models import User, utcnow
from submissions_api.store.models_lms import SignInLink

QUEUED, SENT, FAILED = "queued", "sent", "failed"
LINK_PATH = "/login/link/"
TOKEN_LABEL = "sign-in link"
NO_PUBLIC_URL = ("set MLPGRADE_PUBLIC_URL to the address students open (links never use the "
                 "address a request came to, which a visitor chooses)")


def mail_problem(settings: Settings) -> str | None:
    """Why links cannot be mailed with these settings, as what to set; None when they can."""
    if settings.smtp is None:
        return ("E-mail is not configured: set MLPGRADE_SMTP_HOST and MLPGRADE_SMTP_FROM "
                "(docs/service.md), or print the links with `mlpgrade users invite --print` "
                "and mail them yourself")
    if not settings.public_url:
        return NO_PUBLIC_URL
    return None


def link_url(settings: Settings, token: str) -> str:
    return f"{(settings.public_url or '').rstrip('/')}{LINK_PATH}{token}"


def expiry(settings: Settings, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=settings.sign_in_link_days)


def queue_link(session: Session, settings: Settings, user: User, *, requested_by: str = ""
               ) -> SignInLink:
    """A `queued` link for `user` to their e-mail (not committed; the caller sends it after
    commit)."""
    return crud.add_link(session, user=user, sent_to=user.email.strip(),
                         expires_at=expiry(settings), requested_by=requested_by)


def print_link(session: Session, settings: Settings, user: User, *, requested_by: str
               ) -> tuple[str, datetime]:
    """A link handed to the caller instead of mailed (the command line's --print): the URL and
    when it expires (not committed)."""
    token = secrets.token_urlsafe(32)
    row = crud.add_link(session, user=user, sent_to="", expires_at=expiry(settings),
                        requested_by=requested_by, token_hash=security.hash_token(token),
                        status=SENT)
    row.sent_at = utcnow()
    return link_url(settings, token), row.expires_at


@dataclass(frozen=True)
class Delivery:
    """What one send did: the link's status after it, the error, and attempts so far."""

    status: str
    error: str = ""
    attempts: int = 0
    retry: bool = False
    """Failed, but worth trying again (the server was down, not refusing the address)."""


def deliver(sessions: sessionmaker[Session], settings: Settings, link_id: int, *,
            max_attempts: int = 1) -> Delivery:
    """Mint, mail and record one queued link. A link that is no longer queued is left alone
    (a redelivered task sends nothing twice). A failure that may pass keeps the link queued
    until `max_attempts` sends have failed; then, or at once when the server refused the
    address, it is `failed` with the server's answer."""
    with sessions() as session:
        row = session.get(SignInLink, link_id)
        if row is None or row.status != QUEUED:
            return Delivery(row.status if row else "gone")
        token = secrets.token_urlsafe(32)
        row.token_hash, row.expires_at = security.hash_token(token), expiry(settings)
        row.attempts += 1
        session.commit()  # before the mail leaves: a sent link always works
        try:
            problem = mail_problem(settings)
            if problem or not settings.smtp:
                raise mail.MailError(problem or "", permanent=True)
            mail.send(settings.smtp, message_for(settings, row, row.user, token))
        except (mail.MailError, ValueError) as exc:
            permanent = getattr(exc, "permanent", True)
            row.token_hash, row.error = None, str(exc)[:2000]
            retry = not permanent and row.attempts < max_attempts
            row.status = QUEUED if retry else FAILED
            session.commit()
            return Delivery(row.status, row.error, row.attempts, retry)
        row.status, row.sent_at, row.error = SENT, utcnow(), ""
        session.commit()
        return Delivery(SENT, "", row.attempts)


def message_for(settings: Settings, row: SignInLink, user: User, token: str):
    """The invitation e-mail carrying `token` (mail.invitation)."""
    assert settings.smtp is not None
    return mail.invitation(sender=settings.smtp.sender, course=settings.course_name,
                           name=user.name, login=user.login, to=row.sent_to,
                           link=link_url(settings, token), expires_at=row.expires_at,
                           sign_in_url=f"{(settings.public_url or '').rstrip('/')}/login")


@dataclass(frozen=True)
class LinkState:
    """What a link is, for the page that opens it: `valid`, `used`, `expired`, `inactive`
    (the user left the course) or `unknown` (never issued, mistyped or cut off)."""

    state: str
    user: User | None = None


def inspect_link(session: Session, token: str) -> LinkState:
    row = crud.link_by_hash(session, token_hash=security.hash_token(token)) if token else None
    if row is None or row.status != SENT:
        return LinkState("unknown")
    if row.used_at is not None:
        return LinkState("used", row.user)
    if row.expires_at <= utcnow():
        return LinkState("expired", row.user)
    if not row.user.active:
        return LinkState("inactive", row.user)
    return LinkState("valid", row.user)


def use(session: Session, token: str) -> tuple[LinkState, str | None]:
    """Use a link: its state, and for a valid one a new API token for this browser (committed
    with the link's use, so a link signs in exactly once)."""
    state = inspect_link(session, token)
    if state.state != "valid" or state.user is None:
        return state, None
    row = crud.link_by_hash(session, token_hash=security.hash_token(token))
    if row is None or not crud.use_link(session, link_id=row.id, now=utcnow()):
        session.rollback()
        return LinkState("used", state.user), None
    api_token = security.issue_token(session, user=state.user, label=TOKEN_LABEL)
    session.commit()
    return state, api_token

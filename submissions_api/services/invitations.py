"""Invitations: instructors mail students one-time sign-in links (the users page and
`mlpgrade users invite`), and anyone can ask for a new link of their own on the sign-in page.

Instructors only, not TAs: the users page, the roster and its e-mail addresses are the
instructors' (a TA has no users page), and a student whose link expired asks for a new one
themselves, so a TA never needs to. Limits (settings.py): each user, and each address, gets at
most `sign_in_links_per_hour` links an hour, and the service sends at most `mail_per_hour`
e-mails an hour, of which links asked for on the sign-in page get at most half; staff are told
who was held back, a visitor never is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from submissions_api import sign_in_links
from submissions_api.errors import Conflict, Refused
from submissions_api.jobs import Dispatcher
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.models import Role, User, utcnow
from submissions_api.store.models_lms import SignInLink

log = logging.getLogger(__name__)
STUCK = timedelta(minutes=5)
"""A queued link this old was never picked up (its job was lost): "send again" re-sends it."""


@dataclass
class InviteSummary:
    """Who an invitation round reached: logins queued, and those held back and why."""

    queued: list[str] = field(default_factory=list)
    no_email: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)
    limited: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    link_ids: list[int] = field(default_factory=list)

    def sentences(self, settings: Settings) -> list[str]:
        """The round in words, for the page and the command line."""
        out = [f"{len(self.queued)} invitation(s) queued: the bulk worker mails them; each "
               "user's row shows sent or failed."] if self.queued else []
        if self.no_email:
            out.append(f"No e-mail address, not invited: {', '.join(self.no_email)} (add one, "
                       "or import a roster with an e-mail column).")
        if self.inactive:
            out.append(f"No longer in the course, not invited: {', '.join(self.inactive)}.")
        if self.limited:
            out.append(f"Already sent {settings.sign_in_links_per_hour} links this hour, not "
                       f"invited: {', '.join(self.limited)} (try again in an hour).")
        if self.capped:
            out.append(f"The service sends at most {settings.mail_per_hour} e-mails an hour "
                       f"(MLPGRADE_MAIL_PER_HOUR): not invited yet: {len(self.capped)} user(s) "
                       "(send the rest in an hour).")
        return out or ["Nobody to invite: every student with an e-mail has signed in or has a "
                       "link that still works."]


def invite(session: Session, settings: Settings, dispatcher: Dispatcher, user: User, *,
           logins: Sequence[str] = (), everyone: bool = False) -> InviteSummary:
    """Mail sign-in links (instructors): to the users `logins`, or with `everyone` to every
    active student with an e-mail who has not signed in yet and holds no working link.
    Conflict when mail is not set up."""
    require_role(user, Role.INSTRUCTOR)
    problem = sign_in_links.mail_problem(settings)
    if problem:
        raise Conflict(problem)
    if not everyone and not logins:
        raise Refused("choose whom to invite: tick users, or invite everyone")
    targets = invitees(session, logins=logins, everyone=everyone)
    summary = queue_invitations(session, settings, targets, requested_by=user.login)
    session.commit()
    for link_id in summary.link_ids:
        dispatcher.send_sign_in_link(link_id)
    return summary


def invitees(session: Session, *, logins: Sequence[str] = (), everyone: bool = False
             ) -> list[User]:
    """The users named (NotFound for an unknown login), or every student not signed in yet."""
    if everyone:
        return crud.never_signed_in(session, role=Role.STUDENT, now=utcnow())
    return [fetch.user(session, login) for login in dict.fromkeys(logins)]


def queue_invitations(session: Session, settings: Settings, targets: Sequence[User], *,
                      requested_by: str) -> InviteSummary:
    """A queued link for each target the limits allow (not committed, not sent)."""
    summary = InviteSummary()
    room = _room(session, settings, own=not requested_by)
    for target in targets:
        if not target.active:
            summary.inactive.append(target.login)
        elif not target.email.strip():
            summary.no_email.append(target.login)
        elif _over_limit(session, settings, target):
            summary.limited.append(target.login)
        elif room <= 0:
            summary.capped.append(target.login)
        else:
            row = sign_in_links.queue_link(session, settings, target, requested_by=requested_by)
            summary.queued.append(target.login)
            summary.link_ids.append(row.id)
            room -= 1
    return summary


def resend(session: Session, settings: Settings, dispatcher: Dispatcher, user: User
           ) -> InviteSummary:
    """Send again (instructors): a new link to each user whose newest one failed, and the job
    of each link queued too long ago (lost on its way to the worker) once more."""
    require_role(user, Role.INSTRUCTOR)
    problem = sign_in_links.mail_problem(settings)
    if problem:
        raise Conflict(problem)
    failed = [row.user for row in crud.links_with_status(session, status=sign_in_links.FAILED)]
    summary = queue_invitations(session, settings, failed, requested_by=user.login)
    stuck = [row for row in crud.links_with_status(session, status=sign_in_links.QUEUED)
             if row.created_at < utcnow() - STUCK]
    session.commit()
    for row in stuck:
        summary.queued.append(row.user.login)
        summary.link_ids.append(row.id)
    for link_id in summary.link_ids:
        dispatcher.send_sign_in_link(link_id)
    return summary


def request_own_link(session: Session, settings: Settings, dispatcher: Dispatcher, who: str
                     ) -> None:
    """The sign-in page's "mail me a new link": a link to the account whose login or e-mail is
    `who`, when it exists, has an e-mail and is within its limits. The caller answers the same
    whatever happened here, so the form does not tell who has an account."""
    who = who.strip()[:320]
    if not who or sign_in_links.mail_problem(settings):
        return
    user = crud.get_user_by_login(session, login=who)
    users = [user] if user is not None and user.active else []
    users = users or crud.users_by_address(session, address=who)
    summary = queue_invitations(session, settings, users, requested_by="")
    session.commit()
    if summary.limited or summary.capped:
        log.warning("sign-in link asked for %r held back by the hourly limits", who)
    for link_id in summary.link_ids:
        dispatcher.send_sign_in_link(link_id)


def overview(session: Session, user: User) -> dict[int, SignInLink]:
    """user id → their newest link (the users page's Invitation column), instructors."""
    require_role(user, Role.INSTRUCTOR)
    return crud.latest_links(session)


def _room(session: Session, settings: Settings, *, own: bool = False) -> int:
    """E-mails the service may still send this hour. Links people ask for themselves get half
    of the hour's mail at most: strangers asking for everyone's links cannot use up what the
    staff's invitations need."""
    since = utcnow() - timedelta(hours=1)
    room = settings.mail_per_hour - crud.links_since(session, since=since)
    if own:
        room = min(room, settings.mail_per_hour // 2
                   - crud.links_since(session, since=since, requested_by=""))
    return room


def _over_limit(session: Session, settings: Settings, target: User) -> bool:
    since = utcnow() - timedelta(hours=1)
    limit = settings.sign_in_links_per_hour
    return (crud.links_since(session, since=since, user_id=target.id) >= limit
            or crud.links_since(session, since=since, sent_to=target.email.strip()) >= limit)

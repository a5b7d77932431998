"""NRPS roster sync: the members of an LMS course (a context) become our users.

New members are added (a user and their identity, issuer + `sub`; the login made as a launch
makes it, lms/identity.py), changed names, e-mails and roles are updated, and members the LMS no
longer lists (or lists as Inactive or Deleted) are marked inactive: never deleted, their
submissions stay. Pressed by staff (a bulk-queue task) and after an instructor's launch at most
hourly (`sync_if_stale`). The pages are fetched with no transaction open; the changes are one."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from submissions_api.lms import advantage
from submissions_api.lms.identity import EMAIL_MAX, derive_login, display_name, role_of, safe_text
from submissions_api.lms.keys import signing_key
from submissions_api.lms.passback import registration
from submissions_api.store import crud
from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiContext, LtiIdentity

log = logging.getLogger(__name__)
STALE = timedelta(hours=1)
GONE = frozenset({"Inactive", "Deleted"})


class RosterError(Exception):
    """The course's roster cannot be read: `str()` says why and what to do."""


@dataclass
class Changes:
    """What a sync changed (counts), and the logins it added, for the staff's note."""

    added: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    members: int = 0
    kept_active: bool = False
    """Members missing from this course were not deactivated: the platform has other courses
    here, where they may be."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """The staff's note: "1000 members: 998 added, 1 updated, 1 deactivated"."""
        note = (f"{self.members} members: {self.added} added, {self.updated} updated, "
                f"{self.deactivated} deactivated")
        if self.reactivated:
            note += f", {self.reactivated} reactivated"
        if self.kept_active:
            note += " (members missing here kept active: the LMS has other courses here)"
        return note


def sync_if_stale(session: Session, context: LtiContext) -> bool:
    """After an instructor's launch: True (and the sync marked as done now, in the caller's
    transaction) when the course was last synced over an hour ago; the caller then sends
    `dispatcher.send_roster_sync(context.id)` after committing. At most one per hour, however
    many launches race."""
    if not context.memberships_url:
        return False
    now = crud.db_now(session)
    won = session.execute(update(LtiContext).where(
        LtiContext.id == context.id,
        or_(LtiContext.synced_at.is_(None), LtiContext.synced_at < now - STALE))
        .values(synced_at=now).execution_options(synchronize_session=False)).rowcount == 1
    return won


def sync_context(sessions: sessionmaker[Session], context_pk: int, *,
                 http: httpx.Client | None = None) -> dict[str, Any]:
    """Fetch every page of the course's members and apply them; what changed (also kept as the
    course's `sync_note`, or why it failed)."""
    try:
        members = _fetch(sessions, context_pk, http)
    except RosterError as exc:
        with sessions() as session:
            session.execute(update(LtiContext).where(LtiContext.id == context_pk)
                            .values(sync_note=f"failed: {exc}"[:2000]))
            session.commit()
        raise
    with sessions() as session:
        context = session.get(LtiContext, context_pk)
        changes = apply_members(session, context, members)
        context.synced_at, context.sync_note = crud.db_now(session), changes.text()
        session.commit()
    log.info("roster of LMS course %s: %s", context_pk, changes.text())
    return changes.as_dict()


def _fetch(sessions: sessionmaker[Session], context_pk: int, http: httpx.Client | None
           ) -> list[dict[str, Any]]:
    with sessions() as session:
        context = session.get(LtiContext, context_pk)
        if context is None:
            raise RosterError(f"no LMS course {context_pk}: it was removed")
        if not context.memberships_url:
            raise RosterError(f"the LMS gave course {context.title or context.context_id!r} no "
                              "memberships URL: enable Names and Role Provisioning Services for "
                              "the tool in the LMS, then launch any link of the course once")
        reg, key = registration(context.platform), signing_key(session)
        url = context.memberships_url
    own = http is None
    http = http or httpx.Client()
    try:
        return advantage.membership_pages(http, reg, key, url)
    except advantage.PlatformError as exc:
        raise RosterError(f"the LMS did not give the roster: {exc.message}") from exc
    finally:
        if own:
            http.close()


def apply_members(session: Session, context: LtiContext, members: list[dict[str, Any]]
                  ) -> Changes:
    """Add, update and deactivate our users from an NRPS member list (not committed)."""
    issuer = context.platform.issuer
    known = {i.sub: i for i in session.scalars(select(LtiIdentity)
                                              .where(LtiIdentity.issuer == issuer))}
    taken = set(session.scalars(select(User.login)))
    changes, listed, new = Changes(members=len(members)), set(), []
    for member in members:
        sub = member.get("user_id")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            continue
        identity = known.get(sub)
        if member.get("status", "Active") in GONE:
            if identity is not None and identity.user.active:
                identity.user.active = False
                changes.deactivated += 1
            continue
        listed.add(sub)
        if identity is None:
            login = derive_login(member, issuer=issuer, sub=sub, taken=taken.__contains__)
            taken.add(login)
            new.append((sub, _new_user(member, login)))
            continue
        _update(identity.user, member, changes)
    if new:
        session.add_all(user for _, user in new)
        session.flush()
        session.add_all(LtiIdentity(issuer=issuer, sub=sub, user_id=user.id) for sub, user in new)
        changes.added = len(new)
    contexts = session.scalar(select(func.count()).select_from(LtiContext)
                              .where(LtiContext.platform_id == context.platform_id))
    changes.kept_active = contexts > 1
    for sub, identity in known.items():
        if sub not in listed and identity.user.active and not changes.kept_active:
            identity.user.active = False
            changes.deactivated += 1
    session.flush()
    return changes


def _new_user(member: dict[str, Any], login: str) -> User:
    return User(login=login, name=display_name(member), role=role_of(member.get("roles") or []),
                email=safe_text(member.get("email"), EMAIL_MAX), active=True,
                sis_user_id=safe_text(member.get("lis_person_sourcedid"), 100))


def _update(user: User, member: dict[str, Any], changes: Changes) -> None:
    """A known member: what the LMS says now (a field it leaves out is kept)."""
    values = {"name": display_name(member), "email": safe_text(member.get("email"), EMAIL_MAX),
              "sis_user_id": safe_text(member.get("lis_person_sourcedid"), 100)}
    values = {k: v for k, v in values.items() if v}
    if isinstance(member.get("roles"), list):
        values["role"] = role_of(member["roles"])
    edited = {k: v for k, v in values.items() if getattr(user, k) != v}
    for key, value in edited.items():
        setattr(user, key, value)
    if not user.active:
        user.active = True
        changes.reactivated += 1
    elif edited:
        changes.updated += 1


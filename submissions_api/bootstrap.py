"""Bringing a database up: migrate, register the grader's assignments, make the first instructor."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from grader.text import printable
from submissions_api import security
from submissions_api.logins import is_login, safe_login
from submissions_api.services import exports, users
from submissions_api.services.roster import Roster
from submissions_api.services.roster_import import (
    Imported,
    import_rows,
    remember_canvas_ids,
)
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import ApiToken, Role, User
from submissions_api.store.rubrics import sync_rubrics

log = logging.getLogger(__name__)


def prepare_database(settings: Settings) -> None:
    """Migrate to the latest schema, sync the assignments and rename logins from before the
    login alphabet (idempotent)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    with session_factory(settings.database_url)() as session:
        sync_rubrics(session)
        for old, new in rename_unsafe_logins(session):
            log.warning("user login %r is not of the login alphabet: renamed to %s (the old "
                        "login is kept in the name)", old, new)
        session.commit()


def rename_unsafe_logins(session: Session) -> list[tuple[str, str]]:
    """Give every user whose login predates the login alphabet (logins.py: `/`, `=`, spaces,
    control characters…) a safe login made of it, and keep the old one in their name, so their
    staff pages answer again and no export carries it (not committed); (old, new) per user.
    Tokens and submissions belong to the user's id, so they follow: the person signs in and
    hands in as before."""
    users = crud.list_users(session)
    taken = {u.login for u in users}
    renamed = []
    for user in users:
        if is_login(user.login):
            continue
        old = user.login
        user.login = safe_login(old, taken, fallback=f"user-{user.id}")
        taken.add(user.login)
        note = f"(login was {printable(old, 80)!r})"
        user.name = f"{user.name[:199 - len(note)]} {note}" if user.name else note
        renamed.append((old, user.login))
    return renamed


def instructor_token(settings: Settings, *, login: str = "instructor", label: str = "serve",
                     token: str | None = None) -> str | None:
    """A token for the first instructor `login`, only when this creates them: a restart
    mints nothing (`mlpgrade users tokens rotate` gives an instructor a new one). With `token`
    given (production bootstrap from MLPGRADE_INSTRUCTOR_TOKEN), that token is registered once
    and None returned."""
    with session_factory(settings.database_url)() as session:
        user = crud.get_user_by_login(session, login=login)
        first = user is None and not crud.list_users(session, role=Role.INSTRUCTOR)
        if user is None and (first or token is not None):
            user = crud.create_user(session, login=login, name="Instructor", role=Role.INSTRUCTOR)
        new = None
        if token is not None:
            if security.user_for_token(session, token=token) is None:
                security.issue_token(session, user=user, label="bootstrap", token=token)
        elif first:
            new = security.issue_token(session, user=user, label=label)
        session.commit()
        return new


def user_tokens(settings: Settings, login: str, action: str, *, token_id: int | None = None
                ) -> list[ApiToken] | str | int:
    """The command line's `users tokens`: `list` (the user's tokens), `rotate` (revoke all,
    return one new token) or `revoke` (one token, or all with `token_id` None: how many).
    LookupError when there is no such user."""
    with session_factory(settings.database_url)() as session:
        user = crud.get_user_by_login(session, login=login)
        if user is None:
            raise LookupError(f"no user {login}")
        if action == "list":
            return list(crud.list_tokens(session, user=user))
        out: str | int = users.rotate(session, user, label="rotated on the command line") \
            if action == "rotate" else users.revoke(session, user, token_id)
        session.commit()
        return out


def import_roster(settings: Settings, roster: Roster, *, new_tokens: bool = False
                  ) -> tuple[list[Imported], list[str]]:
    """Create or update the roster's users (services.roster_import), committed: each one's
    outcome, and notes (Canvas assignment ids learned)."""
    with session_factory(settings.database_url)() as session:
        out = import_rows(session, roster.rows, new_tokens=new_tokens)
        notes = remember_canvas_ids(session, roster.canvas_ids)
        session.commit()
    return out, notes


def gradebook_text(settings: Settings, slug: str, policy: str, fmt: str, *,
                   feedback: bool = False) -> str:
    """The command line's `gradebook`: the CSV of one of exports.FORMATS, as staff download
    it. LookupError when there is no such assignment."""
    with session_factory(settings.database_url)() as session:
        if crud.get_assignment(session, slug=slug) is None:
            known = ", ".join(a.slug for a in crud.list_assignments(session))
            raise LookupError(f"no assignment {slug} (there are: {known})")
        # the command line has the database: it reads as an instructor would (never stored)
        reader = User(login="command-line", role=Role.INSTRUCTOR)
        return exports.gradebook_export(session, reader, slug, policy,  # type: ignore[arg-type]
                                        fmt, feedback=feedback)[0]

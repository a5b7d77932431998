"""Bringing a database up: migrate, register the grader's assignments, make the first instructor."""

from __future__ import annotations

from submissions_api import security
from submissions_api.services import users
from submissions_api.services.roster import RosterRow
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import ApiToken, Role
from submissions_api.store.rubrics import sync_rubrics


def prepare_database(settings: Settings) -> None:
    """Migrate to the latest schema and sync the assignments (idempotent)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    with session_factory(settings.database_url)() as session:
        sync_rubrics(session)
        session.commit()


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


def import_roster(settings: Settings, rows: list[RosterRow], *, new_tokens: bool = False
                  ) -> list[tuple[str, str, str | None]]:
    """Create the roster's users (services.users.import_rows), committed."""
    with session_factory(settings.database_url)() as session:
        out = users.import_rows(session, rows, new_tokens=new_tokens)
        session.commit()
    return out

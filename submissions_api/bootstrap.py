"""Bringing a database up: migrate, register the grader's assignments, make the first instructor."""

from __future__ import annotations

from submissions_api import security
from submissions_api.settings import Settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory
from submissions_api.store.migrate import upgrade
from submissions_api.store.models import Role
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
    """A token for the instructor `login` (created if missing). With `token` given (production
    bootstrap from MLPGRADE_INSTRUCTOR_TOKEN), that token is registered once and None returned."""
    with session_factory(settings.database_url)() as session:
        user = crud.get_user_by_login(session, login=login) or \
            crud.create_user(session, login=login, name="Instructor", role=Role.INSTRUCTOR)
        if token is not None:
            if security.user_for_token(session, token=token) is None:
                security.issue_token(session, user=user, label="bootstrap", token=token)
            session.commit()
            return None
        new = security.issue_token(session, user=user, label=label)
        session.commit()
        return new


def import_roster(settings: Settings, rows: list[dict[str, str]], *, new_tokens: bool = False
                  ) -> list[tuple[str, str, str | None]]:
    """Create the roster's users; returns (login, role, token or None when it already existed
    and no new token was asked for)."""
    out = []
    with session_factory(settings.database_url)() as session:
        for row in rows:
            login = row["login"].strip()
            role = (row.get("role") or "student").strip().lower()
            if role not in {r.value for r in Role}:
                raise ValueError(f"{login}: unknown role {role!r} (student, ta or instructor)")
            user = crud.get_user_by_login(session, login=login)
            token = None
            if user is None:
                user = crud.create_user(session, login=login, name=(row.get("name") or "").strip(),
                                        role=role)
                token = security.issue_token(session, user=user, label="roster")
            elif new_tokens:
                token = security.issue_token(session, user=user, label="roster")
            out.append((login, user.role, token))
        session.commit()
    return out

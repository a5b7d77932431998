"""A roster into the database: new people become users with a first token, people we know are
updated from the file (name, e-mail, role, section and the LMS's ids; their tokens and
submissions untouched), and each one's outcome says what changed. A Canvas gradebook export's
"Title (id)" columns teach our assignments their Canvas ids, so the grade export fills the
existing Canvas column. The page and the command line share this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.orm import Session

from submissions_api import security
from submissions_api.errors import Refused
from submissions_api.logins import login_problem
from submissions_api.security import require_role
from submissions_api.services.roster import Roster, RosterRow
from submissions_api.store import crud
from submissions_api.store.models import Role, User

KEPT = ("name", "email", "section", "lms_id", "sis_user_id", "sis_login_id")
"""The fields a re-import updates from the file (when it gives them), besides the role."""


class Imported(NamedTuple):
    """One person's outcome: `status` is created, updated or unchanged; `changed` names the
    fields updated (or why a change was not made); `token` is new (shown once) or None."""

    login: str
    role: str
    token: str | None
    status: str
    changed: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """"created", "updated (name, section)", "unchanged"."""
        return f"{self.status} ({', '.join(self.changed)})" if self.changed else self.status


class RosterResult(NamedTuple):
    people: list[Imported]
    notes: list[str]
    """What else the import did (Canvas ids remembered)."""


def import_roster_as(session: Session, user: User, roster: Roster, *, new_tokens: bool = False
                     ) -> RosterResult:
    """The roster page's import (instructors), committed."""
    require_role(user, Role.INSTRUCTOR)
    out = RosterResult(import_rows(session, roster.rows, new_tokens=new_tokens, importer=user),
                       remember_canvas_ids(session, roster.canvas_ids))
    session.commit()
    return out


def import_rows(session: Session, rows: Sequence[RosterRow], *, new_tokens: bool = False,
                importer: User | None = None) -> list[Imported]:
    """Create or update the roster's users (not committed). A user who existed keeps their
    tokens unless `new_tokens` (their old ones are revoked then)."""
    out = []
    for row in rows:
        if problem := login_problem(row.login):
            raise Refused(f"line {row.line}: {problem}")
        target = crud.get_user_by_login(session, login=row.login)
        if target is None:
            target = crud.create_user(session, login=row.login, name=row.name, role=row.role)
            _update(session, target, row, importer)
            token = security.issue_token(session, user=target, label="roster")
            out.append(Imported(row.login, target.role, token, "created"))
            continue
        changed = _update(session, target, row, importer)
        token = None
        if new_tokens:
            crud.revoke_tokens(session, user=target)
            token = security.issue_token(session, user=target, label="roster")
            changed.append("new token")
        updated = [c for c in changed if not c.startswith("kept") and c != "new token"]
        out.append(Imported(row.login, target.role, token,
                            "updated" if updated else "unchanged", tuple(changed)))
    return out


def _update(session: Session, target: User, row: RosterRow, importer: User | None
            ) -> list[str]:
    """Apply the file's values to `target`; the names of the fields changed."""
    changed = []
    for name in KEPT:
        value = getattr(row, name)
        if name in row.given and value and getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    if "role" in row.given and target.role != row.role:
        if importer is not None and target.id == importer.id:
            changed.append("kept your own role")
        elif target.role == Role.INSTRUCTOR and \
                len(crud.list_users(session, role=Role.INSTRUCTOR)) == 1:
            changed.append("kept the last instructor's role")
        else:
            target.role = Role(row.role)
            changed.append("role")
    if not target.active:
        target.active = True
        changed.append("active again")
    return changed


def remember_canvas_ids(session: Session, canvas_ids: dict[str, str]) -> list[str]:
    """Set the Canvas assignment id of each of our assignments whose title (or slug) is a
    gradebook column's title (not committed); a note per id learned."""
    by_title = {t.strip().casefold(): i for t, i in canvas_ids.items()}
    notes = []
    for assignment in crud.list_assignments(session):
        found = by_title.get((assignment.title or "").strip().casefold()) or \
            by_title.get(assignment.slug.casefold())
        if found and assignment.canvas_assignment_id != found:
            assignment.canvas_assignment_id = found
            notes.append(f"{assignment.title or assignment.slug}: Canvas assignment {found} "
                         f"(the Canvas CSV now fills that column)")
    return notes

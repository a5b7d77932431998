"""Users and tokens: instructors create users, change roles and revoke access; anyone can list,
revoke and rotate their own tokens (instructors anyone's). The command line (bootstrap.py) uses
the same `rotate` and `revoke` without a caller: it has the database already."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from submissions_api import security
from submissions_api.errors import Conflict, NotFound, Refused
from submissions_api.logins import login_problem
from submissions_api.mail import parse_address
from submissions_api.security import require_role
from submissions_api.services import fetch
from submissions_api.services.roster import clean
from submissions_api.store import crud
from submissions_api.store.models import ApiToken, Role, User

ROLES = tuple(r.value for r in Role)


def list_users(session: Session, user: User, *, role: str | None = None) -> Sequence[User]:
    require_role(user, Role.TA)
    return crud.list_users(session, role=role)


def users_overview(session: Session, user: User) -> list[tuple[User, int]]:
    """Every user with how many live tokens they have (instructors: the users page)."""
    require_role(user, Role.INSTRUCTOR)
    counts = crud.live_token_counts(session)
    return [(u, counts.get(u.id, 0)) for u in crud.list_users(session)]


def create_user(session: Session, user: User, *, login: str, name: str, role: str,
                email: str = "") -> tuple[User, str]:
    """A new user and their first token, shown once (instructors); 422 when `login` is not of
    the login alphabet (logins.py) or `email` is given and is not an address, 409 when the login
    exists."""
    require_role(user, Role.INSTRUCTOR)
    if problem := login_problem(login):
        raise Refused(problem)
    if role not in ROLES:
        raise Refused(f"unknown role {role!r}: student, ta or instructor")
    if crud.get_user_by_login(session, login=login):
        raise Conflict(f"user {login} exists")
    try:
        email = parse_address(email).addr_spec if email.strip() else ""
    except ValueError as exc:
        raise Refused(f"{exc}: give an address like name@example.edu, or none") from exc
    new = crud.create_user(session, login=login, name=clean(name), role=role)
    new.email = email
    token = security.issue_token(session, user=new, label="created")
    session.commit()
    return new, token


def _target(session: Session, user: User, login: str) -> User:
    """The user whose tokens `user` acts on: themselves, or anyone for an instructor."""
    target = fetch.user(session, login)
    if target.id != user.id:
        require_role(user, Role.INSTRUCTOR)
    return target


def issue_token(session: Session, user: User, login: str) -> tuple[User, str]:
    """A new token for a user (the old ones stay valid): yourself, or anyone if you are an
    instructor."""
    target = _target(session, user, login)
    token = security.issue_token(session, user=target, label=f"issued by {user.login}")
    session.commit()
    return target, token


def list_tokens(session: Session, user: User, login: str) -> Sequence[ApiToken]:
    """A user's tokens, newest first, revoked ones too (never the tokens themselves)."""
    return crud.list_tokens(session, user=_target(session, user, login))


def revoke_token(session: Session, user: User, login: str, token_id: int) -> None:
    """Revoke one of a user's tokens (yourself, or anyone if you are an instructor)."""
    target = _target(session, user, login)
    if not revoke(session, target, token_id):
        raise NotFound("live token")
    session.commit()


def rotate_token(session: Session, user: User, login: str) -> tuple[User, str]:
    """Revoke every token of a user and issue one new one, shown once."""
    target = _target(session, user, login)
    token = rotate(session, target, label=f"rotated by {user.login}")
    session.commit()
    return target, token


def own_tokens(session: Session, user: User, *, current: str) -> list[tuple[ApiToken, bool]]:
    """The caller's live tokens, newest first, each with whether it is `current` (the token of
    this request): what the account page shows (when each was issued, never the tokens)."""
    mine = security.hash_token(current)
    return [(t, t.token_hash == mine) for t in crud.list_tokens(session, user=user)
            if t.revoked_at is None]


def rotate_own_token(session: Session, user: User) -> str:
    """Revoke every token of the caller and issue one new one, shown once (the account page and
    `POST /me/tokens/rotate`): anyone signed in, for themselves only. A revoked user has no token
    left to call this with."""
    return rotate_token(session, user, user.login)[1]


def update_user(session: Session, user: User, login: str, *, role: str | None = None,
                name: str | None = None) -> User:
    """Change a user's role or name (instructors); the last instructor keeps the role."""
    require_role(user, Role.INSTRUCTOR)
    target = fetch.user(session, login)
    if role is not None:
        if role not in ROLES:
            raise Refused(f"unknown role {role!r}: student, ta or instructor")
        if target.role == Role.INSTRUCTOR and role != Role.INSTRUCTOR and \
                len(crud.list_users(session, role=Role.INSTRUCTOR)) == 1:
            raise Conflict(f"{login} is the last instructor: make another one first")
        target.role = Role(role)
    if name is not None:
        target.name = clean(name)
    session.commit()
    return target


def revoke_user(session: Session, user: User, login: str) -> int:
    """Revoke every token of a user: they cannot sign in or call the API until given a new
    one (instructors; not yourself). Their submissions and grades stay."""
    require_role(user, Role.INSTRUCTOR)
    target = fetch.user(session, login)
    if target.id == user.id:
        raise Conflict("you cannot revoke your own access (another instructor can)")
    count = revoke(session, target)
    session.commit()
    return count


# -- without a caller (the command line) ----------------------------------------------------------

def rotate(session: Session, target: User, *, label: str) -> str:
    """Revoke every live token of `target` and issue one new one (not committed)."""
    crud.revoke_tokens(session, user=target)
    return security.issue_token(session, user=target, label=label)


def revoke(session: Session, target: User, token_id: int | None = None) -> int:
    """Revoke one token of `target` or all its live ones (not committed); how many."""
    return crud.revoke_tokens(session, user=target, token_id=token_id)

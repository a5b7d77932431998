"""Who a launch is: the account of the platform's issuer + `sub` (made on the first launch, never
found by e-mail alone), its name, e-mail and role kept as the LMS says. The login, the role and
the safe name come from lms/identity.py, which the NRPS roster sync uses too: one person gets the
same kind of login whichever comes first (roles: see `identity.role_of`)."""

from __future__ import annotations

import typing as t

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from submissions_api.lms.identity import EMAIL_MAX, derive_login, display_name, role_of, safe_text
from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiIdentity

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def _taken(session: Session) -> t.Callable[[str], bool]:
    def taken(login: str) -> bool:
        return session.scalar(select(User.id).where(User.login == login)) is not None
    return taken


def account_for_launch(session: Session, claims: t.Mapping[str, t.Any]) -> tuple[User, bool]:
    """The launch's user (flushed) and whether its identity is new: found by issuer + sub, or
    made; name, e-mail and role as the launch says (an account that had left the course is
    active again)."""
    issuer, sub = str(claims["iss"]), str(claims["sub"])
    identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == issuer,
                                                        LtiIdentity.sub == sub))
    role = role_of(claims.get(CLAIM + "roles") or [])
    made = identity is None
    user = identity.user if identity is not None else _make(session, claims, role)
    user.role = role
    user.active = True
    if name := display_name(dict(claims)):
        user.name = name
    if email := safe_text(claims.get("email"), EMAIL_MAX):
        user.email = email
    session.flush()
    return user, made


def _make(session: Session, claims: t.Mapping[str, t.Any], role: str) -> User:
    """A new account and identity. Another transaction (a second first launch of the person, the
    roster sync, another person given the same login) may commit the same key meanwhile: then
    its identity is taken, or the login derived again."""
    issuer, sub = str(claims["iss"]), str(claims["sub"])
    for attempt in range(3):
        try:
            with session.begin_nested():
                login = derive_login(dict(claims), issuer=issuer, sub=sub, taken=_taken(session))
                user = User(login=login, role=role)
                session.add(user)
                session.flush()
                session.add(LtiIdentity(issuer=issuer, sub=sub, user_id=user.id))
                session.flush()
                return user
        except IntegrityError:
            identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == issuer,
                                                                LtiIdentity.sub == sub))
            if identity is not None:
                return identity.user
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

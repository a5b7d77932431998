"""Who a launch is: the account of the platform's issuer + `sub` (made on the first launch, never
found by e-mail alone), its name, e-mail and role kept as the LMS says.

Roles (the LTI context roles, or the institution's Administrator):
- Instructor, or Administrator → instructor;
- TeachingAssistant (also as a sub-role of Instructor), ContentDeveloper → ta;
- anything else (Learner, Mentor, none) → student: the least a launch can give.
"""

from __future__ import annotations

import hashlib
import re
import typing as t
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from submissions_api.store.models import Role, User
from submissions_api.store.models_lms import LtiIdentity

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""The login alphabet (services/roster.py checks the same for imports)."""
INSTRUCTOR_ROLES = {"Instructor", "Administrator"}
TA_ROLES = {"TeachingAssistant", "ContentDeveloper"}


def role_from_claims(roles: t.Sequence[str]) -> Role:
    """Our role for the launch's LTI roles (see the module docstring). Only the roles in the
    course count, and the institution's or system's Administrator: Canvas also sends a person's
    institution roles, and a student who teaches another course is still a student here."""
    course, admin = set(), False
    for uri in roles:
        if not isinstance(uri, str):
            continue
        name = uri.rsplit("#", 1)[-1] if "#" in uri else uri.rsplit("/", 1)[-1]
        if "/membership" in uri or "/" not in uri:  # ".../membership#Instructor", "Learner"
            course.add(name)
        elif name == "Administrator":  # ".../institution/person#Administrator", system
            admin = True
    # a TA comes as ".../membership/Instructor#TeachingAssistant" (often beside Instructor):
    # the sub-role decides
    if "TeachingAssistant" in course and not admin:
        return Role.TA
    if admin or course & INSTRUCTOR_ROLES:
        return Role.INSTRUCTOR
    if course & TA_ROLES:
        return Role.TA
    return Role.STUDENT


BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def clean_text(text: str) -> str:
    """A name or e-mail as the LMS sent it, without control characters or bidi overrides (a
    right-to-left override would make a name read as another); commas and quotes stay."""
    kept = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text
                   if c not in BIDI_CONTROLS)
    return " ".join(kept.split())


def _name(claims: t.Mapping[str, t.Any]) -> str:
    name = claims.get("name") or " ".join(
        str(claims.get(k) or "") for k in ("given_name", "family_name")).strip()
    return clean_text(str(name or ""))[:200]


def _slug(text: str) -> str:
    """`text` in the login alphabet: accents dropped, other characters to '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text).strip("._-")
    return slug[:90]


def login_candidates(claims: t.Mapping[str, t.Any]) -> list[str]:
    """Logins to try, best first: the LIS person sourcedid, the e-mail's local part, the name,
    and last `lti-<hash of issuer and sub>` (always valid)."""
    lis = claims.get(CLAIM + "lis") or {}
    sourcedid = lis.get("person_sourcedid", "") if isinstance(lis, dict) else ""
    email = str(claims.get("email") or "")
    found = [_slug(str(sourcedid or "")), _slug(email.split("@", 1)[0]),
             _slug(_name(claims).lower().replace(" ", "."))]
    digest = hashlib.sha256(f"{claims.get('iss')}\n{claims.get('sub')}".encode()).hexdigest()
    found = [c for c in dict.fromkeys(found) if c and LOGIN.match(c)]
    return [*found, f"lti-{digest[:12]}"]


def _free_login(session: Session, candidates: list[str]) -> str:
    """The first free candidate; else the first numbered (`alice-2`); else the hash."""
    def taken(login: str) -> bool:
        return session.scalar(select(User.id).where(User.login == login)) is not None

    named, fallback = candidates[:-1], candidates[-1]
    for login in named:
        if not taken(login):
            return login
    for n in range(2, 100) if named else ():
        if not taken(f"{named[0]}-{n}"):
            return f"{named[0]}-{n}"
    return fallback


def account_for_launch(session: Session, claims: t.Mapping[str, t.Any]) -> User:
    """The launch's user (flushed): found by issuer + sub, or made; name, e-mail and role as the
    launch says (an account that had left the course is active again)."""
    issuer, sub = str(claims["iss"]), str(claims["sub"])
    identity = session.scalar(select(LtiIdentity).where(LtiIdentity.issuer == issuer,
                                                        LtiIdentity.sub == sub))
    role = role_from_claims(claims.get(CLAIM + "roles") or [])
    if identity is None:
        user = User(login=_free_login(session, login_candidates(claims)), role=role)
        session.add(user)
        session.flush()
        session.add(LtiIdentity(issuer=issuer, sub=sub, user_id=user.id))
    else:
        user = identity.user
    user.role = role
    user.active = True
    if name := _name(claims):
        user.name = name
    if email := clean_text(str(claims.get("email") or ""))[:320]:
        user.email = email
    session.flush()
    return user

"""Who an LMS person is here: the login made for someone the LMS introduces (a launch or a roster
sync), their role from the LMS's roles, and their name and e-mail as safe text. Shared by the
launch (lms/launch.py) and the NRPS roster sync (lms/roster.py): one person gets the same login
whichever comes first."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from submissions_api.logins import safe_login
from submissions_api.store.models import Role

NAME_MAX, EMAIL_MAX = 200, 320
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
"""Direction overrides and isolates: they reorder what follows them on a page (a spoofed name);
the right-to-left letters themselves are kept."""
TA_ROLES = frozenset({"TeachingAssistant", "ContentDeveloper"})
"""(A TA's own role, or a course designer's.)"""
INSTRUCTOR_ROLES = frozenset({"Instructor", "Administrator"})


def safe_text(value: object, limit: int = NAME_MAX) -> str:
    """Text from the LMS as we store it: control and direction-override characters removed,
    whitespace runs made one space, cut to `limit` characters."""
    if not isinstance(value, str):
        return ""
    kept = "".join(" " if ch in "\t\n\r" else ch for ch in value
                    if ch in "\t\n\r" or (unicodedata.category(ch) != "Cc"
                                          and ch not in BIDI_CONTROLS))
    return " ".join(kept.split())[:limit]


def display_name(claims: dict[str, Any]) -> str:
    """The person's name from a launch's or a membership's claims."""
    name = safe_text(claims.get("name"))
    if name:
        return name
    return safe_text(f"{claims.get('given_name') or ''} {claims.get('family_name') or ''}")


def role_of(roles: Iterable[str]) -> Role:
    """Our role from the LMS's context roles (full URIs or short names; institution and system
    roles are not the course's and are ignored: a student who administers another part of the
    school is still a student here). TeachingAssistant → TA (a TA is an Instructor sub-role in
    LIS, so the sub-role wins over the Instructor beside it); Instructor or Administrator →
    instructor; ContentDeveloper → TA; anything else (Learner, Mentor, none) → student."""
    names = set()
    for role in roles:
        if isinstance(role, str) and ("://" not in role or "/membership" in role):
            names.add(role.rsplit("#", 1)[-1].rsplit("/", 1)[-1])
    if "TeachingAssistant" in names:
        return Role.TA
    if names & INSTRUCTOR_ROLES:
        return Role.INSTRUCTOR
    if names & TA_ROLES:
        return Role.TA
    return Role.STUDENT


class _Taken:
    """`taken` as the container logins.safe_login asks (`login in taken`)."""

    def __init__(self, taken: Callable[[str], bool]) -> None:
        self._taken = taken

    def __contains__(self, login: object) -> bool:
        return isinstance(login, str) and self._taken(login)


def login_source(text: str) -> str:
    """`text` ready for logins.safe_login: accents dropped, lower case (an LMS's `JDoe` and
    `jdoe` are one person), an e-mail address's local part (as a roster import makes it,
    services/roster.py), spaces as `.`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", ".", ascii_text.strip().partition("@")[0].lower())


def derive_login(claims: dict[str, Any], *, issuer: str, sub: str,
                 taken: Callable[[str], bool]) -> str:
    """A new login for an LMS person, in the one login alphabet (submissions_api/logins.py):
    from their SIS id (`lis_person_sourcedid`, or the LIS claim's `person_sourcedid`), else
    their e-mail's local part, else their name (login_source); `-2`, `-3`, ... when taken;
    `lti-<hash of issuer and sub>` when nothing usable is given (the same person, the same)."""
    lis = claims.get("https://purl.imsglobal.org/spec/lti/claim/lis") or {}
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    for source in (claims.get("lis_person_sourcedid"),
                   lis.get("person_sourcedid") if isinstance(lis, dict) else None,
                   email, display_name(claims)):
        text = login_source(source) if isinstance(source, str) else ""
        if re.search(r"[A-Za-z0-9]", text):
            return safe_login(text, _Taken(taken))  # type: ignore[arg-type]
    digest = hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()
    for width in (12, 20, 32, 64):
        login = f"lti-{digest[:width]}"
        if not taken(login):
            return login
    raise ValueError(f"no free login for {issuer} {sub}")  # pragma: no cover

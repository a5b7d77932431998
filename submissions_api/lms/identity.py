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

from submissions_api.store.models import Role

LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
"""A login: letters, digits, `.`, `_` and `-`, at most 100, starting with a letter or a digit
(URL-safe: staff pages name a student by login)."""
NAME_MAX, EMAIL_MAX = 200, 320
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
"""Direction overrides and isolates: they reorder what follows them on a page (a spoofed name);
the right-to-left letters themselves are kept."""
TA_ROLES = frozenset({"TeachingAssistant", "ContentDeveloper"})
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
    roles are not the course's and are ignored): TeachingAssistant or ContentDeveloper → TA (a
    TA is an Instructor sub-role in LIS, so the sub-role decides); Instructor or Administrator →
    instructor; anything else (Learner, Mentor, ...) → student."""
    names = set()
    for role in roles:
        if isinstance(role, str) and ("://" not in role or "/membership" in role):
            names.add(role.rsplit("#", 1)[-1].rsplit("/", 1)[-1])
    if names & TA_ROLES:
        return Role.TA
    if names & INSTRUCTOR_ROLES:
        return Role.INSTRUCTOR
    return Role.STUDENT


def login_base(text: str) -> str:
    """`text` in the login alphabet: accents dropped, spaces and other characters as `.`, cut to
    the length that leaves room for a `-N` suffix; "" when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9._-]+", ".", ascii_text.strip()).lower()
    base = re.sub(r"\.{2,}", ".", base).strip("._-")
    return base[:90].rstrip("._-")


def derive_login(claims: dict[str, Any], *, issuer: str, sub: str,
                 taken: Callable[[str], bool]) -> str:
    """A new login for an LMS person: from their SIS id (`lis_person_sourcedid`, or the LIS
    claim's `person_sourcedid`), else their e-mail's local part, else their name; `-2`, `-3`, ...
    when taken; `lti-<hash of issuer and sub>` when nothing usable is given."""
    lis = claims.get("https://purl.imsglobal.org/spec/lti/claim/lis") or {}
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    for source in (claims.get("lis_person_sourcedid"),
                   lis.get("person_sourcedid") if isinstance(lis, dict) else None,
                   email.partition("@")[0], display_name(claims)):
        base = login_base(source) if isinstance(source, str) else ""
        if base and LOGIN.match(base):
            for n in range(1, 50):
                login = base if n == 1 else f"{base}-{n}"
                if not taken(login):
                    return login
    digest = hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()
    for width in (12, 20, 32, 64):
        login = f"lti-{digest[:width]}"
        if not taken(login):
            return login
    raise ValueError(f"no free login for {issuer} {sub}")  # pragma: no cover

"""The login alphabet, in one place: what a login may be, why another string is not one, and the
safe login an old row (from before the rule) is renamed to.

A login appears in URLs (`/staff/students/{login}`), in CSV cells and on the command line, so it
is letters, digits, `.`, `_` and `-`, at most 100 characters, starting with a letter or a digit
(never `=`, `+`, `-` or `@`, which a spreadsheet would run as a formula, and never `/`, which a
URL would split). Every entry that makes a user checks it here: roster import, the users page,
`POST /users`, and the LMS launch (`submissions_api.lms.identity` derives logins with
`is_login`/`safe_login`). No web framework and no service here: the worker may import it."""

from __future__ import annotations

import re

from grader.text import printable

LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A whole login (use `LOGIN.fullmatch`, or `is_login`)."""
MAX_LENGTH = 100
RULE = "letters, digits, '.', '_' and '-', starting with a letter or a digit, at most 100"


def is_login(text: str) -> bool:
    """Whether `text` is a login as the service accepts it."""
    return isinstance(text, str) and LOGIN.fullmatch(text) is not None


def login_problem(text: str) -> str:
    """Why `text` is not a login ("" when it is one), for the person who typed or exported it."""
    if is_login(text):
        return ""
    if not text:
        return "the login is empty"
    shown = printable(text, 60)
    if len(text) > MAX_LENGTH:
        return f"the login {shown!r}… is {len(text)} characters long (at most {MAX_LENGTH})"
    bad = sorted({c for c in text if not re.fullmatch(r"[A-Za-z0-9._-]", c)})
    if bad:
        listed = " ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:5])
        return f"the login {shown!r} has {listed}: a login is {RULE}"
    return f"the login {shown!r} starts with {text[0]!r}: a login is {RULE}"


def safe_login(text: str, taken: set[str] | frozenset[str] = frozenset(), *,
               fallback: str = "user") -> str:
    """A login made of `text`'s allowed characters (others become `-`, leading ones dropped),
    unique against `taken` (a `-2`, `-3`… suffix), or `fallback` when nothing is left."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text or "")
    base = re.sub(r"^[^A-Za-z0-9]+", "", base)[:MAX_LENGTH - 6].rstrip(".-_") or fallback
    candidate, n = base, 1
    while candidate in taken or not is_login(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate

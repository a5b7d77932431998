"""Rosters: the CSV an LMS exports (Canvas, Gradescope) or our own `login,name,role`, read into
users to create, with a line-numbered error for every row that cannot be. The command line's
`users import` and the instructors' page share this one parser.

A mapping names the CSV column of each field (`login`, `name`, `role`; `first`/`last` when names
come in two columns). Presets know the LMS exports; `detect` picks one from the header. A login
that is an e-mail address becomes its local part (alice@school.edu → alice)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ROLE_WORDS = {"student": "student", "ta": "ta", "teaching assistant": "ta", "reader": "ta",
              "grader": "ta", "instructor": "instructor", "teacher": "instructor", "": "student"}
PRESETS: dict[str, dict[str, str]] = {
    "mlpgrade": {"login": "login", "name": "name", "role": "role"},
    "canvas": {"login": "SIS Login ID", "name": "Student"},
    "gradescope": {"login": "Email", "first": "First Name", "last": "Last Name", "role": "Role"},
}
"""Canvas: the gradebook export (Student, ID, SIS User ID, SIS Login ID, Section, …; its
"Points Possible" row is skipped). Gradescope: the roster export (First Name, Last Name, SID,
Email, Role, …)."""
MAX_ROWS = 5000


@dataclass(frozen=True)
class RosterRow:
    line: int
    login: str
    name: str
    role: str


@dataclass
class Roster:
    """What a CSV holds: the rows to import, the errors of the others, and how it was read."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    preset: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)


def detect(columns: list[str]) -> str:
    """The preset whose login column (and name columns) the header has, or ""."""
    have = set(columns)
    for name, mapping in PRESETS.items():
        if set(mapping.values()) - {mapping.get("role", "")} <= have:
            return name
    return ""


def parse_roster(text: str, *, preset: str = "", mapping: dict[str, str] | None = None
                 ) -> Roster:
    """Read a roster CSV: with `mapping`, or a preset's (`preset`, or detected)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = columns
    preset = preset if preset in PRESETS else ("" if mapping else detect(columns))
    mapping = dict(mapping or PRESETS.get(preset, {}))
    out = Roster(preset=preset, mapping=mapping, columns=columns)
    if not columns:
        out.errors.append("the file is empty: the first line must name the columns")
        return out
    missing = [c for k, c in mapping.items() if k != "role" and c and c not in columns]
    if "login" not in mapping or missing:
        out.errors.append(f"no column {', '.join(missing) or 'for the login'} in the header "
                          f"({', '.join(columns)}): choose the columns")
        return out
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            out.errors.append(f"more than {MAX_ROWS} rows: split the file")
            break
        row, error = _row(line, raw, mapping)
        if error:
            out.errors.append(f"line {line}: {error}")
        elif row is not None and row.login in seen:
            out.errors.append(f"line {line}: {row.login} is also on line {seen[row.login]}")
        elif row is not None:
            seen[row.login] = line
            out.rows.append(row)
    return out


def _row(line: int, raw: dict[str, str | None], mapping: dict[str, str]
         ) -> tuple[RosterRow | None, str]:
    """(the row, "") or (None, why); (None, "") for rows an export adds that are no person."""
    def get(key: str) -> str:
        return (raw.get(mapping.get(key, "")) or "").strip()

    name = get("name") or " ".join(p for p in (get("first"), get("last")) if p)
    if name.startswith("Points Possible") or (not any((v or "").strip() for v in raw.values())):
        return None, ""  # Canvas's points row, blank lines
    login = get("login")
    login = login.split("@", 1)[0] if "@" in login else login
    if not login:
        return None, f"no login ({mapping['login']} is empty)"
    if not LOGIN.match(login):
        return None, f"{login!r} is not a login (letters, digits, . _ -; at most 100)"
    role = ROLE_WORDS.get(get("role").lower())
    if role is None:
        return None, f"unknown role {get('role')!r} (student, ta or instructor)"
    return RosterRow(line, login, name[:200], role), ""

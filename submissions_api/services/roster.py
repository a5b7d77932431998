"""Rosters: the CSV an LMS or grader exports (Canvas gradebook or people export, Gradescope,
Moodle's participants) or our own `login,name,role[,email]`, read into the users to create or
update, with a line-numbered error for every row that cannot be and a note for every row an
export adds that is no person (Canvas's Test Student and Points Possible rows). The command
line's `users import` and the instructors' page share this one parser.

A mapping names the CSV column of each field (roster_formats.FIELDS); the kind of file is
recognised from its header, and a person's choices (`--map`, the page's selects) override it.
A login that is an e-mail address becomes its local part in lower case (Alice@school.edu →
alice), so Gradescope's and Canvas's spellings of one address are one user."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from grader.text import printable
from submissions_api.logins import login_problem
from submissions_api.services.roster_formats import (
    BY_KEY,
    NOT_MEMBERS,
    RANK,
    ROLE_WORDS,
    Format,
    detect,
    map_flags,
    resolve,
    suggestion,
)

MAX_ROWS = 5000
CANVAS_COLUMN = re.compile(r"^(?P<title>.+?)\s*\((?P<id>\d+)\)$")
"""A Canvas gradebook column: "Title (assignment id)"."""
TEST_STUDENT = ("student, test", "test student")


def decode(data: bytes) -> str:
    """A roster file's text: UTF-8 (with or without Excel's BOM), else Windows-1252 (what Excel
    on Windows saves "CSV" as), else Latin-1 (which reads any byte)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _dialect(text: str) -> str:
    """The delimiter of the header line: `,`, or `;`/tab when the file uses those instead
    (Excel in a locale whose decimal mark is a comma saves "CSV" with `;`)."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def clean(text: object, limit: int = 200) -> str:
    """A cell as we store it: no control or format characters, one line, trimmed, cut."""
    return " ".join(printable(str(text or "")).split())[:limit]


@dataclass(frozen=True)
class RosterRow:
    """One person of a roster. `given` names the fields the file gives a value for: only those
    change an existing user on re-import."""

    line: int
    login: str
    name: str = ""
    role: str = "student"
    email: str = ""
    lms_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    given: frozenset[str] = frozenset({"name", "role"})


@dataclass
class Roster:
    """What a CSV holds: the rows to import, the errors of the others (nothing is imported
    while there are any), notes on rows skipped on purpose, and how it was read."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    header_error: str = ""
    """The header is not understood (no login column): the person must choose columns."""
    preset: str = ""
    label: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    canvas_ids: dict[str, str] = field(default_factory=dict)
    """Assignment title → Canvas assignment id, from a gradebook export's "Title (id)"."""

    @property
    def importable(self) -> bool:
        return bool(self.rows) and not self.errors and not self.header_error


def parse_roster(text: str, *, preset: str = "", mapping: dict[str, str] | None = None
                 ) -> Roster:
    """Read a roster CSV: the kind `preset` or the one its header shows, the columns of
    `mapping` chosen over the kind's."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=_dialect(text))
    columns = [clean(c, 200) for c in reader.fieldnames or []]
    reader.fieldnames = columns
    fmt: Format | None = BY_KEY.get(preset) or detect(columns)
    out = Roster(preset=fmt.key if fmt else "", label=fmt.label if fmt else "",
                 columns=columns, mapping=resolve(fmt, columns, mapping or {}))
    out.canvas_ids = {m["title"].strip(): m["id"] for c in columns
                      if (m := CANVAS_COLUMN.match(c))}
    if not columns:
        out.header_error = "the file is empty: its first line must name the columns"
        return out
    if _header_problem(out):
        return out
    seen: dict[str, int] = {}
    for count, raw in enumerate(reader, start=1):
        line = reader.line_num  # the file's line (blank lines and quoted newlines counted)
        if count > MAX_ROWS:
            out.errors.append(f"more than {MAX_ROWS} rows: split the file")
            break
        row, why = _row(line, raw, out.mapping)
        if row is None:
            if why.startswith("skipped:"):
                out.notes.append(f"line {line}: {why.removeprefix('skipped: ')} (skipped)")
            elif why:
                out.errors.append(f"line {line}: {why}")
        elif row.login in seen:
            out.errors.append(f"line {line}: {row.login} is also on line {seen[row.login]}")
        else:
            seen[row.login] = line
            out.rows.append(row)
    return out


def _header_problem(out: Roster) -> bool:
    """Set `out.header_error` when the chosen columns are not in the file or no column gives
    the login; say which `--map` (or page choice) would read it."""
    missing = [c for c in out.mapping.values() if c not in out.columns]
    if "login" in out.mapping and not missing:
        return False
    listed = ", ".join(out.columns)
    guess = suggestion(out.columns)
    if missing:
        out.header_error = (f"no column {', '.join(missing)} in the header ({listed}): "
                            f"choose among the file's columns")
    else:
        what = f"is not a {out.label}'s header" if out.label else \
            "header is not one we recognise"
        out.header_error = (f"this {what} ({listed}): choose which column holds the login "
                            f"(and the name), e.g. {map_flags(guess)}")
    out.mapping = {**guess, **{k: v for k, v in out.mapping.items() if v in out.columns}}
    return True


def _role(word: str) -> tuple[str | None, str]:
    """(our role, "") from an export's role cell (several comma-separated: the highest), or
    (None, why); (None, "skipped: …") for observers and guests."""
    words = [w.strip().lower() for w in word.split(",") if w.strip()]
    known = [w for w in words if w not in NOT_MEMBERS]
    if words and not known:
        return None, f"skipped: {word} is not a member of the course"
    unknown = [w for w in known if w not in ROLE_WORDS]
    if unknown:
        return None, f"unknown role {word!r} (student, ta or instructor)"
    return max((ROLE_WORDS[w] for w in known), key=RANK.__getitem__, default="student"), ""


def _row(line: int, raw: dict[str, str | None], mapping: dict[str, str]
         ) -> tuple[RosterRow | None, str]:
    """(the row, "") or (None, why): why is "" for blank lines and starts with "skipped:" for
    the rows an export adds that are no person."""
    def get(key: str, limit: int = 200) -> str:
        return clean(raw.get(mapping.get(key, "")), limit)

    values = [clean(v) for v in raw.values() if isinstance(v, str)]
    name = get("name") or " ".join(p for p in (get("first"), get("last")) if p)
    login = get("login", 320)
    if not any(values):
        return None, ""
    if name == "Points Possible" and not login:
        return None, "skipped: Canvas's Points Possible row"
    if not login and not name and "Manual Posting" in values:
        return None, "skipped: Canvas's Manual Posting row"
    if not login and name.lower() in TEST_STUDENT:
        return None, f"skipped: Canvas's Test Student ({name}), the course's student view"
    role, why = _role(get("role"))
    if role is None:
        return None, why
    email = get("email", 320) or (login if "@" in login else "")
    if "@" in login:  # an address's local part; lower case, as mail servers treat it
        login = login.split("@", 1)[0].lower()
    if not login:
        return None, (f"no login ({mapping['login']} is empty): fill it in, or choose "
                      f"another column for the login")
    if problem := login_problem(login):
        return None, problem
    derived = {"name": name, "email": email}
    given = frozenset(k for k in ("name", "role", "email", "lms_id", "sis_user_id",
                                  "sis_login_id", "section")
                      if (derived[k] if k in derived else get(k)))
    return RosterRow(line, login, name, role, email, get("lms_id", 100),
                     get("sis_user_id", 100), get("sis_login_id"), get("section"),
                     given), ""

"""The roster files LMSs and graders export, by their header: which column holds each of our
user fields, how to recognise each export, and what to suggest when a header is none of them.

Fields: `login` (required), `name` (or `first` + `last`), `role`, `email`, and the LMS's own
ids kept for the grade export: `lms_id` (Canvas's "ID"), `sis_user_id`, `sis_login_id`,
`section`. Column names match case-insensitively, surrounding spaces ignored."""

from __future__ import annotations

from dataclasses import dataclass

FIELDS = ("login", "name", "first", "last", "role", "email", "lms_id", "sis_user_id",
          "sis_login_id", "section")
MAPPABLE = ("login", "name", "first", "last", "role", "email", "section")
"""The fields the page and `--map` let a person choose a column for."""
GUESSED = ("name", "first", "last", "role", "email", "sis_user_id", "section")
"""The fields an unknown header fills by column name once its login column is chosen (never the
Canvas ids: a column called "ID" in another file is not Canvas's)."""


@dataclass(frozen=True)
class Format:
    """One kind of export: `columns` gives, per field, the column names it may have (the first
    present wins); `marks` are columns that together say the file is this kind."""

    key: str
    label: str
    columns: dict[str, tuple[str, ...]]
    marks: tuple[tuple[str, ...], ...]
    """Alternatives: the file is this kind when it has every column of one of them."""


CANVAS = Format(
    "canvas", "Canvas gradebook export",
    {"login": ("SIS Login ID",), "name": ("Student",), "lms_id": ("ID",),
     "sis_user_id": ("SIS User ID",), "sis_login_id": ("SIS Login ID",),
     "section": ("Section",)},
    (("Student", "SIS Login ID"),))
"""Grades → Export: `Student` ("Last, First"), ID, SIS User ID, SIS Login ID, (Integration ID,)
Section, then one column per assignment as "Title (id)"; under the header a "Manual Posting"
row (when an assignment posts grades manually) and a "Points Possible" row, and the course's
Test Student ("Student, Test", no SIS Login ID)."""
CANVAS_PEOPLE = Format(
    "canvas-people", "Canvas roster (people or users export)",
    {"login": ("Login ID", "login_id"), "name": ("Name", "sortable_name", "full_name"),
     "first": ("first_name",), "last": ("last_name",),
     "lms_id": ("User ID", "Canvas User ID", "canvas_user_id"),
     "sis_user_id": ("SIS ID", "SIS User ID", "user_id"), "sis_login_id": ("Login ID", "login_id"),
     "email": ("Email", "email"), "section": ("Section", "Sections", "section_id"),
     "role": ("Role", "Roles", "role")},
    (("Name", "Login ID"), ("login_id", "full_name"), ("login_id", "sortable_name"),
     ("login_id", "first_name", "last_name")))
"""The people list as Canvas tools and the provisioning report write it (Name, User ID,
Login ID, SIS ID, Section, Role; or users.csv's canvas_user_id, user_id, login_id, full_name,
sortable_name, email, status)."""
MOODLE = Format(
    "moodle", "Moodle participants export",
    {"login": ("Username", "Email address", "email"), "first": ("First name", "firstname"),
     "last": ("Last name", "Surname", "lastname"), "email": ("Email address", "email"),
     "sis_user_id": ("ID number", "idnumber"), "role": ("Roles", "Role"),
     "section": ("Groups", "Group")},
    (("First name", "Email address"), ("firstname", "lastname", "email")))
"""Participants → select all → "Download table data as" CSV: First name, Last name (Surname in
some languages), the identity fields the site shows (ID number, Username, Email address), Roles
("Student", "Non-editing teacher", "Teacher", several comma-separated), Groups, Last access to
course, Status."""
GRADESCOPE = Format(
    "gradescope", "Gradescope roster",
    {"login": ("Email",), "name": ("Name", "Full Name"), "first": ("First Name",),
     "last": ("Last Name",), "email": ("Email",), "sis_user_id": ("SID", "Student ID"),
     "role": ("Role",), "section": ("Sections", "Section")},
    (("Name", "Email", "SID"), ("First Name", "Last Name", "Email"), ("Full Name", "Email")))
"""Course → Roster → Download (Name or First Name + Last Name, Email, SID, Role, Sections); the
login is the e-mail's local part."""
OURS = Format(
    "mlpgrade", "our CSV (login,name,role[,email])",
    {"login": ("login",), "name": ("name",), "role": ("role",), "email": ("email",),
     "section": ("section",)},
    (("login",),))
FORMATS = (CANVAS, CANVAS_PEOPLE, MOODLE, GRADESCOPE, OURS)
BY_KEY = {f.key: f for f in FORMATS}

ROLE_WORDS = {"student": "student", "learner": "student", "": "student",
              "ta": "ta", "teaching assistant": "ta", "reader": "ta", "grader": "ta",
              "non-editing teacher": "ta", "teacherenrollment": "instructor",
              "taenrollment": "ta", "studentenrollment": "student", "designer": "ta",
              "designerenrollment": "ta", "instructor": "instructor", "teacher": "instructor",
              "editing teacher": "instructor", "editingteacher": "instructor",
              "manager": "instructor", "course creator": "instructor"}
"""The role words of our CSV and the LMS exports (Canvas: Student, TA, Teacher, Designer;
Moodle: Student, Non-editing teacher, Teacher, Manager; Gradescope: Student, TA, Instructor,
Reader)."""
NOT_MEMBERS = ("observer", "observerenrollment", "guest", "auditor")
"""Roles whose rows are skipped with a note (a parent observing a student is no student)."""
RANK = {"student": 0, "ta": 1, "instructor": 2}


def find(columns: list[str], names: tuple[str, ...]) -> str:
    """The file's column (its own spelling) that is one of `names`, or ""."""
    lower = {c.strip().lower(): c for c in columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), "")


def detect(columns: list[str]) -> Format | None:
    """The first format whose marks the header has, or None."""
    for fmt in FORMATS:
        if any(all(find(columns, (m,)) for m in mark) for mark in fmt.marks):
            return fmt
    return None


def resolve(fmt: Format | None, columns: list[str], chosen: dict[str, str]) -> dict[str, str]:
    """field → column: the person's choices first, then the format's columns (or, for an
    unknown header, any column that has a known name for a field not chosen)."""
    out = {k: v for k, v in chosen.items() if v}
    formats = [fmt] if fmt else list(FORMATS)
    for field in FIELDS:
        if field in out or (field in ("first", "last") and "name" in out):
            continue
        for f in formats:
            column = find(columns, f.columns.get(field, ()))
            if column and (fmt or field in GUESSED):
                out[field] = column
                break
    if "name" in out and out.get("first") == out["name"]:
        out.pop("first", None)
    return out


def suggestion(columns: list[str]) -> dict[str, str]:
    """A likely login (an e-mail or id column, else the first) and name column of an unknown
    header, for the error that says which `--map` to use."""
    def first_with(*words: str) -> str:
        return next((c for c in columns for w in words if w in c.strip().lower()), "")
    login = first_with("login", "user", "email", "e-mail", "mail", "id") or \
        (columns[0] if columns else "")
    name = first_with("name")
    return {"login": login, **({"name": name} if name and name != login else {})}


def map_flags(mapping: dict[str, str]) -> str:
    """`--map login=Email --map name=Name` for a mapping (quoted when a column has a space)."""
    def quoted(c: str) -> str:
        return f'"{c}"' if any(ch in c for ch in " '\"") else c
    return " ".join(f"--map {k}={quoted(v)}" for k, v in mapping.items())

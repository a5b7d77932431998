"""Hand-ins for tests: our reference, with known mistakes or arbitrary edits, as handin.tar
bytes."""

from __future__ import annotations

import textwrap

from grader.fixtures import Files, apply_bug, load_bugs, make_tar, reference_files
from grader.rubric import load_assignment


def edited_files(edits: dict[str, tuple[str, str]] | None = None, *, bugs: tuple[str, ...] = (),
                 assignment: str = "hw1p1-s20") -> Files:
    """The reference's files with the named catalogue bugs applied and `edits`
    ({file: (find, replace)}, find must occur exactly once) made."""
    a = load_assignment(assignment)
    files = reference_files(a)
    catalogue = {b.id: b for b in load_bugs(a)}
    for bug_id in bugs:
        files = apply_bug(files, catalogue[bug_id])
    for name, (find, replace) in (edits or {}).items():
        assert files[name].count(find) == 1, f"{find!r} must occur once in {name}"
        files[name] = files[name].replace(find, replace)
    return files


def make_handin_tar(edits: dict[str, tuple[str, str]] | None = None, *, bugs: tuple[str, ...] = (),
                    extra: dict[str, str] | None = None, assignment: str = "hw1p1-s20") -> bytes:
    """handin.tar bytes of the reference with bugs/edits applied and `extra` files added."""
    files = edited_files(edits, bugs=bugs, assignment=assignment)
    files.update(extra or {})
    return make_tar(files)


Q1 = "def question_1():\n    return 'b'"


def in_question_1(code: str) -> dict[str, tuple[str, str]]:
    """The edit that runs `code` when the multiple-choice test calls question_1 (a hand-in that
    hangs or attacks in one test only)."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    return {"hw1/mc.py": (Q1, "def question_1():\n" + body + "\n    return 'b'")}

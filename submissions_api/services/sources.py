"""The Python sources of a stored hand-in for the TAs' read-only view: read by the grader's own
tar reader (`grader.intake.list_sources`), so the TA sees exactly the files the grader graded
(nothing when intake refused the archive: the report says why). Each file is shown with line
numbers (anchors tracebacks link to), highlighted (Pygments), and with its diff against the
starter code and against the student's previous submission."""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from sqlalchemy.orm import Session

from grader.fixtures import starter_files
from grader.intake import list_sources
from grader.rubric import HandinLayout
from submissions_api.services.rubric import handin_layout
from submissions_api.store import crud, rubrics
from submissions_api.store.models_grading import Submission

MAX_SHOWN_CHARS = 200_000
"""Longer files are cut for display (the download has them whole)."""
MAX_HIGHLIGHT_CHARS = 100_000
"""Past this, a file is shown plain (still numbered): highlighting is for reading, not for
floods."""
DEFINITION = re.compile(r"^(\s*)(class|def)\s+([A-Za-z_]\w*)")
TRACEBACK_FILE = re.compile(r'File "([^"]+)", line (\d+)')
TRACEBACK_LINE = re.compile(r'File &#34;([^&]+)&#34;, line (\d+)|File &quot;([^&]+)&quot;, '
                            r'line (\d+)')


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    lines: int
    html: Markup
    """Numbered (each line's anchor: `anchor(path, n)`), highlighted."""
    vs_starter: list[tuple[str, str]]
    """The unified diff against the starter file: (css class, line); [] when the same."""
    vs_previous: list[tuple[str, str]] | None
    """The same against the student's previous submission; None when there is none."""
    is_new: bool = False


def anchor(path: str) -> str:
    """The id prefix of a file's line anchors (`<prefix>-<line>`)."""
    return "src-" + re.sub(r"[^A-Za-z0-9]", "-", path)


def handin_sources(session: Session, sub: Submission, *, max_bytes: int | None = None,
                   marked: dict[str, set[int]] | None = None) -> list[SourceFile]:
    """Every Python file of the submission's hand-in, sorted, for the TA; `max_bytes` is the
    upload limit the grader was given; `marked`: lines to highlight per path (annotated)."""
    layout = handin_layout(sub.assignment.slug)
    files = read_sources(crud.get_blob(session, sha256=sub.blob_sha256) or b"", layout,
                         max_bytes=max_bytes)
    previous = crud.previous_submission(session, submission=sub)
    before = dict(read_sources(crud.get_blob(session, sha256=previous.blob_sha256) or b"",
                               layout, max_bytes=max_bytes)) if previous else None
    starter = _starter(sub.assignment.slug)
    return [SourceFile(path, text, text.count("\n") + 1,
                       numbered(path, text, (marked or {}).get(path, set())),
                       diff(starter.get(path, ""), text),
                       None if before is None else diff(before.get(path, ""), text),
                       path not in starter)
            for path, text in files]


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str
    """added, removed, changed or unchanged"""
    lines: list[tuple[str, str]]
    """The unified diff (css class, line); [] when unchanged."""


def compare_submissions(session: Session, before: Submission, after: Submission, *,
                        max_bytes: int | None = None) -> list[FileChange]:
    """What changed in the graded Python files from one submission to another (of the same
    student and assignment: the caller checks who may see them)."""
    layout = handin_layout(after.assignment.slug)
    old, new = (dict(read_sources(crud.get_blob(session, sha256=s.blob_sha256) or b"", layout,
                                  max_bytes=max_bytes)) for s in (before, after))
    changes = []
    for path in sorted(old.keys() | new.keys()):
        kind = "added" if path not in old else "removed" if path not in new else \
            "changed" if old[path] != new[path] else "unchanged"
        changes.append(FileChange(path, kind, diff(old.get(path, ""), new.get(path, ""))))
    return changes


def read_sources(data: bytes, layout: HandinLayout, *, max_bytes: int | None = None
                 ) -> list[tuple[str, str]]:
    """(path, text) of each `.py` file intake keeps from `data`, sorted, long ones truncated."""
    files = list_sources(data, layout=layout, max_bytes=max_bytes)
    return sorted((path, _shown(text)) for path, text in files.items() if path.endswith(".py"))


@cache
def _starter(slug: str) -> dict[str, str]:
    return starter_files(rubrics.assignment(slug))


def numbered(path: str, text: str, marked: set[int] | frozenset[int] = frozenset()) -> Markup:
    """The file as HTML: one line per line, each with its number linking to its own anchor;
    the `marked` lines highlighted (class hll)."""
    prefix = anchor(path)
    if len(text) > MAX_HIGHLIGHT_CHARS:
        body = "\n".join(f'<a id="{prefix}-{n}" href="#{prefix}-{n}" class="ln">{n}</a> '
                         + (f'<span class="hll">{escape(line)}</span>' if n in marked
                            else str(escape(line)))
                         for n, line in enumerate(text.split("\n"), 1))
        return Markup(f'<pre class="hl">{body}</pre>')
    formatter = HtmlFormatter(linenos="inline", lineanchors=prefix, anchorlinenos=True,
                              cssclass="hl", hl_lines=sorted(marked))
    return Markup(highlight(text, PythonLexer(), formatter))


@cache
def highlight_css() -> str:
    """The highlighting's colours (served inline with the page: nothing from another site)."""
    return HtmlFormatter(cssclass="hl").get_style_defs(".hl")


def diff(before: str, after: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs: add, del, hunk or ctx."""
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after",
                                      lineterm="", n=2))[2:]
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [(kinds.get(line[:1], "ctx"), line) for line in lines]


def link_traceback(text: str, paths: set[str]) -> Markup:
    """Feedback text (escaped) whose `File "path", line N` lines link to the shown source line."""
    def link(m: re.Match[str]) -> str:
        path, line = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if path not in paths:
            return m.group(0)
        return f'<a href="#{anchor(path)}-{line}" class="tb-link">{m.group(0)}</a>'
    return Markup(TRACEBACK_LINE.sub(link, str(escape(text))))


def _shown(text: str) -> str:
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return text[:MAX_SHOWN_CHARS] + "\n… (truncated)"


def named_files(result: dict | None) -> set[str]:
    """The hand-in files a result's feedback names: its failed tests' tracebacks and its causes'
    places (grader.pointers)."""
    found = set()
    for t in (result or {}).get("tests", []):
        if not t.get("passed"):
            found.update(m[0] for m in TRACEBACK_FILE.findall(t.get("feedback") or ""))
    for cause in (result or {}).get("causes", []):
        found.update(p["file"] for p in cause.get("places") or [])
    return found


def code_links(files: list[SourceFile]) -> dict[str, str]:
    """`file:Class.method` (as code.toml names code, grader.pointers) → the anchor of the line
    that defines it in the shown sources, for every class, method and function they define."""
    links = {}
    for f in files:
        for name, line in definition_lines(f.text).items():
            links[f"{f.path}:{name}"] = f"#{anchor(f.path)}-{line}"
    return links


def definition_lines(text: str) -> dict[str, int]:
    """`Class`, `Class.method` and `function` → the line defining it. Read, never run; a file
    that does not parse is scanned line by line for `class`/`def` instead."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _scanned_definitions(text)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node.lineno
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = item.lineno
    return found


def _scanned_definitions(text: str) -> dict[str, int]:
    found, cls = {}, None
    for n, line in enumerate(text.splitlines(), 1):
        m = DEFINITION.match(line)
        if not m:
            continue
        indent, kind, name = m.groups()
        if not indent:
            cls = name if kind == "class" else None
            found.setdefault(name, n)
        elif cls and kind == "def":
            found.setdefault(f"{cls}.{name}", n)
    return found


def link_places(cause: dict, links: dict[str, str] | None) -> Markup:
    """A cause's "Look at …" sentence, each place it names linked to its line when shown."""
    html = str(ticks_markup(cause.get("look") or ""))
    for place in cause.get("places") or []:
        href = (links or {}).get(f"{place['file']}:{place['name']}")
        if href and place["name"]:
            text = f"<code>{escape(place['name'])}</code> in {escape(place['file'])}"
            html = html.replace(text, f'<a href="{href}" class="code-link">{text}</a>', 1)
    return Markup(html)


def ticks_markup(text: str) -> Markup:
    """Names quoted in `backticks` as code (after escaping)."""
    return Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", str(escape(text))))

"""The house rules that a reader cannot see from one file: no import cycle between our modules,
no module over 400 lines or function over 60 that does not say why (its docstring, in a sentence
starting "Long because"; the test prints a warning for each that does), no import failure turned
into a missing feature, and no link to a document outside the repository. (The import directions
between packages are import-linter contracts in pyproject.toml, run by .ci/run.)"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("reference", "grader", "worker", "submissions_api")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SAYS_WHY = "Long because"
"""How a docstring says why its module or function is longer than the caps."""
# Student code: the starter we hand out and hand-ins the tests grade are not ours to shape.
NOT_OURS = ("starter", "handins_data")


def our_files(*roots: str) -> list[Path]:
    files = []
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            if not any(part in NOT_OURS for part in path.relative_to(REPO).parts):
                files.append(path)
    return files


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def test_layout_has_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert strongly_connected(edges) == []


def test_strongly_connected_finds_a_cycle():
    # The check above can fail: a three-module loop is found, a chain is not.
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def oversized(source: str, name: str) -> tuple[list[str], list[str]]:
    """The module (over MAX_MODULE_LINES) and functions (over MAX_FUNCTION_LINES) of `source` that
    are long: (those whose docstring does not say why, those whose docstring does). A docstring
    says why in a sentence starting with SAYS_WHY."""
    tree = ast.parse(source)
    unexplained, explained = [], []
    if source.count("\n") > MAX_MODULE_LINES:
        found = explained if SAYS_WHY in (ast.get_docstring(tree) or "") else unexplained
        found.append(f"{name}: {source.count(chr(10))} lines")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = node.end_lineno - first + 1
            if lines > MAX_FUNCTION_LINES:
                found = explained if SAYS_WHY in (ast.get_docstring(node) or "") else unexplained
                found.append(f"{name}:{node.lineno} {node.name}: {lines} lines")
    return unexplained, explained


@pytest.mark.parametrize("root", [*PACKAGES, "tests", "bench"])
def test_layout_long_modules_and_functions_say_why(root):
    """A module over 400 lines or a function over 60 is asking to be split by concept: it may stay
    long when its docstring says why (a warning lists it), never silently."""
    unexplained, explained = [], []
    for path in our_files(root):
        found = oversized(path.read_text(), str(path.relative_to(REPO)))
        unexplained += found[0]
        explained += found[1]
    for item in explained:
        warnings.warn(f"long, and says why: {item}", stacklevel=1)
    assert unexplained == []


def test_oversized_finds_a_long_function_that_does_not_say_why():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    silent = f"def f():\n{body}"
    said = f'def f():\n    """{SAYS_WHY} one table reads best whole."""\n{body}'
    assert oversized(silent, "m") == (["m:1 f: 61 lines"], [])
    assert oversized(said, "m") == ([], ["m:1 f: 62 lines"])
    assert oversized("def f():\n    pass\n", "m") == ([], [])


def test_layout_no_import_error_is_swallowed():
    swallowed = []
    for path in our_files(*PACKAGES, "tests", "bench"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if names & {"ImportError", "ModuleNotFoundError"}:
                    swallowed.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert swallowed == []


def test_layout_every_csv_is_written_by_csvout():
    """csvout removes control characters from every cell (issue 26): no other module of ours
    makes a CSV writer of its own."""
    writers = []
    for path in our_files("grader", "worker", "submissions_api"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "csv" and node.attr in ("writer", "DictWriter"):
                writers.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert writers == ["submissions_api/services/csvout.py:35"]


def test_layout_links_stay_inside_the_repository():
    outside = re.compile(r"\.\./shared|DEVELOPERS\.md")
    found = []
    for path in [*our_files(*PACKAGES, "tests", "bench", "scripts"), *REPO.glob("*.md"),
                 *(REPO / "docs").rglob("*.md"), *(REPO / "grader").rglob("*.toml"),
                 *(REPO / ".ci").glob("*"), *(REPO / "scripts").glob("*.sh")]:
        if path.resolve() == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if outside.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}")
    assert found == []


def test_layout_every_noqa_says_why():
    # ruff's RUF100 removes a noqa that silences nothing; the rest must give a reason.
    bare = re.compile(r"#\s*noqa(?!: [A-Z0-9, ]+ - \S)")
    found = [f"{path.relative_to(REPO)}:{number}"
             for path in our_files(*PACKAGES, "tests", "bench")
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if bare.search(line)]
    assert found == []


#: Where the grader may read its process's environment: its settings module. The sandbox takes
#: its settings from its caller (`get_sandbox`, `student_sandbox`); only the code that runs
#: inside a box is exempt: the inside sets up its children's environment, and an assignment's
#: training module reads its data folder from it, inside the sandbox.
ENVIRONMENT_READERS = ("grader/settings.py",)
ENVIRONMENT_EXEMPT = ("grader/inside/", "grader/assignments/")


def environment_reads(source: str) -> list[int]:
    """Lines of `source` that touch os.environ, os.getenv or os.putenv."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "os" and node.attr in ("environ", "getenv", "putenv",
                                                            "environb"))
            or (isinstance(node, ast.ImportFrom) and node.module == "os"
                and any(a.name in ("environ", "getenv", "environb") for a in node.names))]


def test_layout_grader_reads_the_environment_only_in_its_settings():
    found = []
    for path in our_files("grader"):
        name = path.relative_to(REPO).as_posix()
        if name in ENVIRONMENT_READERS or name.startswith(ENVIRONMENT_EXEMPT):
            continue
        found += [f"{name}:{line}" for line in environment_reads(path.read_text())]
    assert found == []


def test_environment_reads_finds_each_way_in():
    assert environment_reads("import os\nx = os.environ['A']\ny = os.getenv('B')\n") == [2, 3]
    assert environment_reads("from os import environ\n") == [1]
    assert environment_reads("import os\nos.path.join('a')\nenviron = {}\n") == []

"""The measured corpus: independent hand-ins and copies planted from each of them.

Originals: our reference (`reference/handin`) and four hand-ins written independently
(`handins_data/v1..v4`). From each original: one copy per transformation and effort (1..3), a
copy of everything at once, and two partial copies (the starter with one file, or one function,
of the original). Ground truth: two hand-ins are related when they come from the same original
and hold a common part of it.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from pathlib import Path

from bench.similarity import rewrites, transforms
from grader.rubric import load_assignment
from grader.similarity.handins import read_sources

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TRANSFORMS = {"comments": transforms.comments, "rename": transforms.rename,
              "reformat": transforms.reformat, "reorder": transforms.reorder,
              "deadcode": transforms.deadcode, "rewrite": rewrites.rewrite}
PARTIAL_FILE = "hw1/hw1.py"
PARTIAL_FUNCTION = ("mytorch/batchnorm.py", "BatchNorm.backward")


@dataclass(frozen=True)
class Handin:
    key: str
    origin: str
    kind: str
    """"original", a transformation with its effort ("rename-2"), "all-3", "file" or
    "function"."""
    sources: dict
    part: str = "all"


def originals() -> dict[str, dict[str, str]]:
    layout = load_assignment("hw1p1-s20").handin
    found = {"ref": read_sources(REPO / "reference" / "handin", layout)}
    for folder in sorted((HERE / "handins_data").iterdir()):
        found[folder.name] = read_sources(folder, layout)
    return found


def starter() -> dict[str, str]:
    assignment = load_assignment("hw1p1-s20")
    return read_sources(assignment.folder / "starter", assignment.handin)


def _everything(sources: dict[str, str], rng: random.Random) -> dict[str, str]:
    for name in ("rewrite", "rename", "reorder", "deadcode", "comments"):
        sources = TRANSFORMS[name](sources, 3 if name != "rewrite" else 2, rng)
    return sources


def _function_text(text: str, qualname: str) -> tuple[int, int, list[str]]:
    cls, name = qualname.split(".")
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item.lineno, item.end_lineno, text.splitlines()
    raise KeyError(qualname)


def partial_function(base: dict[str, str], donor: dict[str, str]) -> dict[str, str]:
    """The starter with one method replaced by the donor's."""
    path, qualname = PARTIAL_FUNCTION
    a, b, donor_lines = _function_text(donor[path], qualname)
    c, d, lines = _function_text(base[path], qualname)
    lines[c - 1:d] = donor_lines[a - 1:b]
    return {**base, path: "\n".join(lines) + "\n"}


def build(seed: int = 11785) -> list[Handin]:
    """Every hand-in of the corpus (deterministic for a seed)."""
    rng = random.Random(seed)
    base = starter()
    out = []
    for origin, sources in originals().items():
        out.append(Handin(origin, origin, "original", sources))
        for name, transform in TRANSFORMS.items():
            for effort in (1, 2, 3):
                out.append(Handin(f"{origin}~{name}-{effort}", origin, f"{name}-{effort}",
                                  transform(sources, effort, rng)))
        out.append(Handin(f"{origin}~all-3", origin, "all-3", _everything(sources, rng)))
        renamed = transforms.rename(sources, 2, rng)
        out.append(Handin(f"{origin}~file", origin, "file",
                          {**base, PARTIAL_FILE: renamed[PARTIAL_FILE]}, part=PARTIAL_FILE))
        out.append(Handin(f"{origin}~function", origin, "function",
                          partial_function(base, renamed), part=PARTIAL_FUNCTION[1]))
    return out


def related(a: Handin, b: Handin) -> bool:
    """Same original and a part in common (a file and a function of another file are not)."""
    if a.origin != b.origin:
        return False
    return a.part == "all" or b.part == "all" or a.part == b.part


def write(handins: list[Handin], dest: Path) -> None:
    """The corpus as folders (dest/KEY/hw1, dest/KEY/mytorch) for the command line."""
    for handin in handins:
        for path, text in handin.sources.items():
            target = dest / handin.key / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

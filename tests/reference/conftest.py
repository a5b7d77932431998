"""Load our reference modules the way the grader loads a hand-in: by bare name."""

from __future__ import annotations

import importlib
import sys

import pytest

from grader.rubric import load_assignment
from reference import HANDIN_ROOT

LAYOUT = load_assignment("hw1p1-s20").handin
NAMES = tuple(LAYOUT.modules)


@pytest.fixture(scope="module")
def ref():
    """A namespace with the reference's six modules, imported by bare name from reference/handin
    (mytorch/ and hw1/ on sys.path, as in the course's grader); sys.modules is restored after."""
    saved_path, saved = list(sys.path), {n: sys.modules.pop(n) for n in NAMES if n in sys.modules}
    sys.path[:0] = [str(HANDIN_ROOT / folder) for folder in LAYOUT.path]
    try:
        modules = {n: importlib.import_module(n) for n in NAMES}
        yield type("Ref", (), modules)
    finally:
        for n in NAMES:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
        sys.path[:] = saved_path

"""Where a wrong output comes from: the hand-in's file, class and method that make it.

The assignment folder's `code.toml` maps each test (and, where it differs, each output) to the
code that produces it, and for tests whose outputs are per layer, the order the test's pass
reaches the layers (the file's comments describe every key). `point` turns one failed test into
a `Pointer`: the places to look at, and the first layer whose values go wrong, read from which
per-layer outputs the test found right and wrong. Pure: reads TOML, never runs hand-in code.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.rubric import Assignment


@dataclass(frozen=True)
class Place:
    """One piece of a hand-in's code: a file and, within it, a `Class.method` or a function."""

    file: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Place:
        file, _, name = text.partition(":")
        return cls(file, name)

    @property
    def text(self) -> str:
        return f"`{self.name}` in {self.file}" if self.name else self.file


@dataclass(frozen=True)
class TestCode:
    """The code behind one test's outputs (one table of code.toml)."""

    places: tuple[Place, ...]
    outputs: tuple[tuple[str, tuple[Place, ...]], ...] = ()
    """(output name pattern, places) where an output comes from elsewhere; first match wins."""
    layers: tuple[str, ...] = ()
    """The per-layer outputs' layers, in the order the test's pass reaches them."""
    pass_name: str = "forward"
    before: tuple[Place, ...] = ()
    """Code that runs before the pass and that no other test checks: a candidate too when even
    the first layer the pass reaches is wrong (see `point`)."""

    def places_of(self, output: str) -> tuple[Place, ...]:
        for pattern, places in self.outputs:
            if fnmatch.fnmatchcase(output, pattern.replace("[", "[[]")):
                return places
        return self.places


@dataclass(frozen=True)
class Pointer:
    """Where to look for one failed test's mistake."""

    places: tuple[Place, ...]
    layer: str = ""
    """Which layer the values first go wrong at, as a sentence; "" when the test cannot tell."""

    @property
    def look(self) -> str:
        """`Look at `Linear.backward` in mytorch/linear.py.`: the three likeliest places."""
        if not self.places:
            return ""
        return "Look at " + ", then ".join(p.text for p in self.places[:3]) + "."

    @property
    def text(self) -> str:
        return " ".join(s for s in (self.layer, self.look) if s)


CodeMap = Mapping[str, TestCode]


def load_code(a: Assignment) -> dict[str, TestCode]:
    """The assignment folder's code.toml for the tests of `a` ({} when the folder has none)."""
    return dict(_read(a.folder / "code.toml"))


@cache
def _read(path: Path) -> tuple[tuple[str, TestCode], ...]:
    if not path.is_file():
        return ()
    try:
        raw = tomllib.loads(path.read_text())
        return tuple((test_id, _test_code(table)) for test_id, table in raw.items())
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise GraderError(f"cannot read {path}: {exc!r}") from exc


def _test_code(table: dict[str, Any]) -> TestCode:
    def places(texts: Sequence[str]) -> tuple[Place, ...]:
        return tuple(Place.parse(t) for t in texts)
    return TestCode(places=places(table["code"]),
                    outputs=tuple((k, places(v)) for k, v in table.get("outputs", {}).items()),
                    layers=tuple(table.get("layers", ())), pass_name=table.get("pass", "forward"),
                    before=places(table.get("before", ())))


def point(code: CodeMap, test_id: str, checks: Sequence[Mapping[str, Any]] = (),
          passed: Collection[str] | None = None) -> Pointer | None:
    """Where to look for test `test_id`'s mistake, from which of its `checks` (name, passed)
    failed; None when code.toml says nothing of the test. Without checks (the code did not run,
    or only messages were kept) the test's own places.

    `passed`: the ids of the tests of the same report that passed, when known. Code a passing
    test also runs (its table's `code`) is then named after the rest; when even the first layer
    the pass reaches is wrong, the test's `before` code joins the candidates, first when passing
    tests run all of the pass's own code: a wrong batch-norm forward (which no test checks)
    points at `BatchNorm.forward`, a wrong `Linear.backward` still at the backward pass."""
    spec = code.get(test_id)
    if spec is None:
        return None
    failed = [c["name"] for c in checks if not c.get("passed") and c.get("name")]
    at = _first_wrong_layer(spec, failed)
    if at is not None:  # the outputs of the layer that goes wrong first are the likeliest
        failed.sort(key=lambda name: not name.startswith(spec.layers[at] + "."))
    places: list[Place] = []
    for name in failed or [""]:
        places += [p for p in (spec.places_of(name) if name else spec.places) if p not in places]
    if passed is None:
        return Pointer(tuple(places), _layer_sentence(spec, at))
    checked = {p for other_id, other in code.items() if other_id in passed for p in other.places}
    before = at == 0 and bool(spec.before) and set(spec.places) <= checked
    if at == 0:  # before the pass's code, when passing tests run all of that code
        rest = [p for p in places if p not in spec.before]
        places = [*spec.before, *rest] if before else \
            [*places, *(p for p in spec.before if p not in places)]
    places.sort(key=lambda p: p in checked)  # stable: the likeliest first within each
    return Pointer(tuple(places), _layer_sentence(spec, at, before=before))


def _first_wrong_layer(spec: TestCode, failed: Sequence[str]) -> int | None:
    """The index in `spec.layers` of the first layer the pass reaches with a wrong output."""
    for i, layer in enumerate(spec.layers):
        if any(name.startswith(layer + ".") for name in failed):
            return i
    return None


def _layer_sentence(spec: TestCode, at: int | None, *, before: bool = False) -> str:
    """`linear_layers[1] is right; the backward pass first goes wrong at linear_layers[0].`"""
    order = spec.layers
    if at is None:
        return ""
    if at == 0:
        start = (f"Your values are already wrong at {order[0]}, the first layer the "
                 f"{spec.pass_name} pass reaches")
        if before:
            return start + ", so the mistake likely lies before that pass."
        return start + "."
    right = {1: order[0], 2: f"{order[0]} and {order[1]}"}.get(at, f"{order[0]} to "
                                                                   f"{order[at - 1]}")
    return (f"{right} {'is' if at == 1 else 'are'} right; the {spec.pass_name} pass first goes "
            f"wrong at {order[at]}.")

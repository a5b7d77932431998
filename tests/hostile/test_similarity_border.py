"""Similarity is a trust border (issue 26): a hand-in's Python text is parsed only in a forked
child under limits, a file that cannot be parsed within them is compared by its raw tokens
(which nothing in the file can hide from), staff see which file and why for that hand-in only,
and the class run completes with every pair. Grading and similarity count the same files."""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from bench.similarity import corpus
from grader.rubric import load_assignment
from grader.similarity import all_pairs, fingerprint, isolated
from grader.similarity.handins import read_sources

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "mytorch/extra.py"  # a file no test imports: it does not change the grade

#: Each class of text that once killed or hid from the parse, at the size of the issue's example.
ATTACKS = {
    "unary_minus": "W = " + "-" * 100_000 + "1\n",
    "nested_lambda": "W = " + "lambda: " * 3000 + "1\n",
    "nested_not": "W = " + "not " * 100_000 + "1\n",
    "nested_lists": "W = " + "[" * 50_000 + "]" * 50_000 + "\n",
    "nested_calls": "W = " + "f(" * 50_000 + ")" * 50_000 + "\n",
    "long_chain": "W = " + " + ".join(["a"] * 60_000) + "\n",
    "deep_blocks": "".join(" " * i + "if x:\n" for i in range(99)) + " " * 99 + "pass\n",
    "too_long": "x = 1\n" * 60_000,
    "null_byte": "W = 1\0\n",
}
DEEP = "it is nested too deeply to parse; compared by tokens from line(s) 1"
#: What staff are told of each: nothing when the file is read statement by statement in full.
#: (Brackets nested past the parser's 200 levels are a SyntaxError: that line is commented out,
#: as any line with a syntax error is.)
WHY = {"unary_minus": DEEP, "nested_lambda": DEEP, "long_chain": DEEP,
       "nested_not": "it does not parse (longer than 256 KB); compared by tokens from line(s) 1",
       "null_byte": "it does not parse (source code string cannot contain null bytes); "
                    "compared by tokens from line(s) 1",
       "nested_lists": None, "nested_calls": None, "deep_blocks": None, "too_long": None}


@pytest.fixture(scope="module")
def ref():
    return corpus.originals()["ref"]


@pytest.fixture(scope="module")
def base():
    return [fingerprint(corpus.starter())]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_similarity_hostile_file_is_compared_by_tokens_and_named(ref, base, attack):
    copy = {**ref, HOSTILE: ATTACKS[attack]}
    found = isolated.fingerprint_handin(copy)
    assert found.problems == ({HOSTILE: WHY[attack]} if WHY[attack] else {})
    assert {u.file for u in found.units} >= set(ref)  # every other file still parsed
    [pair] = all_pairs({"ref": isolated.fingerprint_handin(ref), "copy": found}, base)
    assert pair.similarity >= 0.9


@pytest.mark.parametrize("where", ["top", "every_function"])
def test_similarity_nothing_after_damage_hides_from_the_fallback(ref, base, where):
    """Past 20 broken lines a file was read by `tokenize`, which stopped at the first damage
    (an unindent) and hid the copied code after it, and whose raw tokens matched no parsed
    original anyway; now the statements that parse are parsed, and only the damage is raw."""
    damage = "".join(f"  x{i} = (\n" for i in range(25)) + " y = 1\n"
    if where == "top":
        copy = {path: damage + text for path, text in ref.items()}
    else:
        copy = {path: re.sub(r"(\n    def [^\n]*:\n)", "\\1" + "        W = " + "-" * 5000
                             + "1\n", text) for path, text in ref.items()}
    found = isolated.fingerprint_handin(copy)
    assert set(found.problems) == {p for p, t in copy.items() if t != ref[p]}
    [pair] = all_pairs({"ref": isolated.fingerprint_handin(ref), "copy": found}, base)
    assert pair.similarity >= 0.8


def test_similarity_a_file_that_kills_its_parse_costs_that_file_only(ref, base, monkeypatch):
    """The child is killed (here by its CPU limit): each file is then tried alone, the killer is
    compared by its tokens, the rest parsed as usual."""
    monkeypatch.setattr(isolated, "HANDLER", "tests.grader.readers:similarity_dies_on_marker")
    monkeypatch.setattr(isolated, "LIMITS", (1, isolated.MEMORY_BYTES, 3))
    copy = {**ref, HOSTILE: "KILLME = 1\n" + ref["mytorch/linear.py"]}
    found = isolated.fingerprint_handin(copy)
    assert found.problems == {HOSTILE: "parsing it was stopped by a limit (time or memory)"}
    assert {u.file for u in found.units if u.name != "<file>"} == set(ref)
    assert [u.file for u in found.units if u.name == "<file>"] == [HOSTILE]


def test_similarity_padding_too_costly_even_for_tokens_hides_nothing_else(ref, base,
                                                                          monkeypatch):
    """A file of megabytes of distinct operator soup costs more than the limits to parse and
    even to hash as tokens: the rest of the hand-in is still compared, and staff see that file
    was not. (Limits cut to 1 s of CPU, the padding to 1 MB, to keep this test short.)"""
    monkeypatch.setattr(isolated, "LIMITS", (1, isolated.MEMORY_BYTES, 3))
    rnd = random.Random(1)
    soup = "\n".join("x = " + "".join(f"a{rnd.choice('+-*/%&|^<>')}" for _ in range(8)) + "a"
                     for _ in range(50_000))
    found = isolated.fingerprint_handin({**ref, HOSTILE: soup})
    assert found.problems == {HOSTILE: "fingerprinting it was stopped by a limit (time or "
                                       "memory): not compared"}
    [pair] = all_pairs({"ref": isolated.fingerprint_handin(ref), "copy": found}, base)
    assert pair.similarity >= 0.9


def _tar(sources: dict[str, str], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        files = {p: t.encode() for p, t in sources.items()} | (extra or {})
        for path, body in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_similarity_class_run_completes_and_names_the_hostile_file(ref, tmp_path):
    """The issue's run: a verbatim copy plus one hostile file, in `mlpgrade similarity` with
    worker processes; before, MemoryError left the process pool and no pair was reported."""
    (tmp_path / "ref.tar").write_bytes(_tar(ref))
    (tmp_path / "copy.tar").write_bytes(_tar({**ref, HOSTILE: ATTACKS["unary_minus"]}))
    (tmp_path / "lam.tar").write_bytes(_tar({**ref, HOSTILE: ATTACKS["nested_lambda"]}))
    paths = [str(tmp_path / n) for n in ("ref.tar", "copy.tar", "lam.tar")]
    out = subprocess.run([sys.executable, "-m", "submissions_api.cli", "similarity", *paths,
                          "--format", "json", "--jobs", "2"], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    run = json.loads(out)
    assert len(run["pairs"]) == 3 and min(p["similarity"] for p in run["pairs"]) >= 0.9
    assert run["problems"] == {paths[1]: {HOSTILE: DEEP}, paths[2]: {HOSTILE: DEEP}}


def test_similarity_counts_the_files_intake_keeps_and_no_other(ref, tmp_path):
    """A file that is graded is compared; a file intake drops (hidden, not source) is not."""
    layout = load_assignment("hw1p1-s20").handin
    dropped = {"mytorch/.hidden.py": ATTACKS["unary_minus"].encode(),
               "mytorch/extra.pyc": b"\0\0", "notes.py": b"x = 1\n"}
    path = tmp_path / "h.tar"
    path.write_bytes(_tar({**ref, HOSTILE: "W = 2\n"}, dropped))
    sources = read_sources(path, layout)
    assert set(sources) == set(ref) | {HOSTILE}
    assert {u.file for u in isolated.fingerprint_handin(sources).units} == set(sources)

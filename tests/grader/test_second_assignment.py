"""A second, tiny assignment (tests/assignments/tinyops), found through MLPGRADE_ASSIGNMENTS and
graded end to end by the command line: nothing of the grader is specific to hw1p1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.fixtures import apply_bug, load_bugs, make_tar, reference_files, starter_files
from grader.rubric import OURS, load_assignment
from grader.runtime import runtime_python
from grader.settings import load_settings

FOLDERS = Path(__file__).resolve().parent.parent / "assignments"


@pytest.fixture(scope="module")
def tiny():
    return load_assignment("tinyops", (*OURS, FOLDERS))


@pytest.fixture(scope="module")
def cli(tiny, tmp_path_factory):
    """`python -m grader ...` with a fresh MLPGRADE_HOME (no golden set yet) and the tiny
    assignment's folder on MLPGRADE_ASSIGNMENTS."""
    env = {**os.environ, "MLPGRADE_HOME": str(tmp_path_factory.mktemp("home")),
           "MLPGRADE_RUNTIME": str(runtime_python(tiny.packages, load_settings())),
           "MLPGRADE_ASSIGNMENTS": str(FOLDERS)}
    sandbox = os.environ.get("MLPGRADE_TEST_SANDBOX", "bwrap")

    def run(*args, cwd=None):
        return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                              text=True, env=env, cwd=cwd, timeout=300)

    def grade(path: Path) -> dict:
        done = run("grade", str(path), "--assignment", "tinyops", "--format", "json",
                   "--sandbox", sandbox)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    run.grade = grade
    run.env = env
    return run


def test_tiny_rubric_reads_its_own_layout(tiny):
    assert tiny.handin.modules == {"ops": "src/ops.py"}
    assert tiny.max_score == 5 and tiny.total_max_score == 6 and not tiny.has_training
    assert tiny.reference_dir == FOLDERS / "tinyops" / "reference"


def test_tiny_reference_graded_by_the_cli_scores_full_marks(tiny, cli, tmp_path):
    handin = tmp_path / "handin.tar"
    handin.write_bytes(make_tar(reference_files(tiny), tiny.handin))
    doc = cli.grade(handin)  # first use: generates, verifies and marks a golden set current
    assert doc["assignment"] == "tinyops" and doc["score"] == doc["max_score"] == 5
    assert [m["id"] for m in doc["manual"]] == ["style"]
    current = Path(cli.env["MLPGRADE_HOME"]) / "golden" / "tinyops" / "CURRENT"
    assert current.read_text().strip() == doc["golden_version"]


def test_tiny_known_mistake_and_starter_score_exactly(tiny, cli, tmp_path):
    bug = load_bugs(tiny)[0]
    (tmp_path / "bug.tar").write_bytes(make_tar(apply_bug(reference_files(tiny), bug)))
    doc = cli.grade(tmp_path / "bug.tar")
    assert doc["score"] == 2
    softmax = next(t for t in doc["tests"] if t["id"] == "softmax")
    assert "known mistake: softmax normalised over axis 0" in softmax["feedback"]
    (tmp_path / "starter.tar").write_bytes(make_tar(starter_files(tiny)))
    doc = cli.grade(tmp_path / "starter.tar")
    assert doc["score"] == 0 and "Not implemented yet" in doc["tests"][0]["feedback"]


def test_tiny_canary_passes_through_the_cli(cli):
    done = cli("reference", "verify", "--assignment", "tinyops", "--sandbox",
               os.environ.get("MLPGRADE_TEST_SANDBOX", "bwrap"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "canary PASSED for tinyops" in done.stdout
    assert "bug:softmax_over_columns" in done.stdout


def test_tiny_missing_module_is_named(tiny, cli, tmp_path):
    (tmp_path / "empty.tar").write_bytes(make_tar({"src/other.py": "x = 1\n"}))
    doc = cli.grade(tmp_path / "empty.tar")
    assert doc["score"] == 0 and "none of the files we grade (src/ops.py)" in \
        doc["tests"][0]["feedback"]
    assert "tar -cvf handin.tar src" in doc["tests"][0]["feedback"]

"""Rubrics as data: editions extend each other, layouts and batch sizes are read from them, and
loading one imports no NumPy and no scenario code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from grader.errors import GraderError
from grader.rubric import OURS, list_assignments, load_assignment
from grader.settings import load_settings


def test_rubric_s21_extends_s20_and_states_only_what_differs():
    s20, s21 = load_assignment("hw1p1-s20"), load_assignment("hw1p1-s21")
    assert s20.max_score == 95 and s20.total_max_score == 100
    assert s21.max_score == s21.total_max_score == 100 and s21.manual == ()
    assert [t.id for t in s21.tests] == [t.id for t in s20.tests if t.id != "mcq"]
    changed = {t.id: t.points for t in s21.tests if t.points != s20.test(t.id).points}
    assert changed == {"batch_norm_train": 12, "batch_norm_inference": 6,
                       "linear_classifier_step": 2, "mystery_hidden_forward1": 6,
                       "mystery_hidden_backward1": 6, "mystery_hidden_forward2": 6,
                       "mystery_hidden_backward2": 6, "mystery_hidden_forward3": 6,
                       "mystery_hidden_backward3": 6}
    assert s21.handin == s20.handin and s21.training == s20.training
    assert s21.batch_sizes == s20.batch_sizes and s21.batch_sizes["momentum"] == 100


def test_rubric_version_is_its_own_not_the_graders():
    s20, s21 = load_assignment("hw1p1-s20"), load_assignment("hw1p1-s21")
    assert len(s20.version) == 12 and s20.version != s21.version
    assert s20.has_training and s21.has_training and s20.training_id == "training_statistics"


def test_rubric_loading_imports_no_numpy():
    code = ("import sys, grader.rubric as r, grader.intake; r.load_assignment('hw1p1-s21'); "
            "print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def write_folder(root, rubric: str, scenarios: str = "def ok(m):\n    return {}\n"):
    folder = root / "tiny"
    folder.mkdir(parents=True)
    (folder / "rubric.toml").write_text(textwrap.dedent(rubric))
    (folder / "scenarios.py").write_text(scenarios)
    return folder


BASE = """
    title = "Tiny"
    [handin]
    folders = ["src"]
    required = ["src/ops.py"]
    reference = "reference"
    [scenarios]
    module = "scenarios"
    [runtime]
    packages = ["numpy==1.23.5"]
    [tolerance]
    rtol = 1e-4
    atol = 1e-8
    [limits]
    test_seconds = 5
    wall_seconds = 10
    cpu_seconds = 10
    memory_mb = 512
    processes = 8
    output_bytes = 1000
    disk_mb = 8
    [[tests]]
    id = "ok"
    name = "OK"
    points = 1
"""


def test_rubric_folders_come_from_mlpgrade_assignments(tmp_path):
    write_folder(tmp_path, BASE)
    roots = load_settings({"MLPGRADE_ASSIGNMENTS": str(tmp_path)}).assignment_roots
    assert "tiny" in list_assignments(roots) and "tiny" not in list_assignments()
    assert "hw1p1-s20" in list_assignments(roots)  # ours stay first
    tiny = load_assignment("tiny", roots)
    assert tiny.handin.modules == {"ops": "src/ops.py"} and tiny.handin.path == ("src",)
    assert tiny.reference_dir == tmp_path / "tiny" / "reference" and not tiny.has_training


def test_rubric_without_the_scenario_function_is_refused(tmp_path):
    write_folder(tmp_path, BASE, scenarios="def other(m):\n    return {}\n")
    with pytest.raises(GraderError, match=r"no scenario function for \['ok'\]"):
        load_assignment("tiny", (*OURS, tmp_path))


def test_unknown_assignment_is_a_grader_error():
    with pytest.raises(GraderError, match="unknown assignment 'nope'"):
        load_assignment("nope")

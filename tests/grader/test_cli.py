"""The `mlpgrade` command line: formats, exit statuses, hand-outs."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

from grader.cli import main
from grader.fixtures import make_tar, reference_files
from grader.rubric import load_assignment
from tests.handins import make_handin_tar


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_cli_grade_json_of_a_buggy_handin_exits_0(tmp_path, golden_s20):
    handin = tmp_path / "handin.tar"
    handin.write_bytes(make_handin_tar(bugs=("bn_unbiased_variance",)))
    done = run_cli("grade", str(handin), "--format", "json", "--golden", str(golden_s20.path))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["score"] == 80 and doc["max_score"] == 95
    assert doc["golden_version"] == golden_s20.version
    assert {"id", "name", "points", "max_points", "passed", "feedback"} <= set(doc["tests"][0])
    assert doc["manual"][0]["id"] == "training_statistics"
    bn = next(t for t in doc["tests"] if t["id"] == "batch_norm_train")
    assert "known mistake: the unbiased batch variance" in bn["feedback"]


def test_cli_grade_autolab_prints_the_scores_line_last(tmp_path, golden_s20):
    handin = tmp_path / "handin.tar"
    handin.write_bytes(make_handin_tar())
    done = run_cli("grade", str(handin), "--format", "autolab", "--golden", str(golden_s20.path))
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(last["scores"].values()) == 95 and "TOTAL SCORE" in done.stdout


def test_cli_grade_gradescope_writes_results_json(tmp_path, golden_s20):
    handin = tmp_path / "handin.tar"
    mc = reference_files(load_assignment("hw1p1-s20"))["hw1/mc.py"]
    handin.write_bytes(make_tar({"hw1/mc.py": mc}))
    out = tmp_path / "results.json"
    done = run_cli("grade", str(handin), "--format", "gradescope", "--golden",
                   str(golden_s20.path), "--output", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["score"] == 5  # only the multiple choice could run
    assert "mytorch/linear.py" in results["output"]


def test_cli_refused_tar_is_graded_zero_not_an_error(tmp_path, golden_s20):
    handin = tmp_path / "handin.tar"
    handin.write_bytes(b"not a tar at all")
    done = run_cli("grade", str(handin), "--golden", str(golden_s20.path))
    assert done.returncode == 0
    assert "not accepted" in done.stdout and "TOTAL SCORE                             0" in \
        done.stdout
    # said once, not under each of the 25 tests
    assert done.stdout.count("not a tar archive") == 1


def test_cli_usage_errors_exit_2(tmp_path):
    assert run_cli("grade", str(tmp_path / "missing.tar")).returncode == 2
    assert run_cli("grade").returncode == 2
    assert run_cli("grade", "x.tar", "--assignment", "nope").returncode == 2


def test_cli_infrastructure_error_exits_3(tmp_path, golden_s20, monkeypatch):
    handin = tmp_path / "handin.tar"
    handin.write_bytes(make_handin_tar())
    monkeypatch.setenv("MLPGRADE_RUNTIME", str(tmp_path / "no-python"))
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(handin), "--golden",
                           str(golden_s20.path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3 and "infrastructure error" in done.stderr


def test_cli_handout_writes_starter_and_solution(tmp_path):
    assert main(["handout", "--out", str(tmp_path / "starter")]) == 0
    assert (tmp_path / "starter" / "hw1" / "hw1.py").is_file()
    script = tmp_path / "starter" / "create_tarball.sh"
    subprocess.run(["sh", str(script)], check=True, capture_output=True)
    with tarfile.open(tmp_path / "starter" / "handin.tar") as tar:
        assert {n.split("/")[0] for n in tar.getnames()} == {"hw1", "mytorch"}
    assert main(["handout", "--solution", "--out", str(tmp_path / "sol")]) == 0
    with tarfile.open(tmp_path / "sol" / "handin.tar") as tar:
        assert "mytorch/batchnorm.py" in tar.getnames()


def test_cli_generate_is_deterministic(tmp_path):
    first = run_cli("reference", "generate", "--out", str(tmp_path / "a"))
    second = run_cli("reference", "generate", "--out", str(tmp_path / "b"))
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["sha256"] == b["sha256"] and a["version"] == a["sha256"][:12]
    assert a["numpy"] == "1.23.5"

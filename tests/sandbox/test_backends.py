"""Every backend runs a job the same way: the same environment, the same verdicts for the same
endings, and a runner that finds the runtime's prebuilt font cache (process and bwrap always,
docker with MLPGRADE_TEST_DOCKER=1)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import time

import pytest

from grader.outputs import read_test
from grader.reports import new_key, read_reports
from grader.rubric import load_assignment
from grader.run import Plan, PlannedTest
from grader.sandbox.base import CHILD_ENV, CODE_DIR, Limits, Verdict
from tests.sandbox.probes import BACKENDS, make_backend, probe, probe_job, run_probe

#: How a probe finds its output folder: the backend passes it as `--out`.
OUT_DIR = "import sys\nout = sys.argv[sys.argv.index('--out') + 1]\n"

FONT_PROBE = '''
import io
import logging


class Said(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        line = record.getMessage()
        if "fontManager" in line or "cache" in line.lower():
            self.lines.append(line)


def font_cache(m):
    """Draw text as a hand-in's plot does; say where matplotlib took its font list from."""
    import sys

    preloaded = "matplotlib.font_manager" in sys.modules  # a warm slot read it at its start
    said = Said()
    logger = logging.getLogger("matplotlib")
    logger.addHandler(said)
    logger.setLevel(logging.DEBUG)
    import matplotlib
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.text(0.5, 0.5, "loss")
    fig.savefig(io.BytesIO(), format="png")
    return {"configdir": matplotlib.get_configdir(), "said": "\\n".join(said.lines),
            "preloaded": preloaded}
'''


@pytest.fixture(scope="module", params=BACKENDS + [f"{b}-cold" for b in BACKENDS
                                                  if b in ("bwrap", "docker")])
def backend(request):
    return make_backend(request.param)


def test_backend_completed_with_output_and_files(backend, tmp_path):
    result = probe(backend, tmp_path, OUT_DIR + """
        print("hello", open("hello.txt").read())
        open(out + "/result.txt", "w").write("written")
    """.replace("\n        ", "\n"))
    assert result.verdict == Verdict.COMPLETED and result.exit_code == 0 and result.signal is None
    assert b"hello hi" in result.stdout
    assert (tmp_path / "out" / "result.txt").read_text() == "written"


def test_backend_gives_the_runner_the_shared_environment_only(backend, tmp_path):
    result = probe(backend, tmp_path, "import json, os\nprint(json.dumps(dict(os.environ)))\n")
    env = json.loads(result.stdout)
    assert {name: env.get(name) for name in CHILD_ENV} == CHILD_ENV
    # bwrap's --chdir sets PWD, docker names the container in HOSTNAME
    assert set(env) - set(CHILD_ENV) <= {"HOME", "PWD", "HOSTNAME"}


def test_backend_wall_timeout(backend, tmp_path):
    start = time.monotonic()
    result = probe(backend, tmp_path, "import time\ntime.sleep(1000)\n",
                   Limits(wall_seconds=1.5, cpu_seconds=10, memory_mb=512, processes=32))
    assert result.verdict == Verdict.WALL_TIMEOUT
    assert time.monotonic() - start < 8


def test_backend_output_flood_is_cut(backend, tmp_path):
    result = probe(backend, tmp_path, """
        import sys
        chunk = "x" * 2**20
        for _ in range(1024):
            sys.stdout.write(chunk)
    """)
    assert result.verdict == Verdict.OUTPUT_LIMIT
    assert len(result.stdout) + len(result.stderr) <= 100_000
    assert result.wall_seconds < 8


def test_backend_killed_by_signal(backend, tmp_path):
    result = probe(backend, tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert result.verdict == Verdict.KILLED
    assert result.signal == signal.SIGSEGV and result.exit_code is None


def test_backend_runner_finds_the_prebuilt_font_cache(backend, tmp_path):
    """The font cache is where the runner points matplotlib (sys.prefix/mplconfig), in the
    runtime bwrap binds and in the grading image alike: drawing text rebuilds nothing."""
    code = tmp_path / "code"
    code.mkdir()
    for script in CODE_DIR.glob("*.py"):
        shutil.copyfile(script, code / script.name)
    plan = Plan(module="fontprobe", layout=load_assignment().handin,
                tests=(PlannedTest(id="font_cache", scenario="font_cache", timeout=60),))
    job = probe_job(tmp_path, "", files={"fontprobe.py": FONT_PROBE},
                    args=("--plan", plan.to_json()))
    key = new_key()
    job = dataclasses.replace(job, entry="runner.py", secret=key)
    result = run_probe(backend, job)
    assert result.verdict == Verdict.COMPLETED, result
    reports = read_reports(result.stdout, key)
    assert reports.done, result
    run = read_test(tmp_path / "out", "font_cache", reports.tests["font_cache"])
    assert run.status == "ok", run
    outputs = run.outputs
    # matplotlib uses only a writable folder: the runner hands it a copy of the prebuilt one,
    # and the font list comes from there, not from a rebuild
    said = outputs["said"]
    if not outputs["preloaded"]:  # else the warm zygote read it, from the same place
        assert f"Using fontManager instance from {outputs['configdir']}/fontlist" in said, said
    assert "generated new fontManager" not in said and "Rebuilding" not in said, said
    assert outputs["configdir"].startswith("/tmp/mplconfig-")
    said = run.log
    assert "font cache" not in said and "Rebuilding" not in said and "temporary" not in said

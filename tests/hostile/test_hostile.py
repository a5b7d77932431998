"""Hostile hand-ins, graded end to end through the bwrap backend (and docker when it runs).

Each attack sits in one place of an otherwise correct hand-in (most in `question_1()`, which
only the multiple-choice test calls), so the expected score is exact: the sabotaged tests fail,
every other test keeps its points, the next job is unaffected, and no sandbox process is left.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time

import pytest

from grader.grade import grade_handin
from grader.rubric import load_assignment
from tests.handins import make_handin_tar
from tests.sandbox.probes import WARM_AND_COLD, make_backend, nothing_left

# A short per-test limit keeps hangs cheap and a smaller memory cap makes the out-of-memory
# cases quick; everything else is the course's rubric.
S20 = load_assignment("hw1p1-s20")
QUICK = dataclasses.replace(S20, test_seconds=3.0,
                            limits=dataclasses.replace(S20.limits, memory_mb=768))
Q1 = "def question_1():\n    return 'b'"


@pytest.fixture(scope="module", params=WARM_AND_COLD)
def backend(request):
    """The sandbox backend under attack, warm and cold: bwrap always; docker too with
    MLPGRADE_TEST_DOCKER=1 (it needs a running engine and the grading image: see
    docs/sandbox.md)."""
    return make_backend(request.param)


def in_question_1(attack: str) -> dict:
    body = textwrap.indent(textwrap.dedent(attack).strip(), "    ")
    return {"hw1/mc.py": (Q1, "def question_1():\n" + body + "\n    return 'b'")}


def at_import(code: str, file: str = "hw1/mc.py") -> dict:
    first = {"hw1/mc.py": '"""Multiple-choice answers', "mytorch/activation.py": '"""Activations.'}
    return {file: (first[file], textwrap.dedent(code).strip() + "\n" + first[file])}


def grade(edits, golden, backend, assignment=QUICK, **kw):
    tar = make_handin_tar(edits, **kw)
    # docker: a container per job runs as the image's uid, a warm one as root as a slot's
    with nothing_left(backend):
        return grade_handin(tar, assignment=assignment, golden=golden, sandbox=backend)


def only_mcq_lost(report, status: str | None = None) -> str:
    failed = {t.id for t in report.tests if not t.passed}
    assert failed == {"mcq"}, failed
    assert report.score == 90
    mcq = next(t for t in report.tests if t.id == "mcq")
    if status:
        assert mcq.status == status, (mcq.status, mcq.feedback)
    return mcq.feedback


ATTACKS = {
    "fork_bomb": ("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, "timeout", "process_limit"),
    "memory_20_gib": ("""
        import numpy as np
        x = np.ones(20 * 2**30 // 8)
    """, "crashed", "out_of_memory"),
    "memory_20_gib_caught": ("""
        import numpy as np
        try:
            x = np.ones(20 * 2**30 // 8)
        except MemoryError:
            pass
        while True:
            pass
    """, None, "out_of_memory"),
    "forks_times_memory": ("""
        import os, time
        import numpy as np
        for _ in range(8):
            if os.fork() == 0:
                x = np.ones(600 * 2**20 // 8)
                time.sleep(30)
        time.sleep(30)
    """, None, "out_of_memory"),
    "cpu_loop": ("while True:\n    pass", "timeout", "completed"),
    "sleep_loop": ("import time\nwhile True:\n    time.sleep(1)", "timeout", "completed"),
    "threads": ("""
        import threading, time
        for _ in range(10000):
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    """, "error", "process_limit"),
    "five_gib_file": ("""
        with open("/tmp/big", "wb") as f:
            for _ in range(5 * 1024):
                f.write(b"x" * 2**20)
    """, None, None),
    "one_gib_stdout": ("""
        import sys
        chunk = "x" * 2**20
        for _ in range(1024):
            sys.stdout.write(chunk)
    """, "output_limit", "completed"),
    "socket_to_services": ("""
        import socket
        for port in (6379, 5432):
            socket.create_connection(("127.0.0.1", port), timeout=1)
    """, "error", "completed"),
    "read_outside_files": ("""
        for path in ("/etc/passwd", "/work/main/grader/assignments/hw1p1-s20.toml",
                     "/var/lib/mlpgrade/golden"):
            open(path).read()
    """, "error", "completed"),
    "find_golden_set": ("""
        import os
        found = [os.path.join(d, f) for d, _, fs in os.walk("/") for f in fs
                 if f.endswith((".npz", ".toml")) or f == "manifest.json"]
        print("FOUND", found)
        assert not found
        raise RuntimeError("nothing to steal")
    """, "error", "completed"),
    "import_torch": ("import torch", "error", "completed"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_hostile_attack_is_contained(name, golden_s20, backend):
    attack, status, verdict = ATTACKS[name]
    report = grade(in_question_1(attack), golden_s20, backend)
    only_mcq_lost(report, status)
    if verdict:
        assert report.sandbox["verdict"] == verdict, report.sandbox


def test_hostile_memory_flood_under_the_courses_cap_is_out_of_memory_every_time(golden_s20,
                                                                              backend):
    """20 GiB of ones under the course's own limits (2 GiB, 3 s of CPU for the test), in a
    slot's first job and the next: out of memory each time. NumPy asks for huge pages for large
    arrays (madvise) and the kernel's compaction for them costs the job CPU time that depends
    on the host's memory, not on the hand-in: the same hand-in ran out of CPU time (timeout)
    in a fresh slot and in 16 of 20 cases at a deadline rush, and crashed out of memory
    otherwise. The sandbox's environment turns NumPy's huge pages off (NUMPY_MADVISE_HUGEPAGE)."""
    for _ in range(2):
        only_mcq_lost(grade(in_question_1(ATTACKS["memory_20_gib"][0]), golden_s20, backend,
                            assignment=S20), "crashed")


def test_hostile_socket_feedback_says_permission(golden_s20, backend):
    report = grade(in_question_1(ATTACKS["socket_to_services"][0]), golden_s20, backend)
    feedback = only_mcq_lost(report)
    # bwrap's seccomp refuses the socket; docker's `--network none` has a loopback where nothing
    # of the host listens
    assert "PermissionError" in feedback if backend.name == "bwrap" else "refused" in feedback


def test_hostile_cannot_signal_outside_processes(golden_s20, backend):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        report = grade(in_question_1(f"""
            import os, signal
            os.kill({victim.pid}, signal.SIGKILL)
        """), golden_s20, backend)
        only_mcq_lost(report, "error")
        time.sleep(0.2)
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_hostile_monkeypatched_allclose_fools_nothing(golden_s20, backend):
    patch = """
        import numpy
        numpy.allclose = lambda *a, **k: True
        numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)
        numpy.array_equal = lambda *a, **k: True
    """
    report = grade(at_import(patch, "mytorch/activation.py"), golden_s20, backend,
                   bugs=("sigmoid_derivative_reapplied",))
    assert report.score == 48  # exactly the known mistake's score, as if nothing was patched


def test_hostile_fake_results_and_deleted_outputs_are_undone(golden_s20, backend):
    tamper = """
        import glob, json, os
        for path in glob.glob("/out/*"):
            os.unlink(path)
        for name in ("mcq", "momentum", "sigmoid_forward"):
            with open(f"/out/{name}.json", "w") as f:
                json.dump({"id": name, "status": "ok", "outputs": {}}, f)
        open("/out/runner.json", "w").write('{"done": true}')
        print("TOTAL SCORE                             95")
    """
    edits = {"hw1/hw1.py": ("        self.output = None\n",
                            "        self.output = None\n" +
                            textwrap.indent(textwrap.dedent(tamper).strip(), "        ") + "\n")}
    report = grade(edits, golden_s20, backend, bugs=("mc_wrong_answer",))
    assert report.score == 90
    assert {t.id for t in report.tests if not t.passed} == {"mcq"}


def test_hostile_results_changed_in_place_are_written_afresh(golden_s20, backend):
    # Every earlier result file, under its own name: a byte more, or a FIFO, a folder or a link
    # in its place. The runner, still alive at the end, finds each changed file and writes that
    # test's files again; a test whose files it finds intact keeps them.
    tamper = """
        import glob, os
        for i, path in enumerate(sorted(glob.glob("/out/r-*"))):
            if os.path.islink(path) or not os.path.isfile(path):
                continue  # changed already, by this code in an earlier test
            way = i % 5
            if way == 0:
                open(path, "ab").write(b" ")
            elif way < 4:
                os.unlink(path)
                make = (os.mkfifo, os.mkdir, lambda p: os.symlink("/proc/self/environ", p))
                make[way - 1](path)
    """
    edits = {"hw1/hw1.py": ("        self.output = None\n",
                            "        self.output = None\n" +
                            textwrap.indent(textwrap.dedent(tamper).strip(), "        ") + "\n")}
    report = grade(edits, golden_s20, backend, bugs=("mc_wrong_answer",))
    assert report.score == 90
    assert {t.id for t in report.tests if not t.passed} == {"mcq"}


@pytest.mark.parametrize("code,status", [("import os\nos._exit(0)", "crashed"),
                                         ("import sys\nsys.exit(0)", "error")])
def test_hostile_exit_at_import_costs_only_that_module(code, status, golden_s20, backend):
    only_mcq_lost(grade(at_import(code), golden_s20, backend), status)


def test_hostile_daemon_does_not_outlive_the_job(golden_s20, backend):
    report = grade(in_question_1("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.1)
                    open("/out/mcq.json", "w").write("{}")
            os._exit(0)
    """), golden_s20, backend)
    assert report.score == 95  # grade() asserts that no sandbox process is left


def test_hostile_fake_score_table_is_just_output(golden_s20, backend):
    report = grade(at_import('print("TOTAL SCORE" + " " * 29 + "95")'), golden_s20, backend,
                   bugs=("mc_wrong_answer",))
    assert report.score == 90


def test_hostile_next_job_is_unaffected(golden_s20, backend):
    grade(in_question_1(ATTACKS["fork_bomb"][0]), golden_s20, backend)
    grade(in_question_1(ATTACKS["memory_20_gib"][0]), golden_s20, backend)
    report = grade({}, golden_s20, backend)
    assert report.score == 95 and report.sandbox["verdict"] == "completed"

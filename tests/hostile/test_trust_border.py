"""The trust border (issue 11): hand-ins that attack the grader's own process, not the sandbox.

Each attack is a small change to our reference hand-in with the exact score it must get, on
every backend the machine has (process, bwrap; docker with MLPGRADE_TEST_DOCKER=1). While the
grader reads an attack's output its memory and time are measured (tracemalloc around
`grader.run.read_tests`) and asserted bounded. Attacks that write to other processes' stdout through
/proc do not run on the process backend, where those processes are the host's.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import tracemalloc

import pytest

import grader.run
from grader.grade import grade_handin
from tests.handins import make_handin_tar
from tests.hostile import trust_attacks as attacks
from tests.hostile.test_hostile import QUICK, at_import, in_question_1
from tests.sandbox.probes import WARM_AND_COLD, make_backend

BACKENDS = ["process", *WARM_AND_COLD]
READ_MEMORY = 64 * 1024 * 1024
READ_SECONDS = 5.0


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return make_backend(request.param)


@pytest.fixture
def reading(monkeypatch):
    """The peak memory and the seconds the grader spends reading one run's outputs."""
    seen: dict[str, float] = {}
    original = grader.run.read_tests

    def measured(*args, **kwargs):
        tracemalloc.start()
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seen["seconds"] = time.perf_counter() - start
            seen["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    monkeypatch.setattr(grader.run, "read_tests", measured)
    return seen


def grade(edits, golden, backend, reading, *, assignment=QUICK, **kw):
    report = grade_handin(make_handin_tar(edits, **kw), assignment=assignment, golden=golden,
                          sandbox=backend)
    assert reading["peak"] < READ_MEMORY, reading
    assert reading["seconds"] < READ_SECONDS, reading
    return report


def needs_init(backend):
    if backend.name == "process":
        pytest.skip("writes to other processes' stdout through /proc: the host's on this backend")


def statuses(report):
    return {t.id: t.status for t in report.tests}


# ---------------------------------------------------------------- 2: only what the runner wrote


def test_planted_results_and_a_killed_runner_score_nothing(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.PLANT_AND_KILL_RUNNER), golden_s20, backend, reading)
    assert report.score == 0
    assert set(statuses(report).values()) == {"not_run"}
    assert report.sandbox["verdict"] == "killed"


def test_results_planted_before_the_run_is_stopped_at_its_time_limit(golden_s20, backend,
                                                                     reading):
    short = dataclasses.replace(QUICK, limits=dataclasses.replace(QUICK.limits, wall_seconds=15))
    report = grade(in_question_1(attacks.PLANT_AND_STOP_RUNNER), golden_s20, backend, reading,
                   assignment=short)
    assert report.score == 0
    assert report.sandbox["verdict"] == "wall_timeout"


def test_folders_where_result_files_would_go_change_nothing(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.FOLDERS_FOR_RESULTS), golden_s20, backend, reading)
    assert report.score == 95 and report.sandbox["verdict"] == "completed"


def test_forged_reports_on_the_sandbox_stdout_are_ignored(golden_s20, backend, reading):
    needs_init(backend)
    report = grade(in_question_1(attacks.FORGE_REPORTS), golden_s20, backend, reading)
    assert report.score == 90
    mcq = next(t for t in report.tests if t.id == "mcq")
    assert mcq.status == "timeout" and "CPU time" in mcq.feedback


# ---------------------------------------------------------------- 1: malformed output, bounded


def test_poisoned_result_files_are_malformed_and_read_bounded(golden_s20, backend, reading):
    report = grade(at_import(attacks.POISON_RESULTS, "mytorch/activation.py"), golden_s20,
                   backend, reading)
    # activation.py is imported by the first activation test: the multiple-choice test ran
    # before and its files were poisoned, the runner was killed, nothing else ran
    assert report.score == 0
    got = statuses(report)
    assert got["mcq"] == "malformed" and set(got.values()) == {"malformed", "not_run"}
    mcq = next(t for t in report.tests if t.id == "mcq")
    assert "malformed output" in mcq.feedback
    assert report.sandbox["verdict"] == "killed" and report.sandbox["runtime"]["done"] is False


# ---------------------------------------------------------------- 3: never our fault


def test_signals_to_the_runner_are_ignored(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.INTERRUPT_RUNNER), golden_s20, backend, reading)
    assert report.score == 95 and report.sandbox["verdict"] == "completed"


def test_sandbox_tool_messages_on_stderr_are_no_infrastructure_error(golden_s20, backend,
                                                                     reading):
    needs_init(backend)
    report = grade(in_question_1(attacks.IMITATE_BWRAP), golden_s20, backend, reading)
    assert report.score == 95


def test_a_file_that_crashes_the_compiler_costs_nothing(golden_s20, backend, reading):
    report = grade({}, golden_s20, backend, reading, extra=attacks.UNCOMPILABLE)
    assert report.score == 95


def test_a_killed_reporter_is_the_students_result(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.KILL_REPORTER), golden_s20, backend, reading)
    assert report.score == 0
    assert set(statuses(report).values()) == {"not_run"}
    assert all("stopped the grader's test runner" in t.feedback for t in report.tests)


def test_runner_killed_mid_run_keeps_what_ran(golden_s20, backend, reading):
    kill = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    report = grade(at_import(kill, "mytorch/activation.py"), golden_s20, backend, reading)
    assert report.score == 5  # the multiple-choice test ran before; nothing after it
    assert statuses(report)["mcq"] == "ok"
    assert report.sandbox["verdict"] == "killed"


# ---------------------------------------------------------------- 6: module search


def test_handin_files_named_like_standard_modules_shadow_nothing(golden_s20, backend, reading):
    report = grade({}, golden_s20, backend, reading, extra=attacks.SHADOWS)
    assert report.score == 95


# ---------------------------------------------------------------- 8: output capped


def test_flooding_the_sandbox_stdout_is_capped(golden_s20, backend, reading):
    needs_init(backend)
    report = grade(in_question_1(attacks.FLOOD_SANDBOX_STDOUT), golden_s20, backend, reading)
    # nothing that holds the box's stdout is open to the hand-in: the zygote, its first
    # process, is not dumpable and gives its jobs fresh pipes
    assert report.sandbox["verdict"] == "completed" and report.score == 95


# ---------------------------------------------------------------- 10: CPU time, clean text


def test_sleeping_past_the_cpu_limit_is_no_timeout(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.SLEEP_PAST_CPU_LIMIT), golden_s20, backend, reading)
    assert report.score == 95


def test_a_loaded_host_does_not_change_the_verdict(golden_s20, backend, reading):
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        report = grade(in_question_1(attacks.SPEND_CPU), golden_s20, backend, reading)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert report.score == 95


def test_terminal_escapes_never_reach_feedback(golden_s20, backend, reading):
    report = grade(in_question_1(attacks.TERMINAL_ESCAPES), golden_s20, backend, reading)
    assert report.score == 90
    mcq = next(t for t in report.tests if t.id == "mcq")
    assert "RuntimeError" in mcq.feedback and "evil here" in mcq.feedback.replace("\x00", "")
    for char in ("\x1b", "\x07", "\u202e", "\x00"):
        assert char not in mcq.feedback


def test_the_service_refuses_the_unisolated_backend(monkeypatch):
    from grader.errors import InfrastructureError
    from worker.context import WorkerContext, configured_sandbox

    monkeypatch.setenv("MLPGRADE_SANDBOX", "process")
    monkeypatch.delenv("MLPGRADE_ALLOW_UNISOLATED", raising=False)
    assert WorkerContext.__dataclass_fields__["sandbox_factory"].default is configured_sandbox
    with pytest.raises(InfrastructureError, match="does not isolate"):
        configured_sandbox()
    monkeypatch.setenv("MLPGRADE_ALLOW_UNISOLATED", "1")
    assert configured_sandbox().name == "process"

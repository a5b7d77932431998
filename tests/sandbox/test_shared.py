"""What every backend shares, on its own: the verdict rules, the wall clock's rule, rlimits and
the child environment."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from grader.sandbox.base import (
    CHILD_ENV,
    Ending,
    Limits,
    Verdict,
    apply_rlimits,
    child_env,
    classify,
    rlimits,
)
from grader.sandbox.slot import Counters, _out_of_time

LIMITS = Limits(cpu_seconds=10)


@pytest.mark.parametrize("ending,verdict", [
    (Ending(), Verdict.COMPLETED),
    (Ending(output_exceeded=True, timed_out=True, signal=signal.SIGKILL), Verdict.OUTPUT_LIMIT),
    (Ending(cpu_exceeded=True, timed_out=True, signal=signal.SIGKILL), Verdict.CPU_LIMIT),
    # the memory limit's kill is a fact, the clock depends on the host's load (issue 11)
    (Ending(timed_out=True, out_of_memory=True, signal=signal.SIGKILL), Verdict.OUT_OF_MEMORY),
    (Ending(cpu_exceeded=True, out_of_memory=True), Verdict.OUT_OF_MEMORY),
    (Ending(out_of_memory=True, process_limit=True, signal=signal.SIGKILL),
     Verdict.OUT_OF_MEMORY),
    (Ending(process_limit=True, disk_full=True), Verdict.PROCESS_LIMIT),
    (Ending(disk_full=True, signal=signal.SIGSEGV), Verdict.DISK_LIMIT),
    (Ending(signal=signal.SIGXCPU), Verdict.CPU_LIMIT),
    (Ending(signal=signal.SIGKILL, cpu_seconds=10.2), Verdict.CPU_LIMIT),
    (Ending(signal=signal.SIGKILL, cpu_seconds=3.0), Verdict.KILLED),
    (Ending(signal=signal.SIGXFSZ), Verdict.DISK_LIMIT),
    (Ending(signal=signal.SIGSEGV), Verdict.KILLED),
])
def test_classify_takes_output_and_memory_first_then_clocks_then_limits_then_signals(ending,
                                                                                      verdict):
    assert classify(ending, LIMITS) == verdict


def test_rlimits_cap_address_space_only_without_a_job_wide_memory_cap():
    limits = Limits(cpu_seconds=7, memory_mb=100, disk_mb=3)
    alone = rlimits(limits, memory_capped=False)
    assert alone["as"] == (100 << 20, 100 << 20)
    assert alone["cpu"] == (7, 8) and alone["fsize"] == (3 << 20, 3 << 20)
    assert alone["core"] == (0, 0) and "nproc" not in alone
    capped = rlimits(limits, memory_capped=True, processes=64)
    assert "as" not in capped and capped["nproc"] == (64, 64)


def test_rlimits_names_are_docker_ulimit_names():
    docker_names = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                    "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
    assert set(rlimits(Limits(), memory_capped=True, processes=8)) <= docker_names


def test_apply_rlimits_sets_them_in_the_child():
    wanted = rlimits(Limits(cpu_seconds=5, disk_mb=2), memory_capped=True)
    out = subprocess.run([sys.executable, "-c", "import resource as r; print("
                          "r.getrlimit(r.RLIMIT_CPU), r.getrlimit(r.RLIMIT_FSIZE), "
                          "r.getrlimit(r.RLIMIT_NOFILE))"],
                         preexec_fn=lambda: apply_rlimits(wanted), capture_output=True, text=True)
    assert out.stdout.strip() == f"(5, 6) {wanted['fsize']} {wanted['nofile']}"


def test_child_env_is_the_shared_environment_with_a_home():
    env = child_env(home="/tmp")
    assert env == {**CHILD_ENV, "HOME": "/tmp"}
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert env["MPLBACKEND"] == "Agg"


def test_the_wall_clock_stops_a_computing_job_only_far_past_it():
    """The one wall-clock rule (grader/sandbox/slot.py): without a CPU counter, past the limit;
    with one, past it only when idle for the last second, or past three times it."""
    assert not _out_of_time(9.9, 10, None, []) and _out_of_time(10.1, 10, None, [])
    busy: list = []
    for tenth in range(90, 320):  # a job that computes the whole time, polled every 0.1 s
        if _out_of_time(tenth / 10, 10, Counters(tenth / 10, 0, 0), busy):
            break
    assert 30 < tenth / 10 <= 30.2
    idle: list = []
    for tenth in range(90, 301):  # a job that sleeps
        if _out_of_time(tenth / 10, 10, Counters(1.0, 0, 0), idle):
            break
    assert 10 < tenth / 10 <= 11.1

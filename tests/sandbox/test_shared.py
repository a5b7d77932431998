"""What every backend shares, on its own: the verdict rules, exit statuses, rlimits, the child
environment and the capped output reader."""

from __future__ import annotations

import io
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
    signal_of,
)
from grader.sandbox.output import CappedOutput, chunks_of, drain_capped

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


@pytest.mark.parametrize("status,sig", [(None, None), (0, None), (1, None), (-9, 9), (137, 9),
                                        (139, 11), (152, 24), (128, None), (255, None)])
def test_signal_of_reads_subprocess_and_128_plus_n_statuses(status, sig):
    assert signal_of(status) == sig


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


def test_capped_output_shares_one_cap_between_streams():
    output = CappedOutput(10)
    drain_capped([b"12345", b"678"], output, "stdout")
    drain_capped([b"abcdef"], output, "stderr")
    assert output.bytes_of("stdout") == b"12345678" and output.bytes_of("stderr") == b"ab"
    assert output.total == 14 and output.exceeded


def test_capped_output_reads_a_pipe_to_its_end_past_the_cap():
    output = CappedOutput(4)
    stream = io.BufferedReader(io.BytesIO(b"x" * 200_000))
    drain_capped(chunks_of(stream), output, "stdout")
    assert output.bytes_of("stdout") == b"xxxx" and output.total == 200_000
    assert stream.read() == b""


def test_capped_output_at_the_cap_is_not_exceeded():
    output = CappedOutput(3)
    drain_capped([b"abc"], output, "stdout")
    assert not output.exceeded and output.bytes_of("stdout") == b"abc"

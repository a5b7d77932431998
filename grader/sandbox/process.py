"""The `process` backend: a plain subprocess with rlimits. NOT isolated.

Only for platforms where neither bubblewrap nor Docker runs, and for running our own trusted
reference. It must be chosen explicitly and says loudly that it does not isolate anything.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

from grader.errors import InfrastructureError
from grader.sandbox.base import (
    Ending,
    SandboxJob,
    SandboxResult,
    apply_rlimits,
    child_env,
    classify,
    rlimits,
    signal_of,
)
from grader.sandbox.output import plant_key
from grader.sandbox.watch import Watch

log = logging.getLogger(__name__)


class ProcessSandbox:
    """Runs the runner as a child process in its own session, with rlimits and a wall clock."""

    name = "process"
    copies_output = False

    def __init__(self, *, trusted: bool = False) -> None:
        if not trusted:
            log.warning("sandbox backend 'process' is NOT isolated: hand-ins can read and reach "
                        "everything this user can. Use bwrap or docker for student code.")

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        argv = [str(job.runtime_python), "-I", "-B", str(job.code_dir / job.entry),
                "--out", str(job.output_dir)]
        if job.data_dir is not None:
            argv += ["--data", str(job.data_dir)]
        argv += list(job.args)
        # Nothing caps the job's memory as a whole: the per-process address space is all there is.
        limited = rlimits(limits, memory_capped=False)
        env = child_env(home=str(job.output_dir))
        plant_key(job.output_dir, job.secret)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=job.handin_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    preexec_fn=lambda: apply_rlimits(limited),
                                    start_new_session=True)
        except OSError as exc:
            raise InfrastructureError(f"cannot start the student runtime {argv[0]}: {exc}") from exc

        def kill_session() -> None:  # the runner and whatever it started (daemons too)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        watch = Watch(proc, limits, start, kill=kill_session, leftovers=kill_session)
        watch.wait()
        wall = time.monotonic() - start
        sig = signal_of(proc.returncode)
        verdict = classify(Ending(signal=sig, cpu_seconds=watch.rusage_cpu,
                                  output_exceeded=watch.output.exceeded,
                                  timed_out=watch.timed_out), limits)
        return SandboxResult(verdict=verdict, exit_code=None if sig else proc.returncode,
                             signal=sig, stdout=watch.output.bytes_of("stdout"),
                             stderr=watch.output.bytes_of("stderr"), wall_seconds=wall,
                             cpu_seconds=watch.rusage_cpu, backend=self.name)

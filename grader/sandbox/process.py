"""The `process` backend: a plain subprocess with rlimits. NOT isolated.

Only for platforms where neither bubblewrap nor Docker runs, and for running our own trusted
reference. It must be chosen explicitly and says loudly that it does not isolate anything.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import time

from grader.errors import InfrastructureError
from grader.sandbox.base import SandboxJob, SandboxResult, Verdict

log = logging.getLogger(__name__)


class ProcessSandbox:
    """Runs the runner as a child process in its own session, with rlimits and a wall clock."""

    name = "process"

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

        def preexec() -> None:
            mem = limits.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
            disk = limits.disk_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        env = {"PATH": "/usr/bin:/bin", "HOME": str(job.output_dir), "MPLBACKEND": "Agg",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8"}
        start = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            proc = subprocess.Popen(argv, cwd=job.handin_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    preexec_fn=preexec, start_new_session=True)
        except OSError as exc:
            raise InfrastructureError(f"cannot start the student runtime {argv[0]}: {exc}") from exc
        timed_out = False
        try:
            out, err = proc.communicate(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        try:  # leftovers of the session (daemons the code started)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        code = proc.returncode
        sig = -code if code is not None and code < 0 else None
        over_output = len(out) + len(err) > limits.output_bytes
        if timed_out:
            verdict = Verdict.WALL_TIMEOUT
        elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_seconds):
            verdict = Verdict.CPU_LIMIT
        elif sig == signal.SIGXFSZ:
            verdict = Verdict.DISK_LIMIT
        elif sig is not None:
            verdict = Verdict.KILLED
        elif over_output:
            verdict = Verdict.OUTPUT_LIMIT
        else:
            verdict = Verdict.COMPLETED
        cap = limits.output_bytes
        return SandboxResult(verdict=verdict, exit_code=None if sig else code, signal=sig,
                             stdout=out[:cap], stderr=err[: max(0, cap - len(out[:cap]))],
                             wall_seconds=wall, cpu_seconds=cpu, backend=self.name)

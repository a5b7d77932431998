"""The `process` box: the zygote as a plain subprocess with rlimits. NOT isolated.

Only for platforms where neither bubblewrap nor Docker runs, and for running our own trusted
reference. It must be chosen explicitly and says loudly that it does not isolate anything. Its
slots are used once: there is no box to put back between jobs. The zygote runs `--alone`: a
job's processes are those of its session, and its CPU is the supervisor's child accounting.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess

from grader.errors import InfrastructureError
from grader.sandbox.base import apply_rlimits, child_env, rlimits
from grader.sandbox.frames import ZygotePipes
from grader.sandbox.linux.procs import kill_until_none, session_processes
from grader.sandbox.slot import (
    ZYGOTE_CPU_SECONDS,
    Counters,
    Place,
    SlotSandbox,
    zygote_command,
)

log = logging.getLogger(__name__)


def process_sandbox(*, trusted: bool = False) -> SlotSandbox:
    """The process backend: a slot used once per job, no isolation at all."""
    if not trusted:
        log.warning("sandbox backend 'process' is NOT isolated: hand-ins can read and reach "
                    "everything this user can. Use bwrap or docker for student code.")
    return SlotSandbox(ProcessBox, warm=False)


class ProcessBox:
    """The zygote as a child of ours in a session of its own, under the job's rlimits (the
    per-process address space is all that caps its memory)."""

    name = "process"
    isolated, own_uid, job_uid, makes_out, stage_always = False, False, None, False, False

    def __init__(self, place: Place) -> None:
        limits = dataclasses.replace(place.job.limits, cpu_seconds=ZYGOTE_CPU_SECONDS)
        limited = rlimits(limits, memory_capped=False)
        argv = zygote_command(place.job, "--alone", place=place)
        try:
            self.proc = subprocess.Popen(
                argv, cwd=place.handin, env=child_env(home=str(place.home)),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                preexec_fn=lambda: apply_rlimits(limited), start_new_session=True)
        except OSError as exc:
            raise InfrastructureError(f"cannot start the student runtime {argv[0]}: {exc}") \
                from exc
        self.pipes = ZygotePipes(self.proc)

    def take(self, frame: dict) -> None:
        pass  # no counters: the supervisor's child accounting gives the CPU

    def counters(self) -> Counters | None:
        return None

    def leftover(self) -> bool:
        return False  # a slot used once

    def kill(self) -> None:
        """The zygote's session: the zygote, the supervisor, the job and what it started (a
        daemon that made a session of its own escapes: this box isolates nothing)."""
        kill_until_none(lambda: session_processes(self.proc.pid))  # reaps what is ours
        self.proc.wait()

    def close(self) -> None:
        self.kill()

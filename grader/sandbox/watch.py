"""The parent's side of a run started as a subprocess (the bwrap and process backends): drain
its output under the cap, enforce the wall clock and the CPU budget, stop it when one is spent."""

from __future__ import annotations

import resource
import subprocess
import time
from collections.abc import Callable

from grader.sandbox.base import Limits
from grader.sandbox.output import CappedOutput, chunks_of, drain_in_threads

POLL_SECONDS = 0.01
#: With a CPU meter, the wall clock stops a run only when it is idle (under IDLE_SHARE of a CPU
#: for the last second) or past WALL_MAX_FACTOR times the wall limit: a run that computes on a
#: busy host is stopped by its CPU budget or its memory limit, never by the host's load.
IDLE_SHARE, WALL_MAX_FACTOR = 0.05, 3.0


class Watch:
    """Watches one started process until it ends or is stopped.

    `cpu_meter` reads the job's CPU seconds while it runs (a cgroup's counter; without one,
    RLIMIT_CPU is the only CPU cap). `kill` stops the whole run (default: SIGKILL the process).
    `leftovers` runs once the process has ended, before its pipes are read to their end: it
    kills what the run left behind that may still hold them open."""

    def __init__(self, proc: subprocess.Popen, limits: Limits, start: float, *,
                 cpu_meter: Callable[[], float] | None = None,
                 kill: Callable[[], None] | None = None,
                 leftovers: Callable[[], None] | None = None) -> None:
        self.proc, self.limits, self.start = proc, limits, start
        self.cpu_meter = cpu_meter
        self.kill = kill or proc.kill
        self.leftovers = leftovers
        self.output = CappedOutput(limits.output_bytes)
        self.timed_out = self.cpu_exceeded = False
        self.rusage_cpu = 0.0
        """CPU seconds of the children reaped while watching (the run's, without a cgroup)."""

    def wait(self) -> None:
        """Return once the process has ended and its output is read."""
        readers = drain_in_threads({"stdout": chunks_of(self.proc.stdout),
                                    "stderr": chunks_of(self.proc.stderr)}, self.output)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples: list[tuple[float, float]] = []
        while self.proc.poll() is None:
            if self._out_of_time(samples):
                self.timed_out = True
            elif self.cpu_meter is not None and self.cpu_meter() > self.limits.cpu_seconds:
                self.cpu_exceeded = True
            elif not self.output.exceeded:
                time.sleep(POLL_SECONDS)
                continue
            self.kill()
            break
        self.proc.wait()
        if self.leftovers is not None:
            self.leftovers()
        for reader in readers:
            reader.join(timeout=5)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.rusage_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def _out_of_time(self, samples: list[tuple[float, float]]) -> bool:
        now = time.monotonic()
        wall = self.limits.wall_seconds
        elapsed = now - self.start
        if self.cpu_meter is None:
            return elapsed > wall
        if elapsed < wall - 1.0:
            return False
        samples.append((now, self.cpu_meter()))
        while len(samples) > 2 and now - samples[1][0] >= 1.0:
            samples.pop(0)
        (then, before), cpu = samples[0], samples[-1][1]
        idle = now - then >= 1.0 and cpu - before < IDLE_SHARE * (now - then)
        return elapsed > wall * WALL_MAX_FACTOR or (elapsed > wall and idle)

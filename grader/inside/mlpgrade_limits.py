"""A test's limits: the tester's CPU backstop (RLIMIT_CPU), and a wall clock that stops only
code that is not computing, so a busy host never turns into a timeout (docs/sandbox.md).

Staged next to runner.py; standard library only.
"""

import math
import os
import resource
import time


def limit_cpu(cpu_seconds):
    """RLIMIT_CPU of a tester: SIGXCPU at its CPU seconds, SIGKILL a second later (never
    above the whole run's own hard limit, which a process cannot raise)."""
    cpu = max(1, math.ceil(cpu_seconds))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        cpu = min(cpu, max(1, hard - 1))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, min(cpu + 1, hard)))
    else:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


class IdleWatch:
    """Whether a running process has been idle (under 5% of a CPU) for the last second, once
    its idle deadline is past; its CPU time read from /proc/<pid>/stat."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid, after):
        self.pid, self.after, self.samples = pid, after, []

    def cpu(self):
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.TICK
        except (OSError, IndexError, ValueError):
            return None

    def idle(self):
        now = time.monotonic()
        if now < self.after - 1.0:
            return False
        cpu = self.cpu()
        if cpu is None:
            return False
        self.samples.append((now, cpu))
        while len(self.samples) > 2 and now - self.samples[1][0] >= 1.0:
            self.samples.pop(0)
        then, before = self.samples[0]
        return now >= self.after and now - then >= 1.0 and cpu - before < 0.05 * (now - then)

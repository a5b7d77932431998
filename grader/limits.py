"""Each test's CPU limit, from what our reference costs on it.

The golden set records the CPU seconds the reference spent on every test (`GoldenSet.costs`,
measured when the set is made). A test may use `CPU_FACTOR` times that, never less than
`CPU_FLOOR` nor more than the rubric's `test_seconds`. The floor is 3 s, not less: RLIMIT_CPU
counts whole seconds, a correct hand-in written with Python loops may be a hundred times slower
than our vectorised reference, and the trust border's tests hold hand-ins to 3 s of CPU. CPU
time, not wall time, so the verdict is the same on an idle and on a loaded host; the wall clock
above it (`WALL_FACTOR` times the CPU limit, for code that sleeps or waits) then costs 9 s,
not the rubric's 60 s.
Without a recorded cost (the set being made, a set made before costs were recorded) the
rubric's `test_seconds` is the limit.
"""

from __future__ import annotations

CPU_FACTOR = 50.0
CPU_FLOOR = 3.0
#: A test's code that sleeps or waits (uses no CPU) is stopped after WALL_FACTOR times its CPU
#: seconds; code that computes runs until its CPU time is spent, however slowly a busy host
#: lets it, up to WALL_MAX_FACTOR times its CPU seconds.
WALL_FACTOR, WALL_MAX_FACTOR = 3.0, 10.0


def cpu_limit(test_seconds: float, cost: float | None) -> float:
    """The CPU seconds of one test whose reference cost `cost` CPU seconds (None: unknown)."""
    if cost is None:
        return test_seconds
    return min(test_seconds, max(CPU_FLOOR, CPU_FACTOR * cost))

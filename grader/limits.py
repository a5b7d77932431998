"""Each test's limits, from what our reference costs on it.

The golden set records the CPU seconds the reference spent on every scenario (`GoldenSet.costs`,
measured when the set is made). A test may use `CPU_FACTOR` times that, never less than
`CPU_FLOOR` nor more than the rubric's `test_seconds`; CPU time, not wall time, so the verdict is
the same on an idle and on a loaded host. Above it a wall-clock cap stops code that sleeps or
waits (`wall_cap`), loose enough that load never reaches it first for code within its CPU
limit. Without a recorded cost (the set being made, an old set) the rubric's `test_seconds` is
the CPU limit.
"""

from __future__ import annotations

from dataclasses import dataclass

CPU_FACTOR = 50.0
CPU_FLOOR = 1.0
WALL_FACTOR = 3.0
WALL_EXTRA = 2.0


@dataclass(frozen=True)
class TestLimits:
    cpu_seconds: float
    wall_seconds: float


def test_limits(test_seconds: float, cost: float | None) -> TestLimits:
    """The limits of one test whose reference cost `cost` CPU seconds (None: not known)."""
    cpu = test_seconds if cost is None else min(test_seconds, max(CPU_FLOOR, CPU_FACTOR * cost))
    return TestLimits(cpu_seconds=cpu, wall_seconds=wall_cap(cpu))


def wall_cap(cpu_seconds: float) -> float:
    return WALL_FACTOR * cpu_seconds + WALL_EXTRA

"""Wait estimates and the live status line, as pure functions of measured gradings.

`measure` reads the last graded uploads: how long a grading takes (their wall times), how many
slots grade at once (the most runs seen overlapping, or running now), and the service rate the
queue really got while it was backed up (the spacing of claims while uploads waited), which
includes what wall times miss: claiming, dispatch, a worker's training runs between gradings,
CPU shared with them. `queue_wait` then plays the queue forward: each busy slot frees when its
grading is expected to end (given how long it has run already) or its measured cycle is over,
each job ahead takes the next free slot for one cycle, and ours ends one grading after it
starts. The range comes from the same play with the quicker
and slower quarter of the measured gradings.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MIN_GAPS = 3
"""Claims under backlog needed before their spacing replaces the wall times as the rate."""
RATE_GAPS = 20
"""The rate is measured over the last this many claims under backlog (the current load)."""


@dataclass(frozen=True)
class Measure:
    """What recent gradings say about the service."""

    durations: tuple[float, ...]
    """Wall seconds of the recent gradings (claim to result)."""
    slots: int
    """Gradings that run at once."""
    cycle: float | None = None
    """Seconds a slot spent per job while the queue was backed up; None when not seen."""


@dataclass(frozen=True)
class Estimate:
    """Seconds until graded: the likeliest, and a range."""

    seconds: float
    low: float
    high: float


def measure(runs: Sequence[tuple[datetime, datetime, datetime]], *, running: int
            ) -> Measure | None:
    """The measure of recent (received, started, finished) runs, oldest first, with `running`
    gradings under way now; None before any grading."""
    if not runs:
        return None
    durations = tuple(max((f - s).total_seconds(), 0.0) for _, s, f in runs)
    slots = max(_most_overlapping(runs), running, 1)
    starts = sorted(runs, key=lambda r: r[1])
    gaps = [(b[1] - a[1]).total_seconds() for a, b in zip(starts, starts[1:], strict=False)
            if b[0] <= a[1]][-RATE_GAPS:]  # b waited while a was claimed: backed up
    # the mean, not the median: a worker that claims two, then runs two training runs, has
    # gaps of 0.7 s and 9 s, and its rate is their mean
    cycle = slots * statistics.fmean(gaps) if len(gaps) >= MIN_GAPS else None
    return Measure(durations, slots, cycle)


def _most_overlapping(runs: Sequence[tuple[datetime, datetime, datetime]]) -> int:
    events = sorted([(s, 1) for _, s, _ in runs] + [(f, -1) for _, _, f in runs])
    busy = most = 0
    for _, step in events:
        busy += step
        most = max(most, busy)
    return most


def queue_wait(position: int, *, measured: Measure | None, running_elapsed: Sequence[float],
               last_claim_ago: float | None = None) -> Estimate | None:
    """Seconds until the submission at `position` (1: next) is graded; None without a measure.
    `running_elapsed`: how long each grading under way now has run; `last_claim_ago`: seconds
    since the latest claim (a slot that just finished one may still be busy between jobs, as a
    measured cycle longer than a grading says)."""
    if position <= 0 or measured is None:
        return None
    ordered = sorted(measured.durations)
    mid = statistics.median(ordered)
    plays = []
    for quantile in (0.25, 0.5, 0.75):
        scale = _quantile(ordered, quantile) / mid if mid else 1.0
        own = mid * scale
        per_job = max(own, (measured.cycle or 0.0) * scale)
        left = [max(_remaining(ordered, e) * scale, per_job - e) for e in running_elapsed]
        slots = max(measured.slots, len(left))
        idle = max(per_job - last_claim_ago, 0.0) if last_claim_ago is not None else 0.0
        left += [idle] * (slots - len(left))
        plays.append(_play(position, left, slots, per_job, own))
    low, likely, high = plays
    return Estimate(likely, min(low, likely * 0.8), max(high, likely * 1.25))


def _quantile(ordered: Sequence[float], q: float) -> float:
    at = q * (len(ordered) - 1)
    below = ordered[math.floor(at)]
    return below + (ordered[math.ceil(at)] - below) * (at - math.floor(at))


def _remaining(ordered: Sequence[float], elapsed: float) -> float:
    """Expected seconds left of a grading that has run `elapsed`: the median of what the
    measured gradings longer than that had left; past every one of them, a quarter more."""
    longer = [d - elapsed for d in ordered if d > elapsed]
    return statistics.median(longer) if longer else elapsed * 0.25


def _play(position: int, left: Sequence[float], slots: int, per_job: float, own: float
          ) -> float:
    """When the job at `position` is done: slots free at `left` (busy) or now (idle); each
    job ahead holds the first free slot for `per_job`; ours then takes `own`."""
    free = list(left) + [0.0] * max(slots - len(left), 0)
    heapq.heapify(free)
    for _ in range(position - 1):
        heapq.heappush(free, heapq.heappop(free) + per_job)
    return heapq.heappop(free) + own


def live_line(status: dict[str, Any], *, running: dict[str, Any] | None) -> str:
    """The sentence the live status line shows (the page's first render and its polling)."""
    if status["status"] == "queued":
        if not status["queue_position"]:
            return "Queued…"
        line = f"Position {status['queue_position']} in the queue"
        wait = status.get("wait_seconds")
        if not wait:
            return line + "."
        low, high = status.get("wait_low") or wait, status.get("wait_high") or wait
        return line + f", about {_seconds(wait)} until graded ({_range(low, high)})."
    if running is None:
        return "Being graded now…"
    line = f"Being graded: {_seconds(running['elapsed'])} so far"
    if running.get("typical"):
        line += f" (a grading usually takes about {_seconds(running['typical'])})"
    progress = running.get("progress") or {}
    if running.get("golden_ready") is False:
        line += ("; first the service makes this assignment's reference answers (once, about a "
                 "minute)")
    elif progress.get("test") and progress.get("total"):
        line += (f"; running test {progress['done'] + 1} of {progress['total']}: "
                 f"{progress['test']}")
    elif progress.get("total") and progress.get("done") == progress.get("total"):
        line += "; comparing your outputs"
    return line + "."


def _seconds(value: float) -> str:
    value = math.ceil(value)
    if value < 90:
        return f"{value} s"
    return f"{value // 60} min {value % 60:02d} s"


def _range(low: float, high: float) -> str:
    """`25–50 s`, or `50 s–2 min 10 s` when the units differ."""
    low_text, high_text = _seconds(low), _seconds(high)
    if low_text.endswith(" s") and high_text.endswith(" s") and "min" not in low_text + \
            high_text:
        return f"{low_text[:-2]}–{high_text}"
    return f"{low_text}–{high_text}"

"""Wait estimates and the live status line, as pure functions of measured gradings.

`typical` is the median wall time of recent graded uploads (crud.recent_grading_seconds);
`running_since` says when each busy worker claimed what it grades. A submission at place `p`
waits for a free worker (the earliest-started one's remaining time), then for one typical grading
per round of the busy workers ahead of it, then for its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def queue_wait(position: int, *, typical: float | None, running_since: Sequence[datetime],
               now: datetime) -> int | None:
    """Seconds until the submission at `position` (1: next) is graded; None without a measure."""
    if position <= 0 or not typical:
        return None
    workers = max(len(running_since), 1)
    first_free = 0.0
    if running_since:
        elapsed = max((now - t).total_seconds() for t in running_since)
        first_free = max(typical - elapsed, 0.0)
    rounds_ahead = math.ceil(position / workers) - 1
    return math.ceil(first_free + rounds_ahead * typical + typical)


def live_line(status: dict[str, Any], *, running: dict[str, Any] | None) -> str:
    """The sentence the live status line shows (the page's first render and its polling)."""
    if status["status"] == "queued":
        if not status["queue_position"]:
            return "Queued…"
        line = f"Position {status['queue_position']} in the queue"
        wait = status.get("wait_seconds")
        return line + (f", about {_seconds(wait)} until graded." if wait else ".")
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

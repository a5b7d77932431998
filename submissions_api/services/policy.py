"""Deadlines, late penalties and submission limits as pure functions (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """When a student may submit: on time until `deadline`, late (penalised) until
    `late_deadline`."""

    deadline: datetime | None
    late_deadline: datetime | None
    penalty: float
    extended: bool = False
    """An extension moved this student's deadline."""


@dataclass(frozen=True)
class Timing:
    accepted: bool
    late: bool
    penalty: float
    reason: str = ""


def window_for(*, deadline: datetime | None, late_deadline: datetime | None, penalty: float,
               extension_deadline: datetime | None = None,
               extension_late_deadline: datetime | None = None) -> Window:
    """The student's window: an extension moves the deadline; its late deadline, when not given,
    keeps the assignment's grace period after the new deadline."""
    if extension_deadline is None:
        return Window(deadline, late_deadline, penalty)
    late = extension_late_deadline
    if late is None and deadline is not None and late_deadline is not None:
        late = extension_deadline + (late_deadline - deadline)
    return Window(extension_deadline, late, penalty, extended=True)


def deadline_problem(deadline: datetime | None, late_deadline: datetime | None,
                     zone: str = "UTC") -> str | None:
    """Why a pair of deadlines is impossible (a sentence for the instructor), or None."""
    if late_deadline is None:
        return None
    if deadline is None:
        return ("A late deadline needs a deadline: set the deadline too, or clear the late "
                "deadline.")
    if late_deadline <= deadline:
        return (f"The late deadline ({course_time(late_deadline, zone)}) must come after the "
                f"deadline ({course_time(deadline, zone)}): late submissions are the ones after "
                "the deadline.")
    return None


def course_time(moment: datetime, zone: str = "UTC") -> str:
    """A moment as a sentence shows it: in the course's time zone (MLPGRADE_TIMEZONE), with the
    UTC beside when that is another zone."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if zone == "UTC":
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"{utc.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M %Z} ({utc:%Y-%m-%d %H:%M} UTC)"


def classify(received_at: datetime, window: Window) -> Timing:
    """On time, late with the penalty, or refused after the last deadline."""
    if window.deadline is None or received_at <= window.deadline:
        return Timing(accepted=True, late=False, penalty=0.0)
    if window.late_deadline is not None and received_at <= window.late_deadline:
        return Timing(accepted=True, late=True, penalty=window.penalty)
    last = window.late_deadline or window.deadline
    return Timing(accepted=False, late=True, penalty=1.0,
                  reason=f"submissions closed at {last.isoformat()}")


def limit_refusal(*, counted: int, last_received: datetime | None, limit: int | None,
                  cooldown_seconds: int, now: datetime) -> tuple[str, int] | None:
    """Why a new submission is refused (message, seconds to wait) or None. Only submissions that
    count (not those failed by our infrastructure) are passed in."""
    if limit is not None and counted >= limit:
        return f"submission limit reached: {counted} of {limit} used", 0
    if cooldown_seconds and last_received is not None:
        ready = last_received + timedelta(seconds=cooldown_seconds)
        if now < ready:
            wait = int((ready - now).total_seconds()) + 1
            return f"please wait {wait} s between submissions (cooldown {cooldown_seconds} s)", wait
    return None

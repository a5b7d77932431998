"""The one retry policy for our own failures (grading, training, golden-set jobs, the reaper).

A failure of ours costs the student nothing: it is retried with exponential backoff
(`retry_backoff`, doubled each time) until `infra_retries` retries are spent, then given up
(`failed`, recorded with the reason for staff).
"""

from __future__ import annotations

from dataclasses import dataclass

from submissions_api.settings import Settings


@dataclass(frozen=True)
class Retry:
    """Try again after `delay` seconds."""

    delay: float


@dataclass(frozen=True)
class GiveUp:
    """The retry budget is spent."""


def next_attempt(failures: int, settings: Settings) -> Retry | GiveUp:
    """What to do after the `failures`-th failure in a row (1 for the first)."""
    if failures > settings.infra_retries:
        return GiveUp()
    return Retry(delay=settings.retry_backoff * 2 ** (failures - 1))

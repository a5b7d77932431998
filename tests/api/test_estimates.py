"""Wait estimates from measured gradings and the live status line (services/estimates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from submissions_api.services.estimates import live_line, queue_wait

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_queue_wait_counts_the_running_grading_and_our_own():
    # a 43 s grading began 10 s ago on the one busy worker: next in line waits 33 + 43 s
    assert queue_wait(1, typical=43, running_since=[NOW - timedelta(seconds=10)], now=NOW) == 76


def test_queue_wait_rounds_of_busy_workers():
    started = [NOW - timedelta(seconds=40), NOW - timedelta(seconds=5)]
    # two busy workers; place 3 waits for the first free (0 s), one round (40 s), then its own
    assert queue_wait(3, typical=40, running_since=started, now=NOW) == 80


def test_queue_wait_idle_service_is_one_grading():
    assert queue_wait(1, typical=43, running_since=[], now=NOW) == 43
    assert queue_wait(1, typical=None, running_since=[], now=NOW) is None
    assert queue_wait(0, typical=43, running_since=[], now=NOW) is None


def test_live_line_says_elapsed_typical_and_the_running_test():
    status = {"status": "running", "queue_position": 0}
    running = {"elapsed": 12, "typical": 43.2,
               "progress": {"done": 6, "total": 25, "test": "Linear backward"}}
    assert live_line(status, running=running) == (
        "Being graded: 12 s so far (a grading usually takes about 44 s); running test 7 of 25: "
        "Linear backward.")


def test_live_line_queued():
    status = {"status": "queued", "queue_position": 2, "wait_seconds": 130}
    assert live_line(status, running=None) == \
        "Position 2 in the queue, about 2 min 10 s until graded."


def test_live_line_says_the_golden_set_is_being_made():
    running = {"elapsed": 20, "typical": None, "progress": None, "golden_ready": False}
    assert live_line({"status": "running", "queue_position": 0}, running=running) == (
        "Being graded: 20 s so far; first the service makes this assignment's reference answers "
        "(once, about a minute).")

"""The forked reader (grader/forkread.py) that parses uploads: a fresh child per read, its
limits enforced, nothing of one read visible to the next, its answer read under a cap, and a
server that died replaced without the caller noticing."""

from __future__ import annotations

import ast
import time

import pytest

from grader import forkread
from grader.errors import InfrastructureError

LIMITS = (2, 512 * 1024**2, 5)  # cpu s, address space, wall s
R = "tests.grader.readers:"


def test_a_read_answers_and_costs_milliseconds():
    assert forkread.call(R + "echo", b"hello", limits=LIMITS, cap=100) == b"hello"
    start = time.perf_counter()
    for _ in range(20):
        assert forkread.call(R + "echo", b"x" * 100_000, limits=LIMITS, cap=200_000) \
            == b"x" * 100_000
    assert (time.perf_counter() - start) / 20 < 0.05  # a fork, not an interpreter (≈ 70 ms)


def test_nothing_of_one_read_reaches_the_next():
    first = ast.literal_eval(forkread.call(R + "remember", b"one", limits=LIMITS,
                                           cap=10_000).decode())
    second = ast.literal_eval(forkread.call(R + "remember", b"two", limits=LIMITS,
                                            cap=10_000).decode())
    assert first[0] == [b"one"] and second[0] == [b"two"]  # module state: fresh
    assert second[1] == ""  # environment: fresh
    assert second[2] == first[2]  # no descriptor left open for the next child


@pytest.mark.parametrize("handler, limit", [("spin", "cpu"), ("sleep", "wall"),
                                            ("hog", "memory")])
def test_a_child_over_a_limit_dies_and_answers_nothing(handler, limit):
    start = time.perf_counter()
    assert forkread.call(R + handler, b"", limits=(1, 256 * 1024**2, 2), cap=10) == b""
    assert time.perf_counter() - start < 10, limit


def test_an_answer_over_the_cap_is_our_error_not_read():
    with pytest.raises(InfrastructureError, match="more than"):
        forkread.call(R + "flood", b"", limits=LIMITS, cap=1000)


def test_a_dead_server_is_replaced():
    assert forkread.call(R + "echo", b"a", limits=LIMITS, cap=10) == b"a"
    process = forkread._server["process"]
    process.kill()
    process.wait()
    assert forkread.call(R + "echo", b"b", limits=LIMITS, cap=10) == b"b"
    assert forkread._server["process"] is not process

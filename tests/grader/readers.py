"""Handlers for tests/grader/test_forkread.py, run in the reader server's forked children."""

from __future__ import annotations

import os
import time

SEEN: list[bytes] = []


def echo(payload: bytes) -> bytes:
    return payload


def remember(payload: bytes) -> bytes:
    """What this process has seen, and whether an earlier child's traces are here."""
    SEEN.append(payload)
    leftover = os.environ.get("MLPGRADE_EARLIER", "")
    os.environ["MLPGRADE_EARLIER"] = payload.decode()
    fds = len(os.listdir("/proc/self/fd"))
    return repr((SEEN, leftover, fds)).encode()


def spin(_payload: bytes) -> bytes:
    while True:
        pass


def sleep(_payload: bytes) -> bytes:
    time.sleep(3600)
    return b"woke"


def hog(_payload: bytes) -> bytes:
    return b"x" * (1 << 30)


def flood(_payload: bytes) -> bytes:
    return b"y" * (1 << 20)


def similarity_dies_on_marker(payload: bytes) -> bytes:
    """grader.similarity.isolated's handler, except that a parse of a file holding `KILLME`
    spins until the CPU limit kills the child (as a parse too slow for its limits would)."""
    import json

    from grader.similarity.isolated import answer
    spec = json.loads(payload)
    if any("KILLME" in text for path, text in spec["sources"].items()
           if path not in spec["tokens_only"]):
        spin(payload)
    return answer(payload)

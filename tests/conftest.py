"""Shared fixtures: golden sets made once per session in a temporary MLPGRADE_HOME-like folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.rubric import load_assignment

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def golden_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("golden")


@pytest.fixture(scope="session")
def golden_s20(golden_root):
    from grader.golden.canary import generate_golden

    return generate_golden(load_assignment("hw1p1-s20"), golden_root)


@pytest.fixture(scope="session")
def golden_s21(golden_root):
    from grader.golden.canary import generate_golden

    return generate_golden(load_assignment("hw1p1-s21"), golden_root)


@pytest.fixture(scope="session")
def sandbox():
    """The backend grading tests run through (MLPGRADE_TEST_SANDBOX, default bwrap)."""
    from grader.sandbox import get_sandbox

    return get_sandbox(os.environ.get("MLPGRADE_TEST_SANDBOX", "bwrap"))


@pytest.fixture(scope="session")
def browser():
    """Chromium (Playwright), one for the whole session: tests/pages and tests/lms share it
    (a second Playwright started in the same session fails)."""
    from tests.pages.conftest import chromium
    yield from chromium()


#: (test, processes) for each test after which a sandbox process nobody holds appeared: a stray
#: (a docker job's uid, or a slot uid no job holds) fails only the sandbox checks of its own
#: job, so where each one came from is printed at the end of the session.
STRAYS: list[tuple[str, str]] = []


def _strays() -> set[int]:
    """Live processes of the docker job uid, and of slot uids no job holds."""
    from grader.sandbox.image import USER_UID
    from grader.sandbox.linux.procs import processes_of
    from grader.sandbox.linux.uids import idle_slot_processes

    return set(processes_of(USER_UID) + idle_slot_processes())


_seen: set[int] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """After a test and whatever fixtures end with it (a module's stack ends with its last
    test): the sandbox processes that appeared since the last look."""
    yield
    now = _strays()
    new = sorted(now - _seen)
    _seen.clear()
    _seen.update(now)
    if new:
        from tests.sandbox.probes import describe

        STRAYS.append((item.nodeid, describe(new)))


def pytest_terminal_summary(terminalreporter):
    for nodeid, pids in STRAYS:
        terminalreporter.write_line(f"sandbox processes left after {nodeid}: {pids}")

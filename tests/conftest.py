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

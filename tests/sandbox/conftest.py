"""The sandbox tests' folders: reachable by the sandbox's unprivileged uids."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.sandbox import get_sandbox


@pytest.fixture
def tmp_path():
    """A folder the sandbox's unprivileged uid can reach (pytest's own is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="mlpgrade-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


#: The warm backends: bwrap always, docker with MLPGRADE_TEST_DOCKER=1 (an engine and the image).
WARM = ["bwrap"] + (["docker"] if os.environ.get("MLPGRADE_TEST_DOCKER") == "1" else [])


@pytest.fixture(params=WARM)
def warm(request):
    from grader.sandbox.slot import SlotSandbox

    kept = get_sandbox(request.param)  # this process's, kept: a warm one of our own instead
    sandbox = SlotSandbox(kept.box, warm=True, **kept.options)
    yield sandbox
    sandbox.close()

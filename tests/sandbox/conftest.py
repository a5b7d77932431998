"""The sandbox tests' folders: reachable by the sandbox's unprivileged uids."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest


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
    if request.param == "bwrap":
        from grader.sandbox.bwrap import WarmBwrapSandbox

        sandbox = WarmBwrapSandbox()
    else:
        from grader.sandbox.docker import WarmDockerSandbox
        from grader.settings import load_settings

        sandbox = WarmDockerSandbox(load_settings().docker_image)
    yield sandbox
    sandbox.close()

"""The sandbox tests' folders: reachable by the sandbox's unprivileged uids."""

from __future__ import annotations

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

"""Golden sets on a worker host: materialise the database's archive into MLPGRADE_HOME."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.golden import GoldenSet, load_golden

from submissions_api.goldens import unpack_golden


def materialize(*, home: Path, assignment: str, version: str, archive: bytes) -> GoldenSet:
    """The golden set `version`, extracted once per host; load_golden checks its sha256."""
    target = home / "golden" / assignment / version
    if not (target / "manifest.json").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        unpack_golden(archive, work)
        try:
            os.replace(work, target)
        except OSError:  # another process of this host got there first
            shutil.rmtree(work, ignore_errors=True)
    return load_golden(target)

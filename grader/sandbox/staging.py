"""What a job's unprivileged uid must read, made readable: the runner's code and the data.

The code and the data may live where that uid cannot reach (a clone under /root, a home folder
of mode 0700). A staged copy is world-readable and temporary: the caller removes it when the
job is done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def stage_code(code_dir: Path) -> Path:
    """A world-readable temporary copy of the runner's code folder (its *.py files)."""
    staged = Path(tempfile.mkdtemp(prefix="mlpgrade-code-"))
    staged.chmod(0o755)
    for script in code_dir.glob("*.py"):
        shutil.copyfile(script, staged / script.name)
        (staged / script.name).chmod(0o644)
    return staged


def compile_staged(staged: Path, python: Path) -> None:
    """Byte-compile a staged code folder with the interpreter that will run it, once for a
    warm slot's life (unchecked: the folder never changes), so no job of the slot compiles our
    modules again. Best effort: a module without its .pyc is simply compiled when imported."""
    try:
        subprocess.run([str(python), "-I", "-m", "compileall", "-q", "--invalidation-mode",
                        "unchecked-hash", str(staged)], timeout=60, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        pass


def reachable_by_others(path: Path) -> bool:
    """Whether an unprivileged uid can reach `path`: every folder on the way is searchable by
    others."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


def stage_data(data_dir: Path, always: bool = False) -> Path | None:
    """The training data folder as a slot's uid can read it: None when the folder itself is
    reachable (unless `always`), else a world-readable temporary folder of hard links (copies
    across file systems). The docker backend stages always: the engine binds paths of its own
    host, where only the temporary folder is sure to be the same (docker-compose.yml)."""
    if reachable_by_others(data_dir) and not always:
        return None
    staged = Path(tempfile.mkdtemp(prefix="mlpgrade-data-"))
    staged.chmod(0o755)
    for item in data_dir.iterdir():
        try:
            os.link(item, staged / item.name)
        except OSError:
            shutil.copyfile(item, staged / item.name)
            (staged / item.name).chmod(0o644)
    return staged

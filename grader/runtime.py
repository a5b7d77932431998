"""The student runtime: a Python with only the packages the course's students had.

Real 2020 hand-ins rely on NumPy 1.x behaviour (`np.zeros(None)`, `np.float`), so they run under the
assignment's pinned NumPy, not the service's. The runtime is a virtual environment without pip,
made once per pinned set by `mlpgrade runtime install`.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from grader.errors import InfrastructureError
from grader.settings import GraderSettings

log = logging.getLogger(__name__)


def runtime_dir(packages: tuple[str, ...], settings: GraderSettings) -> Path:
    """Folder of the venv for this pinned package set, e.g. runtimes/py3.11-numpy-1.23.5-...."""
    tag = "-".join(p.replace("==", "-") for p in sorted(packages))
    return settings.runtimes_root / f"py{sys.version_info.major}.{sys.version_info.minor}-{tag}"


def runtime_python(packages: tuple[str, ...], settings: GraderSettings) -> Path:
    """The python executable of the installed runtime; InfrastructureError if it is not
    installed."""
    if settings.runtime_python is not None:
        if not settings.runtime_python.exists():
            raise InfrastructureError(f"MLPGRADE_RUNTIME={settings.runtime_python} does not exist")
        return settings.runtime_python
    python = runtime_dir(packages, settings) / "bin" / "python"
    if not python.exists():
        raise InfrastructureError(
            f"the student runtime ({', '.join(packages)}) is not installed: "
            "run `mlpgrade runtime install`"
        )
    return python


def install_runtime(packages: tuple[str, ...], settings: GraderSettings) -> Path:
    """Create the runtime venv (idempotent, and safe when two installs run at once: the second
    waits for the first) and return its python."""
    import fcntl

    target = runtime_dir(packages, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_locked(target, packages)


def _install_locked(target: Path, packages: tuple[str, ...]) -> Path:
    python = target / "bin" / "python"
    if python.exists() and (target / ".complete").exists():
        _build_font_cache(target)
        return python
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    # --copies: the sandbox mounts this folder alone, so the interpreter must not be a symlink
    # into the host's Python installation.
    subprocess.run([sys.executable, "-m", "venv", "--copies", str(work)], check=True)
    pip = [str(work / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input"]
    subprocess.run([*pip, *packages], check=True)
    # The students had no pip; neither does the runtime once it is built.
    subprocess.run([str(work / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q",
                    "setuptools", "pip"], check=True)
    _copy_base(work)
    work.rename(target)
    _build_font_cache(target)
    (target / ".complete").write_text("\n".join(packages) + "\n")
    log.info("installed student runtime %s", target)
    return python


def _copy_base(venv: Path) -> None:
    """Copy what the venv needs from the base interpreter (its standard library, without
    site-packages, and libpython) into venv/base/, recorded in venv/base/origin.json.

    The sandbox binds these copies at their original paths: the originals may sit where the
    sandbox's unprivileged uid cannot reach them (e.g. under /root), and the base's
    site-packages (the service's own packages) must stay out of the student's reach."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    stdlib = base / "lib" / f"python{version}"
    skip = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}
    shutil.copytree(stdlib, venv / "base" / "stdlib", symlinks=True,
                    ignore=lambda d, names: [n for n in names if Path(d) == stdlib and n in skip])
    (venv / "base" / "stdlib" / "site-packages").mkdir()  # empty: the base's packages stay out
    libs = []
    for lib in (base / "lib").glob(f"libpython{version}*.so*"):
        shutil.copy2(lib, venv / "base" / lib.name)
        libs.append(lib.name)
    (venv / "base" / "origin.json").write_text(json.dumps(
        {"prefix": str(base), "version": version, "libs": libs}))


def _build_font_cache(target: Path) -> None:
    """Build matplotlib's font cache once into <runtime>/mplconfig, read-only in the sandbox.

    Without it every sandboxed run would rebuild the cache in an empty /tmp, adding about a
    second to each hand-in that imports matplotlib (real ones do, at the top of their modules).
    """
    cache = target / "mplconfig"
    if cache.is_dir() or not any(target.glob("lib/python*/site-packages/matplotlib")):
        return
    cache.mkdir()
    env = {"MPLCONFIGDIR": str(cache), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    subprocess.run([str(target / "bin" / "python"), "-c", "import matplotlib.pyplot"],
                   env=env, check=True)
    for path in cache.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    cache.chmod(0o755)

"""What the student runtime needs to run in a box that holds nothing else.

The student runtime (the venv) goes to `RUNTIME` in every isolating backend: bwrap binds it
there, the grading image holds it there (`grader.sandbox.image`). Besides it, the sandbox binds
read-only (and the image holds) exactly what `runtime_mounts` lists: the copies of the base
interpreter's standard library (with an empty site-packages) and libpython at their original
paths (see `grader.runtime`), and every system library `ldd` lists for the interpreter and its
extension modules. Nothing of the host's folders is visible around them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

#: Where the student runtime (the venv) is inside the sandbox: `sys.prefix` there, so the runner
#: finds the prebuilt font cache at /runtime/mplconfig (`base.FONT_CACHE`) in bwrap and docker.
RUNTIME = "/runtime"

#: glibc dlopens libgcc_s when a thread exits; `ldd` does not list it.
DLOPENED = ("/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/aarch64-linux-gnu/libgcc_s.so.1")


@cache
def runtime_mounts(runtime_python: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, source, destination) read-only mounts the runtime needs besides itself, kind
    "dir" or "file".

    Saved next to the runtime (`base/runtime-mounts.json`): ldd over every extension costs
    ~0.5 s."""
    python = Path(runtime_python)
    venv = python.parent.parent
    saved = venv / "base" / "runtime-mounts.json"
    if saved.is_file():
        return tuple(tuple(m) for m in json.loads(saved.read_text()))
    origin = json.loads((venv / "base" / "origin.json").read_text())
    prefix, version = Path(origin["prefix"]), origin["version"]
    stdlib = prefix / "lib" / f"python{version}"
    mounts = [("dir", str(venv / "base" / "stdlib"), str(stdlib))]
    mounts += [("file", str(venv / "base" / name), str(prefix / "lib" / name))
               for name in origin["libs"]]
    for lib in sorted(_libraries(python, venv)):
        if lib.startswith(str(venv) + os.sep) or lib.startswith(str(prefix) + os.sep):
            continue
        if Path(lib).exists():
            mounts.append(("file", os.path.realpath(lib), lib))
    try:
        saved.write_text(json.dumps(mounts))
    except OSError:
        pass  # a read-only runtime: ldd runs again next time
    return tuple(mounts)


def runtime_python_inside(runtime_python: Path) -> str:
    """The runtime's interpreter as the sandbox sees it, under `RUNTIME`."""
    return f"{RUNTIME}/{runtime_python.relative_to(runtime_python.parent.parent)}"


def _libraries(python: Path, venv: Path) -> set[str]:
    """The shared libraries the interpreter and the venv's extension modules load."""
    objects = [str(python)] + [str(p) for p in venv.rglob("*.so*") if p.is_file()]
    libs: set[str] = set()
    for start in range(0, len(objects), 100):
        out = subprocess.run(["ldd", *objects[start:start + 100]], capture_output=True,
                             text=True).stdout
        for match in re.finditer(r"(?:=>\s*)?(/\S+\.so[.\d]*)\s+\(0x", out):
            libs.add(match.group(1))
    libs.update(extra for extra in DLOPENED if Path(extra).exists())
    return libs

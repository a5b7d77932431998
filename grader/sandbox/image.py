"""Build the docker grading image without a registry: `docker import` of a minimal root filesystem.

The root filesystem holds the student runtime at /runtime (the venv), the copies of the base
standard library and libpython at their original paths, the system libraries `ldd` lists, and
empty mount points. Nothing else: no shell, no package manager, no service code.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from grader.sandbox.isolation import runtime_mounts

MOUNT_POINTS = ("tmp", "out", "handin", "grader", "data", "proc", "dev", "etc")


def _add_dir(tar: tarfile.TarFile, name: str, seen: set[str]) -> None:
    parts = Path(name.strip("/")).parts
    for i in range(1, len(parts) + 1):
        path = "/".join(parts[:i])
        if path not in seen:
            info = tarfile.TarInfo(path)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if path == "tmp" else 0o755
            tar.addfile(info)
            seen.add(path)


def write_rootfs(runtime_python: Path, target: Path) -> Path:
    """Write the image's root filesystem as a tarball at `target`."""
    venv = runtime_python.parent.parent
    seen: set[str] = set()
    with tarfile.open(target, "w") as tar:
        for point in MOUNT_POINTS:
            _add_dir(tar, point, seen)
        passwd = b"root:x:0:0::/:/nonexistent\ngrader:x:10001:10001::/tmp:/nonexistent\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode = len(passwd), 0o644
        tar.addfile(info, io.BytesIO(passwd))
        _add_dir(tar, "runtime", seen)
        for path in sorted(venv.iterdir()):
            if path.name != "base":  # the base copies go to their original paths below
                tar.add(path, arcname=f"runtime/{path.name}")
        for kind, source, dest in runtime_mounts(str(runtime_python)):
            if dest.startswith(str(venv)):
                continue
            _add_dir(tar, str(Path(dest).parent), seen)
            tar.add(source, arcname=dest.lstrip("/"))
    return target


def build_image(runtime_python: Path, tag: str) -> str:
    """Build and `docker import` the image; returns its id."""
    import docker

    client = docker.from_env(timeout=300)
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = write_rootfs(runtime_python, Path(tmp) / "rootfs.tar")
        repository, _, version = tag.partition(":")
        with open(rootfs, "rb") as f:
            client.api.import_image_from_data(f.read(), repository=repository,
                                              tag=version or "latest")
    return client.images.get(tag).id

"""The one way to build the docker backend's grading image: a minimal root filesystem.

The root filesystem holds the student runtime (the venv, with its prebuilt matplotlib font cache)
at /runtime, the copies of the base standard library and libpython at their original paths, the
system libraries `ldd` lists (`grader.sandbox.mounts`: exactly what bwrap binds), an /etc/passwd
naming the job's uid, and empty mount points. Nothing else: no shell, no package manager, no
service code. Two ways to turn it into an image, both from `write_rootfs`:

- `mlpgrade runtime image` (`build_image`): `docker import` of the tarball, no registry needed;
- the Dockerfile's `grading` stage, for hosts that build with `docker build` (docker-compose):
  it runs `mlpgrade runtime image --rootfs` and copies the result into an empty image.

Both are tagged `GraderSettings.docker_image` unless told otherwise.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import docker

from grader.sandbox.mounts import RUNTIME, runtime_mounts

USER_UID = 10001
"""The uid jobs run as inside the container (`grader` in the image's /etc/passwd)."""
MOUNT_POINTS = ("tmp", "out", "handin", "grader", "data", "proc", "dev", "etc")
PASSWD = f"root:x:0:0::/:/nonexistent\ngrader:x:{USER_UID}:{USER_UID}::/tmp:/nonexistent\n"


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
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode = len(PASSWD), 0o644
        tar.addfile(info, io.BytesIO(PASSWD.encode()))
        runtime = RUNTIME.strip("/")
        _add_dir(tar, runtime, seen)
        for path in sorted(venv.iterdir()):
            if path.name != "base":  # the base copies go to their original paths below
                tar.add(path, arcname=f"{runtime}/{path.name}")
        for _kind, source, dest in runtime_mounts(str(runtime_python)):
            _add_dir(tar, str(Path(dest).parent), seen)
            tar.add(source, arcname=dest.lstrip("/"))
    return target


def build_image(runtime_python: Path, tag: str) -> str:
    """Build and `docker import` the image as `tag` (the settings' `docker_image`); its id."""
    client = docker.from_env(timeout=300)
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = write_rootfs(runtime_python, Path(tmp) / "rootfs.tar")
        repository, _, version = tag.partition(":")
        with open(rootfs, "rb") as f:
            client.api.import_image_from_data(f.read(), repository=repository,
                                              tag=version or "latest")
    return client.images.get(tag).id

"""The `docker` box (production): a container of the grading image whose PID 1 is the zygote.

The container has no network, a read-only root, a size-limited tmpfs /tmp, memory = memory+swap,
a pids limit, one CPU, rlimits, a non-root user (the slot's uid as root, else the image's 10001),
no capabilities and no-new-privileges. The hand-in and the code are bound read-only; the output
area is the slot's size-limited tmpfs as root, else the container's own tmpfs, whose files the
zygote sends after each job. The container's stdin stays open for one attached client: jobs go
down it, the zygote's frames come back out of the engine's stdout/stderr multiplexing, and a
worker that dies closes it, so the zygote ends and the container removes itself. The container's
cgroup is the engine's: the zygote reads its counters (kernel files no job can write) and sends
them (`--counters`). The engine is reached through the URL in DOCKER_HOST (a socket proxy in
production: see docker-compose.yml), never a raw socket mounted into anything that handles
student data.

The image (`GraderSettings.docker_image`, MLPGRADE_DOCKER_IMAGE) is built by
`grader.sandbox.image`: the student runtime at /runtime and the libraries it needs, nothing else.
"""

from __future__ import annotations

import dataclasses
import socket
import struct

import docker
import requests
from docker.errors import DockerException
from docker.models.containers import Container
from docker.types import Ulimit

from grader.errors import InfrastructureError
from grader.sandbox.base import (
    INSIDE_CODE,
    INSIDE_DATA,
    INSIDE_HANDIN,
    INSIDE_OUT,
    Limits,
    child_env,
    rlimits,
)
from grader.sandbox.frames import MAX_REPORT, ZygoteFrames
from grader.sandbox.image import USER_UID
from grader.sandbox.linux.uids import kill_uid
from grader.sandbox.slot import (
    EXTRA_PROCESSES,
    INSIDE_ZYGOTE,
    ZYGOTE_CPU_SECONDS,
    Counters,
    Place,
    zygote_command,
)

#: Every container of ours carries it.
LABEL = "mlpgrade.sandbox"


class Engine:
    """The Docker engine and the grading image, checked once."""

    def __init__(self, image: str) -> None:
        try:
            self.client = docker.from_env(timeout=30)
            self.client.ping()
            self.client.images.get(image)
        except (DockerException, requests.RequestException) as exc:
            raise InfrastructureError(f"docker backend unavailable ({image}): {exc}") from exc
        self.image = image

    def create(self, place: Place, user: int, out_tmpfs: bool) -> Container:
        """The slot's container, isolated as the module docstring says, its stdin kept open for
        one attached client. `out_tmpfs`: /out is a tmpfs of the job's disk size."""
        limits = place.job.limits
        mem = f"{limits.memory_mb}m"
        pids = limits.processes + EXTRA_PROCESSES
        # The container's memory cgroup caps the job as a whole: no address-space rlimit. An
        # RLIMIT_NPROC only for a uid no other container has (the slot's own), twice the pids.
        ulimits = [Ulimit(name=name, soft=soft, hard=hard) for name, (soft, hard) in
                   rlimits(dataclasses.replace(limits, cpu_seconds=ZYGOTE_CPU_SECONDS),
                           memory_capped=True,
                           processes=2 * pids if place.uid is not None else None).items()]
        binds = {str(place.handin): {"bind": INSIDE_HANDIN, "mode": "ro"},
                 str(place.code): {"bind": INSIDE_CODE, "mode": "ro"},
                 str(place.zygote): {"bind": INSIDE_ZYGOTE, "mode": "ro"}}
        if place.out is not None:
            binds[str(place.out)] = {"bind": INSIDE_OUT, "mode": "rw"}
        if place.data is not None:
            binds[str(place.data)] = {"bind": INSIDE_DATA, "mode": "ro"}
        api = self.client.api
        host = api.create_host_config(
            binds=binds, network_mode="none", read_only=True,
            tmpfs=_tmpfs(limits, user if out_tmpfs else None), mem_limit=mem,
            memswap_limit=mem, pids_limit=pids, nano_cpus=1_000_000_000, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], init=False, ulimits=ulimits, auto_remove=True)
        created = api.create_container(
            self.image, command=zygote_command(place.job, "--counters"),
            working_dir=INSIDE_HANDIN, user=f"{user}:{user}",
            environment=child_env(home="/tmp"), host_config=host, stdin_open=True,
            # not detached: StdinOnce (docker-py's only way to ask for it)
            detach=False, labels={LABEL: "warm"})
        return self.client.containers.prepare_model({"Id": created["Id"]})


def _tmpfs(limits: Limits, out_uid: int | None) -> dict[str, str]:
    """The container's tmpfs mounts: /tmp, and /out of `out_uid` (the caps of the host's
    OutputArea as root; its owner given, as a mode on a folder the image lacks is not kept)."""
    found = {"/tmp": f"size={limits.disk_mb}m,mode=1777"}
    if out_uid is not None:
        found[INSIDE_OUT] = (f"size={limits.disk_mb}m,nr_inodes=4096,uid={out_uid},"
                             f"gid={out_uid},mode=0700")
    return found


class DockerBox:
    """A container of the grading image whose PID 1 is the zygote, its jobs sent over the
    container's attached stdin; its counters are those the zygote reports."""

    name = "docker"
    isolated, own_uid, job_uid, makes_out, stage_always = True, True, USER_UID, True, True

    def __init__(self, place: Place, *, engine: Engine) -> None:
        self.uid = place.uid
        self.last: Counters | None = None
        self.container: Container | None = None
        try:
            self.container = engine.create(place, place.uid or USER_UID, place.out is None)
            attached = self.container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self.pipes = _Attached(getattr(attached, "_sock", attached))
            self.container.start()
        except (DockerException, requests.RequestException) as exc:
            self.close()
            raise InfrastructureError(f"cannot start the slot's container: {exc}") from exc

    def take(self, frame: dict) -> None:
        self.last = _counters(frame.get("counters"))
        if self.last is None:
            raise InfrastructureError("the slot's container shows its zygote no cgroup counters")

    def counters(self) -> Counters | None:
        return self.last

    def leftover(self) -> bool:
        return False  # the zygote counts what it killed in the box's namespace (`clean`)

    def kill(self) -> None:
        try:
            if self.container is not None:
                self.container.kill()
        except (DockerException, requests.RequestException):
            pass  # ended already
        if self.uid is not None:  # where this host shows the container's processes
            kill_uid(self.uid)

    def close(self) -> None:
        self.kill()
        if hasattr(self, "pipes"):
            self.pipes.sock.close()
        try:
            if self.container is not None:
                self.container.remove(force=True)
        except (DockerException, requests.RequestException):
            pass  # removed itself (auto-remove) or the engine is gone


def _counters(value) -> Counters | None:
    try:
        return Counters(float(value["cpu"]), int(value["oom_kills"]), int(value["pids_max"]))
    except (TypeError, KeyError, ValueError):
        return None


class _Attached:
    """The container's attached stream: `send` writes the zygote's stdin, `frames` reads its
    stdout out of the engine's multiplexing, `log` is what came on its stderr."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.demux = sock, _Demux(sock)
        self.frames = ZygoteFrames(sock.fileno(), self.demux.read)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def log(self) -> str:
        return self.demux.stderr.decode("utf-8", "replace")


class _Demux:
    """The attached socket's stream split back into the zygote's stdout (returned by `read`)
    and its stderr (kept, 64 KiB): the engine frames each piece with an 8-byte header."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf, self.stderr = sock, b"", b""

    def read(self) -> bytes | None:
        try:
            chunk = self.sock.recv(1 << 20)
        except (TimeoutError, BlockingIOError):
            return None
        except OSError:
            return b""
        if not chunk or len(self.buf) > MAX_REPORT:
            return b""
        self.buf += chunk
        out = b""
        while len(self.buf) >= 8:
            (size,) = struct.unpack(">I", self.buf[4:8])
            if len(self.buf) < 8 + size:
                break
            kind, payload, self.buf = self.buf[0], self.buf[8:8 + size], self.buf[8 + size:]
            if kind == 1:
                out += payload
            elif len(self.stderr) < 65536:
                self.stderr += payload[:65536 - len(self.stderr)]
        return out or None

"""The `docker` backend (production): containers of the grading image.

`WarmDockerSandbox` (the default) keeps one warm container per process whose PID 1 is the zygote
(grader/sandbox/warm.py); `DockerSandbox` runs one throwaway container per job (MLPGRADE_WARM=0,
and a warm slot's fallback). Either container has no network, a read-only root, a size-limited
tmpfs /tmp, memory = memory+swap, a pids limit, one CPU, rlimits, a non-root user, no
capabilities and no-new-privileges. The hand-in and the runner code are bound read-only; the
runner writes into an output area that is a size-limited tmpfs on the host as root (as the
bwrap backend does), else a folder. Output is streamed and capped
here, never trusted to Docker's log rotation (which silently truncates a flood). The engine is
reached through the URL in DOCKER_HOST (a socket proxy in production: see docker-compose.yml),
never a raw socket mounted into anything that handles student data.

The image (`GraderSettings.docker_image`, MLPGRADE_DOCKER_IMAGE) is built by
`grader.sandbox.image`: the student runtime at /runtime and the libraries it needs, nothing else.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import socket
import struct
import time
from pathlib import Path

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
    Ending,
    Limits,
    SandboxJob,
    SandboxResult,
    child_env,
    classify,
    rlimits,
    signal_of,
)
from grader.sandbox.image import USER_UID
from grader.sandbox.linux.uids import kill_uid
from grader.sandbox.mounts import runtime_python_inside
from grader.sandbox.output import CappedOutput, OutputArea, drain_in_threads, plant_key
from grader.sandbox.staging import stage_code, stage_data
from grader.sandbox.warm import (
    EXTRA_PROCESSES,
    INSIDE_ZYGOTE,
    MAX_REPORT,
    ZYGOTE_CPU_SECONDS,
    Counters,
    WarmSandbox,
    WarmSlot,
    ZygoteFrames,
    zygote_command,
)

log = logging.getLogger(__name__)
#: Every container of ours carries it ("warm": a slot's, "job": a container per job).
LABEL = "mlpgrade.sandbox"


def volumes(handin: Path, code: Path, out: Path | None, data: Path | None) -> dict:
    """The binds of a job's container: hand-in, runner code and data read-only, output area
    (None: the container's own tmpfs, `create`'s `out_tmpfs`)."""
    binds = {str(handin): {"bind": INSIDE_HANDIN, "mode": "ro"},
             str(code): {"bind": INSIDE_CODE, "mode": "ro"}}
    if out is not None:
        binds[str(out)] = {"bind": INSIDE_OUT, "mode": "rw"}
    if data is not None:
        binds[str(data)] = {"bind": INSIDE_DATA, "mode": "ro"}
    return binds


class DockerSandbox:
    """Runs each job in a fresh container of `image` (see the module docstring)."""

    name = "docker"

    def __init__(self, image: str) -> None:
        try:
            self.client = docker.from_env(timeout=30)
            self.client.ping()
            self.client.images.get(image)
        except (DockerException, requests.RequestException) as exc:
            raise InfrastructureError(f"docker backend unavailable ({image}): {exc}") from exc
        self.image = image
        self.root = os.geteuid() == 0
        self.copies_output = self.root  # OutputArea: a tmpfs area as root

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        area = OutputArea(job.output_dir, limits.disk_mb, USER_UID, self.root)
        code = stage_code(job.code_dir)
        data = stage_data(job.data_dir, always=True) if job.data_dir is not None else None
        container = None
        try:
            if not self.root:
                job.output_dir.chmod(0o777)
            plant_key(area.path, job.secret, USER_UID)
            container = self._create(job, code, area.path, data)
            return self._watch(container, limits, area)
        except InfrastructureError:
            raise
        except Exception as exc:
            raise InfrastructureError(f"docker run failed: {exc}") from exc
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except (DockerException, requests.RequestException):
                    pass  # already gone
            shutil.rmtree(code, ignore_errors=True)
            if data is not None:
                shutil.rmtree(data, ignore_errors=True)
            area.cleanup()

    def _create(self, job: SandboxJob, code: Path, out: Path, data: Path | None) -> Container:
        argv = [runtime_python_inside(job.runtime_python), "-I", "-B",
                f"{INSIDE_CODE}/{job.entry}", "--out", INSIDE_OUT, "--isolated"]
        if data is not None:
            argv += ["--data", INSIDE_DATA]
        return self.create(job.limits, argv + list(job.args),
                           volumes(job.handin_dir, code, out, data), user=USER_UID, init=True)

    def create(self, limits: Limits, command: list[str], binds: dict, *, user: int, init: bool,
               processes: int | None = None, nproc: bool = False, stdin: bool = False,
               out_tmpfs: bool = False) -> Container:
        """A container of the grading image for `command`, isolated as the module docstring
        says. `processes`: its pids limit (default the job's); `nproc`: an RLIMIT_NPROC too
        (twice that, a backstop: only for a uid no other container has); `stdin`: kept open for
        one attached client, closed when it goes (a warm slot's zygote then ends, and the
        container removes itself); `out_tmpfs`: /out is a tmpfs of the job's disk size, as the
        host's output area is as root (a warm slot's zygote sends its files)."""
        mem = f"{limits.memory_mb}m"
        pids = processes or limits.processes
        # The container's memory cgroup caps the job as a whole: no address-space rlimit.
        ulimits = [Ulimit(name=name, soft=soft, hard=hard) for name, (soft, hard) in
                   rlimits(limits, memory_capped=True,
                           processes=2 * pids if nproc else None).items()]
        api = self.client.api
        host = api.create_host_config(
            binds=binds, network_mode="none", read_only=True,
            tmpfs=_tmpfs(limits, user if out_tmpfs else None), mem_limit=mem,
            memswap_limit=mem, pids_limit=pids, nano_cpus=1_000_000_000, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], init=init, ulimits=ulimits, auto_remove=stdin)
        created = api.create_container(
            self.image, command=command, working_dir=INSIDE_HANDIN, user=f"{user}:{user}",
            environment=child_env(home="/tmp"), host_config=host, stdin_open=stdin,
            # not detached: StdinOnce (docker-py's only way to ask for it)
            detach=not stdin, labels={LABEL: "warm" if stdin else "job"})
        return self.client.containers.prepare_model({"Id": created["Id"]})

    def _watch(self, container: Container, limits: Limits, area: OutputArea) -> SandboxResult:
        """Start the container with its output attached, stop it at the wall clock or the
        output cap, and classify how it ended."""
        # Attach before starting: the stream then holds everything, whatever Docker's own log
        # rotation would keep. stdout and stderr come as one stream.
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=False)
        output = CappedOutput(limits.output_bytes)
        readers = drain_in_threads({"stdout": stream}, output)
        start = time.monotonic()
        container.start()
        timed_out = False
        while True:
            container.reload()
            if container.status in ("exited", "dead") or output.exceeded:
                break
            if time.monotonic() - start > limits.wall_seconds:
                timed_out = True
                break
            time.sleep(0.02)
        if container.status not in ("exited", "dead"):
            try:
                container.kill()
            except (DockerException, requests.RequestException):
                pass  # it ended meanwhile
        container.wait(timeout=30)
        wall = time.monotonic() - start
        for reader in readers:
            reader.join(timeout=5)
        container.reload()
        state = container.attrs["State"]
        code, cpu = state.get("ExitCode"), self._cpu(container)
        sig = signal_of(code if isinstance(code, int) else None)
        verdict = classify(Ending(signal=sig, cpu_seconds=cpu, output_exceeded=output.exceeded,
                                  timed_out=timed_out, out_of_memory=bool(state.get("OOMKilled")),
                                  disk_full=area.full()), limits)
        area.collect()
        return SandboxResult(verdict=verdict, exit_code=None if sig else code, signal=sig,
                             stdout=output.bytes_of("stdout"), stderr=b"", wall_seconds=wall,
                             cpu_seconds=cpu, backend=self.name)

    def _cpu(self, container: Container) -> float:
        try:
            stats = container.stats(stream=False)
            return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        except (DockerException, requests.RequestException, KeyError, TypeError):
            return 0.0


def _tmpfs(limits: Limits, out_uid: int | None) -> dict[str, str]:
    """The container's tmpfs mounts: /tmp, and /out of `out_uid` (the caps of the host's
    OutputArea as root; its owner given, as a mode on a folder the image lacks is not kept)."""
    found = {"/tmp": f"size={limits.disk_mb}m,mode=1777"}
    if out_uid is not None:
        found[INSIDE_OUT] = (f"size={limits.disk_mb}m,nr_inodes=4096,uid={out_uid},"
                             f"gid={out_uid},mode=0700")
    return found


class NoCounters(InfrastructureError):
    """The warm container shows no cgroup counters to its zygote: no warm slot here."""


class DockerSlot(WarmSlot):
    """A container of the grading image whose PID 1 is the zygote, as the slot's uid, its jobs
    sent over the container's attached stdin. The container's cgroup is the engine's: the
    zygote reads its counters (kernel files no hand-in can write) and keeps the CPU budget."""

    backend = "docker"
    uid = USER_UID  # not root: the image's job uid, as a container per job has
    stage_always = True  # the engine binds paths of its own host (stage_data)
    cpu_poll = None

    @property
    def sends_output(self) -> bool:  # type: ignore[override]
        """Without root the host mounts no tmpfs area: the container's own /out is one."""
        return not self.root

    def _start_box(self, sandbox: WarmDockerSandbox, job: SandboxJob, code: Path,
                   zygote: Path, data: Path | None) -> None:
        limits = job.limits
        binds = volumes(self.handin, code, None if self.sends_output else self.area.path, data)
        binds[str(zygote)] = {"bind": INSIDE_ZYGOTE, "mode": "ro"}
        try:
            self.container = sandbox.create(
                dataclasses.replace(limits, cpu_seconds=ZYGOTE_CPU_SECONDS),
                zygote_command(job), binds, user=self.uid, init=False,
                processes=limits.processes + EXTRA_PROCESSES, nproc=self.slot is not None,
                stdin=True, out_tmpfs=self.sends_output)
            self._undo.append(self._remove)
            attached = self.container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self.sock = getattr(attached, "_sock", attached)
            self._undo.append(self.sock.close)
            self.demux = _Demux(self.sock)
            self.reader = ZygoteFrames(self.sock.fileno(), self.demux.read)
            self.container.start()
        except (DockerException, requests.RequestException) as exc:
            raise InfrastructureError(f"cannot start the warm container: {exc}") from exc

    def _ready(self, ready: dict) -> None:
        self.last = _counters(ready.get("counters"))
        if self.last is None:
            raise NoCounters("the warm container's zygote cannot read its cgroup")

    def counters(self, report: dict | None) -> Counters:
        if report is not None:
            now = _counters(report.get("counters"))
            if now is None:
                self.healthy = False
            else:
                self.last = now
        return self.last

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def log(self) -> str:
        return self.demux.stderr.decode("utf-8", "replace")

    def kill(self) -> None:
        try:
            self.container.kill()
        except (DockerException, requests.RequestException):
            pass  # ended already
        if self.slot is not None:  # where this host shows the container's processes
            kill_uid(self.uid)

    def _remove(self) -> None:
        try:
            self.container.remove(force=True)
        except (DockerException, requests.RequestException):
            pass  # removed itself (auto-remove) or the engine is gone


def _counters(value) -> Counters | None:
    try:
        return Counters(float(value["cpu"]), int(value["oom_kills"]), int(value["pids_max"]))
    except (TypeError, KeyError, ValueError):
        return None


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


class WarmDockerSandbox(WarmSandbox, DockerSandbox):
    """`DockerSandbox` with one warm slot (grader.sandbox.warm): a long-lived container whose
    PID 1 is the zygote; a fresh container per job where the container shows no counters."""

    name = "docker"
    slot_class = DockerSlot

    def __init__(self, image: str) -> None:
        DockerSandbox.__init__(self, image)
        WarmSandbox.__init__(self)
        self.warm = True

    def run(self, job: SandboxJob) -> SandboxResult:
        if not self.warm:
            return self.cold(job)
        try:
            return WarmSandbox.run(self, job)
        except NoCounters as exc:
            log.warning("docker: no warm slot (%s); a container per job", exc)
            self.warm = False
            return self.cold(job)

    def cold(self, job: SandboxJob) -> SandboxResult:
        return DockerSandbox.run(self, job)

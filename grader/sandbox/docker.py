"""The `docker` backend (production): one throwaway container per job from the grading image.

The container has no network, a read-only root, a size-limited tmpfs /tmp, memory = memory+swap,
a pids limit, one CPU, rlimits, a non-root user, no capabilities, no-new-privileges and an init.
The hand-in and the runner code are bound read-only; the runner writes into an output area that
is a size-limited tmpfs on the host (as the bwrap backend does). Output is streamed and capped
here, never trusted to Docker's log rotation (which silently truncates a flood). The engine is
reached through the URL in DOCKER_HOST (a socket proxy in production: see docker-compose.yml),
never a raw socket mounted into anything that handles student data.

The image (`GraderSettings.docker_image`, MLPGRADE_DOCKER_IMAGE) is built by
`grader.sandbox.image`: the student runtime at /runtime and the libraries it needs, nothing else.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import docker
import requests
from docker.errors import DockerException
from docker.models.containers import Container
from docker.types import Ulimit

from grader.errors import InfrastructureError
from grader.sandbox.base import (
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
from grader.sandbox.mounts import runtime_python_inside
from grader.sandbox.output import CappedOutput, OutputArea, drain_in_threads, plant_key
from grader.sandbox.staging import stage_code, stage_data

log = logging.getLogger(__name__)



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
        limits = job.limits
        mem = f"{limits.memory_mb}m"
        argv = [runtime_python_inside(job.runtime_python), "-I", "-B", f"/grader/{job.entry}",
                "--out", "/out", "--isolated"]
        volumes = {str(job.handin_dir): {"bind": "/handin", "mode": "ro"},
                   str(code): {"bind": "/grader", "mode": "ro"},
                   str(out): {"bind": "/out", "mode": "rw"}}
        if data is not None:
            volumes[str(data)] = {"bind": "/data", "mode": "ro"}
            argv += ["--data", "/data"]
        # The container's memory cgroup caps the job as a whole: no address-space rlimit.
        ulimits = [Ulimit(name=name, soft=soft, hard=hard)
                   for name, (soft, hard) in rlimits(limits, memory_capped=True).items()]
        return self.client.containers.create(
            self.image, command=argv + list(job.args), working_dir="/handin",
            user=f"{USER_UID}:{USER_UID}", network_mode="none", read_only=True,
            tmpfs={"/tmp": f"size={limits.disk_mb}m,mode=1777"}, mem_limit=mem,
            memswap_limit=mem, pids_limit=limits.processes, nano_cpus=1_000_000_000,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            environment=child_env(home="/tmp"), ulimits=ulimits, volumes=volumes, detach=True)

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

"""The `docker` backend (production): one throwaway container per job from the grading image.

The container has no network, a read-only root, a size-limited tmpfs /tmp, memory = memory+swap,
a pids limit, one CPU, rlimits, a non-root user, no capabilities, no-new-privileges and an init.
The hand-in and the runner code are bound read-only; the runner writes into an output area that
is a size-limited tmpfs on the host (as the bwrap backend does). Output is streamed and capped
here, never trusted to Docker's log rotation. The engine is reached through the URL in
DOCKER_HOST (a socket proxy in production: see docker-compose.yml), never a raw socket mounted
into anything that handles student data.

The image is built without a registry by `mlpgrade runtime image` (grader/sandbox/image.py):
a root filesystem of just the student runtime and the libraries it needs, `docker import`ed.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox.base import SandboxJob, SandboxResult, Verdict
from grader.sandbox.bwrap import _OutputArea
from grader.sandbox.isolation import stage_code

log = logging.getLogger(__name__)

IMAGE = os.environ.get("MLPGRADE_DOCKER_IMAGE", "mlpgrade-runtime:hw1p1")
USER_UID = 10001


class DockerSandbox:
    name = "docker"

    def __init__(self, image: str = IMAGE) -> None:
        try:
            import docker

            self.client = docker.from_env(timeout=30)
            self.client.ping()
            self.client.images.get(image)
        except Exception as exc:  # the docker SDK raises many kinds: all are ours to fix
            raise InfrastructureError(f"docker backend unavailable ({image}): {exc}") from exc
        self.image = image
        self.root = os.geteuid() == 0

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        area = _OutputArea(job.output_dir, limits.disk_mb, USER_UID, self.root)
        code = stage_code(job.code_dir)
        container = None
        try:
            if not self.root:
                job.output_dir.chmod(0o777)
            container = self._create(job, code, area.path)
            # Attach before starting: the stream then holds everything, whatever Docker's own
            # log rotation would keep.
            stream = container.attach(stdout=True, stderr=True, stream=True, logs=False)
            start = time.monotonic()
            container.start()
            stdout, over, timed_out = self._stream(container, stream, limits, start)
            wall = time.monotonic() - start
            container.reload()
            state = container.attrs["State"]
            verdict = self._verdict(state, over, timed_out, area)
            area.collect()
            code_ = state.get("ExitCode")
            sig = code_ - 128 if isinstance(code_, int) and 128 < code_ <= 192 else None
            return SandboxResult(verdict=verdict, exit_code=None if sig else code_, signal=sig,
                                 stdout=stdout, stderr=b"", wall_seconds=wall,
                                 cpu_seconds=self._cpu(container), backend=self.name)
        except InfrastructureError:
            raise
        except Exception as exc:
            raise InfrastructureError(f"docker run failed: {exc}") from exc
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except Exception:  # already gone
                    pass
            shutil.rmtree(code, ignore_errors=True)
            area.cleanup()

    def _create(self, job: SandboxJob, code: Path, out: Path):
        from docker.types import Ulimit

        limits = job.limits
        mem = f"{limits.memory_mb}m"
        argv = ["/runtime/bin/python", "-I", "-B", f"/grader/{job.entry}", "--out", "/out",
                "--isolated"]
        volumes = {str(job.handin_dir): {"bind": "/handin", "mode": "ro"},
                   str(code): {"bind": "/grader", "mode": "ro"},
                   str(out): {"bind": "/out", "mode": "rw"}}
        if job.data_dir is not None:
            volumes[str(job.data_dir)] = {"bind": "/data", "mode": "ro"}
            argv += ["--data", "/data"]
        return self.client.containers.create(
            self.image, command=argv + list(job.args), working_dir="/handin",
            user=f"{USER_UID}:{USER_UID}", network_mode="none", read_only=True,
            tmpfs={"/tmp": f"size={limits.disk_mb}m,mode=1777"}, mem_limit=mem,
            memswap_limit=mem, pids_limit=limits.processes, nano_cpus=1_000_000_000,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], init=True,
            environment={"HOME": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                         "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
            ulimits=[Ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds + 1),
                     Ulimit(name="fsize", soft=limits.disk_mb << 20, hard=limits.disk_mb << 20),
                     Ulimit(name="core", soft=0, hard=0),
                     Ulimit(name="nofile", soft=256, hard=256)],
            volumes=volumes, detach=True)

    def _stream(self, container, stream, limits, start: float) -> tuple[bytes, bool, bool]:
        """Read the container's output (stdout and stderr together) up to the cap, with the wall
        clock running; kill the container when either is exceeded."""
        chunks, total, over = [], 0, False
        done = threading.Event()

        def pump() -> None:
            nonlocal total, over
            try:
                for chunk in stream:
                    room = limits.output_bytes - total
                    if room > 0:
                        chunks.append(chunk[:room])
                    total += len(chunk)
                    if total > limits.output_bytes:
                        over = True
                        return
            finally:
                done.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        while True:
            container.reload()
            if container.status in ("exited", "dead"):
                break
            if over:
                break
            if time.monotonic() - start > limits.wall_seconds:
                timed_out = True
                break
            time.sleep(0.02)
        if container.status not in ("exited", "dead"):
            try:
                container.kill()
            except Exception:
                pass
        container.wait(timeout=30)
        done.wait(timeout=5)
        return b"".join(chunks), over, timed_out

    def _verdict(self, state: dict, over: bool, timed_out: bool, area) -> Verdict:
        if over:
            return Verdict.OUTPUT_LIMIT
        if timed_out:
            return Verdict.WALL_TIMEOUT
        if state.get("OOMKilled"):
            return Verdict.OUT_OF_MEMORY
        if area.full():
            return Verdict.DISK_LIMIT
        code = state.get("ExitCode")
        if isinstance(code, int) and 128 < code <= 192:
            return {24: Verdict.CPU_LIMIT, 25: Verdict.DISK_LIMIT}.get(code - 128, Verdict.KILLED)
        return Verdict.COMPLETED

    def _cpu(self, container) -> float:
        try:
            stats = container.stats(stream=False)
            return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        except Exception:
            return 0.0

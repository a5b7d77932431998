"""Warm slots: the box, the interpreter and the runtime's imports paid once per slot.

A warm sandbox keeps one slot per process (a worker's pool child grades one hand-in at a time):
a box built exactly as its backend builds one for a single job (`WarmBwrapSandbox`: the same
binds, seccomp, slot uid, cgroup, rlimits, size-limited /tmp and output tmpfs as
`BwrapSandbox`; `WarmDockerSandbox`: the same container as `DockerSandbox`'s), whose PID 1 is the
zygote (`grader/inside/zygote.py`). For each job the host copies the hand-in into the slot's
hand-in folder (bound read-only at /handin) and sends the job on the zygote's stdin; the zygote
empties the output area, writes the run's key there, forks a fresh child for the job, kills
every process of the job when it ends, puts the box's writable places back, and reports on its
stdout, which no hand-in can write. The wall clock and the slot's health are enforced here, and
the CPU budget on the box's cgroup counter (here for bwrap; by the zygote for a container, whose
cgroup only the zygote sees): past a limit, or when the zygote reports the box not clean, or
when more processes remain than the zygote, the whole slot is killed and the next job starts a
fresh one. A zygote that dies without the memory limit having fired is our failure, not the
hand-in's: the job is run again in a cold box.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import select
import shutil
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

from grader.errors import InfrastructureError
from grader.sandbox.base import (
    CODE_DIR,
    INSIDE_CODE,
    INSIDE_DATA,
    INSIDE_HANDIN,
    INSIDE_OUT,
    Ending,
    SandboxJob,
    SandboxResult,
    classify,
)
from grader.sandbox.linux.uids import UidLease, lease_uid
from grader.sandbox.mounts import runtime_python_inside
from grader.sandbox.output import OutputArea, ReceivedOutput
from grader.sandbox.staging import compile_staged, stage_code, stage_data

INSIDE_ZYGOTE = "/mlpgrade"
START_SECONDS = 120.0
ZYGOTE_CPU_SECONDS = 10 * 365 * 24 * 3600  # the zygote's own rlimit; each job sets its own
MAX_REPORT = 8 * 1024 * 1024
EXTRA_PROCESSES = 5  # bwrap, the zygote and the job's supervisor, in the slot's pids budget


class WarmSandbox:
    """A backend with one warm slot, kept across jobs (see the module docstring). `slot_class`
    builds the backend's box; `cold` runs a job in a fresh one."""

    slot_class: type[WarmSlot]
    root: bool

    def __init__(self) -> None:
        self.slot: WarmSlot | None = None
        atexit.register(self.close)

    def cold(self, job: SandboxJob) -> SandboxResult:
        raise NotImplementedError

    def run(self, job: SandboxJob) -> SandboxResult:
        key = slot_key(job)
        if self.slot is not None and not self.slot.fits(key, job):
            self.close()
        if self.slot is None:
            self.slot = self.slot_class(self, job, key)
        slot = self.slot
        try:
            result = slot.run(job)
        except ZygoteDied:
            self.close()
            return self.cold(job)
        except BaseException:
            self.close()
            raise
        if not slot.healthy:
            self.close()
        return result

    def close(self) -> None:
        if self.slot is not None:
            self.slot.stop()
            self.slot = None


class ZygoteDied(Exception):
    """The zygote ended without a report and without the memory limit firing."""


def slot_key(job: SandboxJob) -> tuple:
    """What a slot is built for: a job of another key needs a fresh slot."""
    digest = hashlib.sha256()
    for script in sorted(job.code_dir.glob("*.py")):
        digest.update(script.name.encode() + b"\0" + script.read_bytes())
    lim = job.limits
    return (str(job.runtime_python), digest.hexdigest(), lim.memory_mb, lim.processes,
            lim.disk_mb)


class Counters(NamedTuple):
    """A box's cgroup counters: CPU seconds, OOM kills, pids.max hits."""

    cpu: float
    oom_kills: int
    pids_max: int


class WarmSlot:
    """One running box with its zygote, its slot uid, output area and folders. A backend's
    slot starts the box (`_start_box`) and says how its counters and processes are read."""

    backend = ""
    #: As root, a slot uid of its own and a tmpfs output area; else this uid and a folder.
    uid = -1
    stage_always = False  # stage_data's `always`
    #: How often the host reads the box's CPU counter during a job (None: the zygote keeps
    #: the budget, on counters it reports).
    cpu_poll: float | None = 0.05
    #: Whether /out is the box's own size-capped tmpfs, whose files the zygote sends after
    #: each job (where the host cannot mount one: not root); else the host's area is bound.
    sends_output = False

    def __init__(self, sandbox: WarmSandbox, job: SandboxJob, key: tuple) -> None:
        self.key, self.healthy, self.data = key, True, job.data_dir
        self._undo: list = []
        self.root = sandbox.root
        #: The slot's own uid (as root); else the backend's one job uid (`uid`).
        self.slot: UidLease | None = lease_uid() if self.root else None
        if self.slot is not None:
            self._undo.append(self.slot.release)
            self.uid = self.slot.uid
        try:
            self._start(sandbox, job)
        except BaseException:
            self.stop()
            raise

    def fits(self, key: tuple, job: SandboxJob) -> bool:
        return key == self.key and (job.data_dir is None or job.data_dir == self.data)

    def _start(self, sandbox: WarmSandbox, job: SandboxJob) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="mlpgrade-warm-"))
        self.base.chmod(0o755)
        self._undo.append(lambda: shutil.rmtree(self.base, ignore_errors=True))
        self.handin = self.base / "handin"
        self.handin.mkdir(mode=0o755)
        if self.root:  # a tmpfs of the slot's uid, of the job's disk size
            self.area = OutputArea(self.base, job.limits.disk_mb, self.uid, True)
        else:  # a folder the job's uid can write (the zygote empties it)
            (self.base / "out").mkdir()
            (self.base / "out").chmod(0o777)
            self.area = OutputArea(self.base / "out", job.limits.disk_mb, self.uid, False)
        self._undo.append(self.area.cleanup)
        staged = [stage_code(job.code_dir), stage_code(CODE_DIR)]
        for folder in staged:
            compile_staged(folder, job.runtime_python)
        data = (stage_data(job.data_dir, always=self.stage_always)
                if job.data_dir is not None else None)
        staged += [data] if data is not None else []
        self._undo += [lambda p=p: shutil.rmtree(p, ignore_errors=True) for p in staged]
        self._start_box(sandbox, job, staged[0], staged[1], data)
        ready = self.reader.next(time.monotonic() + START_SECONDS)
        if not isinstance(ready, dict) or not ready.get("ready"):
            raise InfrastructureError("the warm sandbox did not start: " + self.log()[:2000])
        self._ready(ready)

    def _start_box(self, sandbox: WarmSandbox, job: SandboxJob, code: Path, zygote: Path,
                   data: Path | None) -> None:
        """Start the box with the zygote as PID 1; set `self.reader` (its frames)."""
        raise NotImplementedError

    def _ready(self, ready: dict) -> None:
        """The zygote said ready (with what it reports)."""

    def counters(self, report: dict | None) -> Counters:
        """The box's counters now (`report`: the zygote's latest report, if any)."""
        raise NotImplementedError

    def cpu_now(self) -> float:
        """The box's CPU counter now, polled during a job (only with `cpu_poll`)."""
        raise NotImplementedError

    def leftover(self) -> bool:
        """Whether more processes remain in the box than before the first job."""
        return False

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def log(self) -> str:
        """What the box itself said on its stderr (its start-up errors)."""
        raise NotImplementedError

    def kill(self) -> None:
        """Every process of the slot dies here (the box, the zygote, whatever the job left)."""
        raise NotImplementedError

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        _refill(self.handin, job.handin_dir)
        before = self.counters(None)
        args = ["--out", INSIDE_OUT, "--isolated"]
        if job.data_dir is not None:
            args += ["--data", INSIDE_DATA]
        frame = {"entry": f"{INSIDE_CODE}/{job.entry}", "args": args + list(job.args),
                 "cwd": INSIDE_HANDIN, "cpu": limits.cpu_seconds, "output": limits.output_bytes,
                 "key": job.secret.hex()}  # the zygote empties /out and writes the run's key
        if self.cpu_poll is None:
            frame["cpu_total"] = limits.cpu_seconds
        if self.sends_output:
            frame["collect"] = True
        self.received = ReceivedOutput(job.output_dir, limits.disk_mb)
        start = time.monotonic()
        self._send(frame)
        self.streams = {"stdout": bytearray(), "stderr": bytearray()}
        report, timed_out, cpu_exceeded = self._wait(start, limits, before.cpu)
        wall = time.monotonic() - start
        after = self.counters(report)
        cpu, oom = after.cpu - before.cpu, after.oom_kills > before.oom_kills
        if report is None:
            self.healthy = False
            self.kill()
            if not (timed_out or cpu_exceeded or oom):
                raise ZygoteDied(self.log()[:2000])
            report = {"signal": 9}
        sig = report.get("signal")
        verdict = classify(Ending(
            signal=sig if isinstance(sig, int) else None, cpu_seconds=cpu,
            output_exceeded=report.get("output_exceeded") is True,
            cpu_exceeded=cpu_exceeded or report.get("cpu_exceeded") is True,
            timed_out=timed_out, out_of_memory=oom,
            process_limit=after.pids_max > before.pids_max,
            disk_full=self.area.full() or report.get("out_full") is True), limits)
        if report.get("clean") is not True or self.leftover():
            self.healthy = False
        self.area.output_dir = job.output_dir
        self.area.collect()
        self.last_report = report
        exit_code = report.get("exit_code")
        return SandboxResult(verdict=verdict, exit_code=exit_code if isinstance(exit_code, int)
                             else None, signal=sig if isinstance(sig, int) else None,
                             stdout=bytes(self.streams["stdout"]),
                             stderr=bytes(self.streams["stderr"]),
                             wall_seconds=wall, cpu_seconds=cpu, backend=self.backend)

    def _send(self, frame: dict) -> None:
        data = json.dumps(frame).encode()
        try:
            self.send(struct.pack("!I", len(data)) + data)
        except OSError as exc:
            raise ZygoteDied(str(exc)) from exc

    def _wait(self, start: float, limits, cpu0: float) -> tuple[dict | None, bool, bool]:
        """The zygote's report, or None with which limit fired (wall, CPU) or neither (EOF)."""
        checked = 0.0
        while True:
            now = time.monotonic()
            if now - start > limits.wall_seconds:
                return None, True, False
            if self.cpu_poll is not None and now - checked >= self.cpu_poll:
                checked = now  # not for every frame of the job's output
                if self.cpu_now() - cpu0 > limits.cpu_seconds:
                    return None, False, True
            report = self.reader.next(min(now + 0.05, start + limits.wall_seconds))
            if report is ZygoteFrames.EOF:
                return None, False, False
            if isinstance(report, dict) and report.get("stream") in self.streams:
                self._keep(report, limits.output_bytes)
            elif isinstance(report, dict) and "file" in report:
                self.received.take(report)
            elif report is not None:
                return (report if isinstance(report, dict) else None), False, False

    def _keep(self, frame: dict, cap: int) -> None:
        """A piece of the job's stdout or stderr, kept up to the job's output cap together."""
        room = cap - sum(len(b) for b in self.streams.values())
        if room > 0:
            self.streams[frame["stream"]] += _b64(frame.get("data"))[:room]

    def stop(self) -> None:
        try:
            if hasattr(self, "reader"):
                self.kill()
        finally:
            for undo in reversed(self._undo):
                undo()
            self._undo = []


def zygote_command(job: SandboxJob) -> list[str]:
    """The box's PID 1: the zygote under the job's runtime."""
    return [runtime_python_inside(job.runtime_python), "-I", "-B", f"{INSIDE_ZYGOTE}/zygote.py"]


class ZygoteFrames:
    """Length-prefixed JSON frames from the zygote's stdout, read with a deadline from `fd`
    (`read`: the zygote's next bytes once `fd` is readable, b"" at its end, None when what came
    was not the zygote's stdout)."""

    EOF = object()

    def __init__(self, fd: int, read=None) -> None:
        self.fd, self.buf = fd, b""
        self.read = read or (lambda: os.read(fd, 1 << 20))

    def next(self, deadline: float):
        """A frame, None when the deadline passed first, or EOF."""
        while True:
            if len(self.buf) >= 4:
                (size,) = struct.unpack("!I", self.buf[:4])
                if size > MAX_REPORT:
                    return self.EOF
                if len(self.buf) >= 4 + size:
                    body, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
                    try:
                        return json.loads(body)
                    except ValueError:
                        return self.EOF
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = self.read()
                if chunk == b"":
                    return self.EOF
                self.buf += chunk or b""


class Tail:
    """The first 64 KiB of the zygote's own stderr (bwrap's messages), read in a thread."""

    def __init__(self, stream) -> None:
        self.data = b""
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(65536):
            if len(self.data) < 65536:
                self.data += chunk[:65536 - len(self.data)]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _b64(value) -> bytes:
    try:
        return base64.b64decode(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


def _empty(folder: Path) -> None:
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def _refill(folder: Path, source: Path) -> None:
    """`folder` (bound at /handin, so the folder itself stays) now holds a copy of `source`."""
    _empty(folder)
    shutil.copytree(source, folder, symlinks=True, dirs_exist_ok=True)


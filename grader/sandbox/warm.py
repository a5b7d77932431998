"""Warm bwrap slots: the box, the interpreter and the runtime's imports paid once per slot.

A `WarmBwrapSandbox` keeps one slot per process (a worker's pool child grades one hand-in at a
time): a bubblewrap box built exactly as `BwrapSandbox` builds one (same binds, seccomp, slot
uid, cgroup, rlimits, size-limited /tmp and output tmpfs), whose PID 1 is the zygote
(`grader/inside/zygote.py`). For each job the host copies the hand-in into the slot's hand-in
folder (bound read-only at /handin), empties the output area, and sends the job on the zygote's
stdin; the zygote forks a fresh child for it, kills every process of the job when it ends, puts
the box's writable places back, and reports on its stdout, which no hand-in can write. The wall
clock, the CPU budget (the cgroup's counter, compared before and after) and the slot's health are
enforced here: past a limit, or when the zygote reports the box not clean, or when more processes
remain than the zygote and bwrap, the whole slot is killed and the next job starts a fresh one.
A zygote that dies without the memory limit having fired is our failure, not the hand-in's: the
job is run again in a cold box (`BwrapSandbox`).
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import hashlib
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox.base import (
    CODE_DIR,
    Ending,
    SandboxJob,
    SandboxResult,
    classify,
)
from grader.sandbox.bwrap import (
    INSIDE_CODE,
    INSIDE_DATA,
    INSIDE_HANDIN,
    INSIDE_OUT,
    BwrapSandbox,
    _ChildPid,
    _Preexec,
)
from grader.sandbox.linux.cgroup import JobCgroup
from grader.sandbox.linux.procs import kill_pids, reap_children
from grader.sandbox.linux.seccomp import seccomp_filter_file
from grader.sandbox.linux.slots import Slot, acquire_slot, kill_uid
from grader.sandbox.mounts import runtime_python_inside
from grader.sandbox.output import OutputArea, plant_key
from grader.sandbox.staging import compile_staged, stage_code, stage_data

INSIDE_ZYGOTE = "/mlpgrade"
START_SECONDS = 120.0
ZYGOTE_CPU_SECONDS = 10 * 365 * 24 * 3600  # the zygote's own rlimit; each job sets its own
MAX_REPORT = 8 * 1024 * 1024
EXTRA_PROCESSES = 4  # bwrap and the zygote, in the slot's pids budget


class WarmBwrapSandbox(BwrapSandbox):
    """`BwrapSandbox` with one warm slot, kept across jobs (see the module docstring)."""

    name = "bwrap"

    def __init__(self) -> None:
        super().__init__()
        self.slot: WarmSlot | None = None
        atexit.register(self.close)

    def run(self, job: SandboxJob) -> SandboxResult:
        key = slot_key(job)
        if self.slot is not None and not self.slot.fits(key, job):
            self.close()
        if self.slot is None:
            self.slot = WarmSlot(self, job, key)
        slot = self.slot
        try:
            result = slot.run(job)
        except ZygoteDied:
            self.close()
            return BwrapSandbox.run(self, job)
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


class WarmSlot:
    """One running box with its zygote, its slot uid, cgroup, output area and folders."""

    def __init__(self, sandbox: WarmBwrapSandbox, job: SandboxJob, key: tuple) -> None:
        self.key, self.healthy, self.proc = key, True, None
        self.data = job.data_dir
        self.slot: Slot = acquire_slot()
        self._undo: list = [self.slot.release]
        try:
            self._start(sandbox, job)
        except BaseException:
            self.stop()
            raise

    def fits(self, key: tuple, job: SandboxJob) -> bool:
        return key == self.key and (job.data_dir is None or job.data_dir == self.data)

    def _start(self, sandbox: WarmBwrapSandbox, job: SandboxJob) -> None:
        limits, uid = job.limits, self.slot.uid
        self.cgroup = JobCgroup(limits.memory_mb, limits.processes + EXTRA_PROCESSES)
        self._undo += [self.cgroup.remove, self.cgroup.kill_all]
        self.base = Path(tempfile.mkdtemp(prefix="mlpgrade-warm-"))
        self.base.chmod(0o755)
        self._undo.append(lambda: shutil.rmtree(self.base, ignore_errors=True))
        self.handin = self.base / "handin"
        self.handin.mkdir(mode=0o755)
        self.area = OutputArea(self.base, limits.disk_mb, uid, True)
        self._undo.append(self.area.cleanup)
        staged = [stage_code(job.code_dir), stage_code(CODE_DIR)]
        for folder in staged:
            compile_staged(folder, job.runtime_python)
        data = stage_data(job.data_dir) if job.data_dir is not None else None
        staged += [data] if data is not None else []
        self._undo += [lambda p=p: shutil.rmtree(p, ignore_errors=True) for p in staged]
        seccomp_fd = seccomp_filter_file()
        info_r, info_w = os.pipe()
        box = dataclasses.replace(job, handin_dir=self.handin)
        argv = sandbox.box_argv(box, staged[0], self.area.path, seccomp_fd, info_w, data)
        cut = argv.index("--remount-ro")  # the zygote's folder is bound before / turns read-only
        argv[cut:cut] = ["--ro-bind", str(staged[1]), INSIDE_ZYGOTE]
        argv += ["--as-pid-1", runtime_python_inside(job.runtime_python), "-I", "-B",
                 f"{INSIDE_ZYGOTE}/zygote.py"]
        zygote_limits = dataclasses.replace(limits, cpu_seconds=ZYGOTE_CPU_SECONDS)
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(seccomp_fd, info_w), env={"PATH": "/usr/bin:/bin"},
                preexec_fn=_Preexec(zygote_limits, uid, self.cgroup))
        except OSError as exc:
            raise InfrastructureError(f"cannot start bubblewrap: {exc}") from exc
        finally:
            os.close(seccomp_fd)
            os.close(info_w)
        self._undo.append(lambda: os.close(info_r))
        self.child = _ChildPid(info_r)
        self.stderr = _Tail(self.proc.stderr)
        self.reader = _Frames(self.proc.stdout.fileno())
        ready = self.reader.next(time.monotonic() + START_SECONDS)
        if not isinstance(ready, dict) or not ready.get("ready"):
            raise InfrastructureError("the warm sandbox did not start: "
                                      + self.stderr.text()[:2000])
        self.baseline = len(self.cgroup.pids())

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        _refill(self.handin, job.handin_dir)
        _empty(self.area.path)
        plant_key(self.area.path, job.secret, self.slot.uid)
        cpu0, oom0 = self.cgroup.cpu_seconds(), self.cgroup.oom_kills()
        pids0 = self.cgroup.pids_max_events()
        args = ["--out", INSIDE_OUT, "--isolated"]
        if job.data_dir is not None:
            args += ["--data", INSIDE_DATA]
        frame = {"entry": f"{INSIDE_CODE}/{job.entry}", "args": args + list(job.args),
                 "cwd": INSIDE_HANDIN, "cpu": limits.cpu_seconds, "output": limits.output_bytes}
        start = time.monotonic()
        self._send(frame)
        self.streams = {"stdout": bytearray(), "stderr": bytearray()}
        report, timed_out, cpu_exceeded = self._wait(start, limits, cpu0)
        wall = time.monotonic() - start
        cpu = self.cgroup.cpu_seconds() - cpu0
        oom = self.cgroup.oom_kills() > oom0
        if report is None:
            self.healthy = False
            self.kill()
            if not (timed_out or cpu_exceeded or oom):
                raise ZygoteDied(self.stderr.text()[:2000])
            report = {"signal": 9}
        sig = report.get("signal")
        verdict = classify(Ending(
            signal=sig if isinstance(sig, int) else None, cpu_seconds=cpu,
            output_exceeded=report.get("output_exceeded") is True, cpu_exceeded=cpu_exceeded,
            timed_out=timed_out, out_of_memory=oom,
            process_limit=self.cgroup.pids_max_events() > pids0,
            disk_full=self.area.full()), limits)
        if report.get("clean") is not True or len(self.cgroup.pids()) > self.baseline:
            self.healthy = False
        self.area.output_dir = job.output_dir
        self.area.collect()
        self.last_report = report
        exit_code = report.get("exit_code")
        return SandboxResult(verdict=verdict, exit_code=exit_code if isinstance(exit_code, int)
                             else None, signal=sig if isinstance(sig, int) else None,
                             stdout=bytes(self.streams["stdout"]),
                             stderr=bytes(self.streams["stderr"]),
                             wall_seconds=wall, cpu_seconds=cpu, backend="bwrap")

    def _send(self, frame: dict) -> None:
        data = json.dumps(frame).encode()
        try:
            self.proc.stdin.write(struct.pack("!I", len(data)) + data)
            self.proc.stdin.flush()
        except OSError as exc:
            raise ZygoteDied(str(exc)) from exc

    def _wait(self, start: float, limits, cpu0: float) -> tuple[dict | None, bool, bool]:
        """The zygote's report, or None with which limit fired (wall, CPU) or neither (EOF)."""
        checked = 0.0
        while True:
            now = time.monotonic()
            if now - start > limits.wall_seconds:
                return None, True, False
            if now - checked >= 0.05:  # not for every frame of the job's output
                checked = now
                if self.cgroup.cpu_seconds() - cpu0 > limits.cpu_seconds:
                    return None, False, True
            report = self.reader.next(min(now + 0.05, start + limits.wall_seconds))
            if report is _Frames.EOF:
                return None, False, False
            if isinstance(report, dict) and report.get("stream") in self.streams:
                self._keep(report, limits.output_bytes)
            elif report is not None:
                return (report if isinstance(report, dict) else None), False, False

    def _keep(self, frame: dict, cap: int) -> None:
        """A piece of the job's stdout or stderr, kept up to the job's output cap together."""
        room = cap - sum(len(b) for b in self.streams.values())
        if room > 0:
            self.streams[frame["stream"]] += _b64(frame.get("data"))[:room]

    def kill(self) -> None:
        """Every process of the slot dies here (bwrap, the zygote, whatever the job left)."""
        if self.proc is not None:
            kill_pids([self.child.pid, self.proc.pid])
            self.proc.wait()
        if hasattr(self, "cgroup"):
            self.cgroup.kill_all()
        kill_uid(self.slot.uid)
        reap_children()

    def stop(self) -> None:
        try:
            self.kill()
        finally:
            for undo in reversed(self._undo):
                undo()
            self._undo = []


class _Frames:
    """Length-prefixed JSON frames from the zygote's stdout, read with a deadline."""

    EOF = object()

    def __init__(self, fd: int) -> None:
        self.fd, self.buf = fd, b""

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
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return self.EOF
                self.buf += chunk


class _Tail:
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


"""One way to run a job: a slot, a box whose first process is the zygote, kept or used once.

A box (`bwrap.BwrapBox`, `docker.DockerBox`, `process.ProcessBox`) only starts the zygote
(`grader/inside/zygote.py`) as its first process and hands back its frames, its counters (its
cgroup's, where it has one) and a way to kill it. A `Slot` owns the box and what it needs around
it (the slot's uid lease, hand-in folder, output area, staged code) and runs jobs through the
zygote: it sends the job, keeps what the job prints, enforces the wall clock and the CPU budget
in its one wait loop, and decides the verdict in one place (`classify`). `SlotSandbox` is the
`Sandbox` the rest of the code calls: a warm one keeps its slot from job to job while the slot
stays healthy and fits the job; a cold one uses each slot for one job. Where each limit is kept
(docs/sandbox.md, "Limits"): wall clock and CPU budget here; output in the job's supervisor;
memory and processes by the box's cgroup (else rlimits), their verdicts from its counters.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

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
    Verdict,
    classify,
)
from grader.sandbox.frames import ZygoteFrames
from grader.sandbox.linux.uids import UidLease, lease_uid
from grader.sandbox.mounts import runtime_python_inside
from grader.sandbox.output import OutputArea, ReceivedOutput
from grader.sandbox.staging import compile_staged, stage_code, stage_data

INSIDE_ZYGOTE = "/mlpgrade"
START_SECONDS = 120.0
ZYGOTE_CPU_SECONDS = 10 * 365 * 24 * 3600  # the zygote's own rlimit; each job sets its own
EXTRA_PROCESSES = 5  # bwrap, the zygote and the job's supervisor, in the slot's pids budget
POLL = 0.05
#: With a CPU counter, the wall clock stops a job only when it is idle (under IDLE_SHARE of a CPU
#: for the last second) or past WALL_MAX_FACTOR times the wall limit: a job that computes on a
#: busy host is stopped by its CPU budget or its memory limit, never by the host's load.
IDLE_SHARE, WALL_MAX_FACTOR = 0.05, 3.0


class Counters(NamedTuple):
    """A box's cgroup counters: CPU seconds, OOM kills, pids.max hits."""

    cpu: float
    oom_kills: int
    pids_max: int


@dataclass(frozen=True)
class Place:
    """What a slot gives its box: the first job (runtime, limits) and the host's folders."""

    job: SandboxJob
    uid: int | None
    """The slot's own unprivileged uid (as root, for an isolating box), else None."""
    handin: Path
    out: Path | None
    """The output area (None: the box makes its own, `makes_out`)."""
    code: Path
    zygote: Path
    data: Path | None
    home: Path


class Box(Protocol):
    """A started box whose first process is the zygote. Class attributes say what it needs."""

    name: str
    isolated: bool  # a process namespace and mounts of its own: paths are the INSIDE_* ones
    own_uid: bool  # as root, a leased uid of its own
    job_uid: int | None  # else the uid its jobs run as (None: ours)
    makes_out: bool  # without root, /out is its own size-capped tmpfs, sent by the zygote
    stage_always: bool  # stage_data's `always`
    pipes: Pipes

    def counters(self) -> Counters | None: ...
    def take(self, frame: dict) -> None: ...
    def leftover(self) -> bool: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


class Pipes(Protocol):
    """The zygote's stdin, frames and stderr (`frames.ZygotePipes`, `docker._Attached`)."""

    frames: ZygoteFrames

    def send(self, data: bytes) -> None: ...
    def log(self) -> str: ...


class ZygoteDied(Exception):
    """The zygote ended without a report and without a limit firing (`result`: the run as it
    stands, a `killed` one; None when the job never reached the zygote)."""

    def __init__(self, result: SandboxResult | None, log: str) -> None:
        super().__init__(log)
        self.result = result


class SlotSandbox:
    """The `Sandbox` of a backend: runs each job in a slot of `box` (started with `options`),
    kept for the next job when `warm`, the slot healthy and the next job of the same kind."""

    def __init__(self, box: type, *, warm: bool, **options: Any) -> None:
        self.box, self.warm, self.options = box, warm, options
        self.name: str = box.name
        #: As root a slot has a uid of its own and a tmpfs output area, which it copies.
        self.root = self.copies_output = os.geteuid() == 0
        self.slot: Slot | None = None
        atexit.register(self.close)

    def run(self, job: SandboxJob) -> SandboxResult:
        """The job in this process's slot; a zygote that died without a report (our failure, or a
        hand-in that killed its supervisor) costs one more try in a new slot."""
        for attempt in (1, 2):
            key = slot_key(job)
            if self.slot is not None and not self.slot.fits(key, job):
                self.close()
            if self.slot is None:
                self.slot = Slot(self.box, self.options, job, key, root=self.root,
                                 compiled=self.warm)
            slot = self.slot
            try:
                result = slot.run(job)
            except ZygoteDied as died:
                self.close()
                if attempt == 1:
                    continue
                if died.result is None:
                    raise InfrastructureError(
                        f"the {self.name} slot's zygote died: {died}") from died
                return died.result
            except BaseException:
                self.close()
                raise
            if not (self.warm and slot.healthy):
                self.close()
            return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.slot is not None:
            self.slot.stop()
            self.slot = None


def slot_key(job: SandboxJob) -> tuple:
    """What a slot is built for: a job of another key needs a new slot."""
    digest = hashlib.sha256()
    for script in sorted(job.code_dir.glob("*.py")):
        digest.update(script.name.encode() + b"\0" + script.read_bytes())
    lim = job.limits
    return (str(job.runtime_python), digest.hexdigest(), lim.memory_mb, lim.processes,
            lim.disk_mb)


class Slot:
    """One started box with its zygote, its uid lease, hand-in folder, output area and staged
    code; `run` runs one job in it."""

    def __init__(self, box: type, options: dict, job: SandboxJob, key: tuple, *, root: bool,
                 compiled: bool) -> None:
        self.key, self.healthy, self.data = key, True, job.data_dir
        self.last_report: dict = {}
        self._undo = ExitStack()
        try:
            self.box = self._start(box, options, job, root, compiled)
            ready = self.box.pipes.frames.next(time.monotonic() + START_SECONDS)
            if not isinstance(ready, dict) or not ready.get("ready"):
                raise InfrastructureError(f"the {box.name} slot did not start: "
                                          + self.box.pipes.log()[:2000])
            self.box.take(ready)
        except BaseException:
            self.stop()
            raise

    def _start(self, box: type, options: dict, job: SandboxJob, root: bool, compiled: bool
               ) -> Box:
        lease: UidLease | None = lease_uid() if root and box.own_uid else None
        if lease is not None:
            self._undo.callback(lease.release)
        uid = lease.uid if lease is not None else (box.job_uid or os.getuid())
        base = Path(tempfile.mkdtemp(prefix="mlpgrade-slot-"))
        base.chmod(0o755)
        self._undo.callback(shutil.rmtree, base, ignore_errors=True)
        self.handin = base / "handin"
        self.handin.mkdir(mode=0o755)
        self.area: OutputArea | None = None
        if root or not box.makes_out:  # a tmpfs of the slot's uid as root, else a folder
            out = base / "out"
            out.mkdir(mode=0o777)
            out.chmod(0o777)
            self.area = OutputArea(out, job.limits.disk_mb, uid, root)
            self._undo.callback(self.area.cleanup)
        staged = [stage_code(job.code_dir), stage_code(CODE_DIR)]
        if compiled:  # a warm slot: its jobs never compile our modules again
            for folder in staged:
                compile_staged(folder, job.runtime_python)
        data = job.data_dir
        if data is not None:
            data = stage_data(data, always=box.stage_always) or data
            if data != job.data_dir:
                staged.append(data)
        for folder in staged:
            self._undo.callback(shutil.rmtree, folder, ignore_errors=True)
        place = Place(job, lease.uid if lease else None, self.handin,
                      self.area.path if self.area else None, staged[0], staged[1], data, base)
        started = box(place, **options)
        self._undo.callback(started.close)
        isolated = box.isolated
        self.paths = {"code": INSIDE_CODE if isolated else str(place.code),
                      "handin": INSIDE_HANDIN if isolated else str(place.handin),
                      "out": INSIDE_OUT if isolated else str(place.out),
                      "data": INSIDE_DATA if isolated else str(place.data)}
        return started

    def fits(self, key: tuple, job: SandboxJob) -> bool:
        return key == self.key and (job.data_dir is None or job.data_dir == self.data)

    def run(self, job: SandboxJob) -> SandboxResult:
        limits = job.limits
        _refill(self.handin, job.handin_dir)
        received = ReceivedOutput(job.output_dir, limits.disk_mb) if self.area is None else None
        self.streams = {"stdout": bytearray(), "stderr": bytearray()}
        before = self.box.counters()
        self._send(self._frame(job))
        start = time.monotonic()
        report, stopped = self._wait(start, limits, before, received)
        wall = time.monotonic() - start
        if report is None:
            self.healthy = False
            self.box.kill()
        after = self.box.counters()
        oom = before is not None and after is not None and after.oom_kills > before.oom_kills
        died = report is None and stopped is None and not oom
        report = report or {"signal": 9}
        cpu = after.cpu - before.cpu if before and after else _number(report.get("cpu"))
        sig = report.get("signal")
        verdict = classify(Ending(
            signal=sig if isinstance(sig, int) else None, cpu_seconds=cpu,
            output_exceeded=report.get("output_exceeded") is True,
            cpu_exceeded=stopped == "cpu", timed_out=stopped == "wall", out_of_memory=oom,
            process_limit=bool(before and after and after.pids_max > before.pids_max),
            disk_full=(self.area is not None and self.area.full())
            or report.get("out_full") is True), job.limits)
        if report.get("clean") is not True or self.box.leftover():
            self.healthy = False
        if self.area is not None:
            self.area.output_dir = job.output_dir
            self.area.collect()
        self.last_report = report
        exit_code = report.get("exit_code")
        result = SandboxResult(
            verdict=Verdict.KILLED if died else verdict,
            exit_code=exit_code if isinstance(exit_code, int) else None,
            signal=sig if isinstance(sig, int) else None, stdout=bytes(self.streams["stdout"]),
            stderr=bytes(self.streams["stderr"]), wall_seconds=wall, cpu_seconds=cpu,
            backend=self.box.name)
        if died:
            raise ZygoteDied(result, self.box.pipes.log()[:2000])
        return result

    def _frame(self, job: SandboxJob) -> dict:
        """The job as the supervisor reads it (the key it plants in the output area)."""
        args = ["--out", self.paths["out"]] + (["--isolated"] if self.box.isolated else [])
        if job.data_dir is not None:
            args += ["--data", self.paths["data"]]
        frame = {"entry": f"{self.paths['code']}/{job.entry}", "args": args + list(job.args),
                 "cwd": self.paths["handin"], "out": self.paths["out"],
                 "cpu": job.limits.cpu_seconds, "output": job.limits.output_bytes,
                 "key": job.secret.hex()}
        if self.area is None:
            frame["collect"] = True
        return frame

    def _send(self, frame: dict) -> None:
        data = json.dumps(frame).encode()
        try:
            self.box.pipes.send(struct.pack("!I", len(data)) + data)
        except OSError as exc:
            raise ZygoteDied(None, str(exc)) from exc

    def _wait(self, start: float, limits, before: Counters | None,
              received: ReceivedOutput | None) -> tuple[dict | None, str | None]:
        """The job's report; or None and the limit that stopped it ("wall", "cpu"), or None
        when the zygote ended first. The one place the wall clock and the CPU budget are kept."""
        checked, samples = 0.0, []
        while True:
            now = time.monotonic()
            if now - checked >= POLL:
                checked, counters = now, self.box.counters()
                if before is not None and counters is not None \
                        and counters.cpu - before.cpu > limits.cpu_seconds:
                    return None, "cpu"
                if _out_of_time(now - start, limits.wall_seconds, counters, samples):
                    return None, "wall"
            frame = self.box.pipes.frames.next(now + POLL)
            if frame is ZygoteFrames.EOF:
                return None, None
            if not isinstance(frame, dict):
                continue
            if "counters" in frame:
                self.box.take(frame)
            if frame.get("stream") in self.streams:
                self._keep(frame, limits.output_bytes)
            elif "file" in frame:
                if received is not None:
                    received.take(frame)
            elif "clean" in frame:
                return frame, None

    def _keep(self, frame: dict, cap: int) -> None:
        """A piece of the job's stdout or stderr, kept up to the job's output cap together."""
        room = cap - sum(len(b) for b in self.streams.values())
        if room > 0:
            self.streams[frame["stream"]] += _b64(frame.get("data"))[:room]

    def stop(self) -> None:
        """Every process of the slot dies, its folders, cgroup and lease go."""
        self._undo.close()


def _out_of_time(elapsed: float, wall: float, counters: Counters | None,
                 samples: list[tuple[float, float]]) -> bool:
    """The wall clock's rule: past `wall`; with a CPU counter, past it only when idle for the
    last second, or past WALL_MAX_FACTOR times it."""
    if counters is None:
        return elapsed > wall
    if elapsed < wall - 1.0:
        return False
    samples.append((elapsed, counters.cpu))
    while len(samples) > 2 and elapsed - samples[1][0] >= 1.0:
        samples.pop(0)
    (then, cpu0), cpu = samples[0], counters.cpu
    idle = elapsed - then >= 1.0 and cpu - cpu0 < IDLE_SHARE * (elapsed - then)
    return elapsed > wall * WALL_MAX_FACTOR or (elapsed > wall and idle)


def zygote_command(job: SandboxJob, *flags: str, place: Place | None = None) -> list[str]:
    """The box's first process: the zygote under the job's runtime (`place`: a box without
    mounts of its own, which runs it from the host's paths)."""
    if place is None:
        return [runtime_python_inside(job.runtime_python), "-I", "-B",
                f"{INSIDE_ZYGOTE}/zygote.py", *flags]
    return [str(job.runtime_python), "-I", "-B", str(place.zygote / "zygote.py"), *flags]


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _b64(value) -> bytes:
    try:
        return base64.b64decode(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


def _refill(folder: Path, source: Path) -> None:
    """`folder` (bound at /handin, so the folder itself stays) now holds a copy of `source`."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)
    shutil.copytree(source, folder, symlinks=True, dirs_exist_ok=True)

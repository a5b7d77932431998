"""The `bwrap` backend: bubblewrap around the runner (docs/sandbox.md has the measured facts).

As root: the job runs in its own cgroup (memory = the limit, no swap; pids; one core), as an
unprivileged per-slot uid, under rlimits, inside bwrap with every namespace unshared (only `lo`),
no further user namespaces, a seccomp filter, read-only binds of the runtime and the libraries it
needs, the hand-in read-only as working directory, a size-limited tmpfs /tmp, and one writable
output folder on a size-limited tmpfs of the slot. Not root: the same bwrap box under rlimits,
without cgroups or a separate uid (fine for a developer's machine, not for a course).
The wall clock, the CPU budget and the output cap are enforced here; at the end every process of
the job is killed and reaped, and the slot is left with no process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path

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
    apply_rlimits,
    child_env,
    classify,
    rlimits,
    signal_of,
)
from grader.sandbox.linux.cgroup import JobCgroup, cgroups_usable
from grader.sandbox.linux.procs import become_subreaper, kill_pids, reap_children
from grader.sandbox.linux.seccomp import seccomp_filter_file
from grader.sandbox.linux.uids import UidLease, kill_uid, lease_uid
from grader.sandbox.mounts import RUNTIME, runtime_mounts, runtime_python_inside
from grader.sandbox.output import OutputArea, plant_key
from grader.sandbox.staging import stage_code, stage_data
from grader.sandbox.warm import (
    EXTRA_PROCESSES,
    INSIDE_ZYGOTE,
    ZYGOTE_CPU_SECONDS,
    Counters,
    Tail,
    WarmSandbox,
    WarmSlot,
    ZygoteFrames,
    zygote_command,
)
from grader.sandbox.watch import Watch

BWRAP = "/usr/bin/bwrap"


class BwrapSandbox:
    """Runs each job in a fresh bubblewrap box (see the module docstring)."""

    name = "bwrap"

    def __init__(self) -> None:
        self.bwrap = BWRAP if Path(BWRAP).exists() else shutil.which("bwrap")
        if not self.bwrap:
            raise InfrastructureError("bubblewrap is not installed (apt-get install -y bubblewrap)")
        self.root = os.geteuid() == 0
        self.copies_output = self.root  # OutputArea: a tmpfs area as root
        self.cgroups = cgroups_usable()
        if self.root:
            become_subreaper()

    def run(self, job: SandboxJob) -> SandboxResult:
        slot = lease_uid() if self.root else None
        try:
            return self._run(job, slot)
        finally:
            if slot is not None:
                slot.release()

    def _run(self, job: SandboxJob, slot: UidLease | None) -> SandboxResult:
        limits = job.limits
        with ExitStack() as cleanup:  # undone in reverse: the cgroup goes last
            cgroup = None
            if self.cgroups:
                cgroup = JobCgroup(limits.memory_mb, limits.processes)
                cleanup.callback(cgroup.remove)
                cleanup.callback(cgroup.kill_all)
            area = OutputArea(job.output_dir, limits.disk_mb, slot.uid if slot else os.getuid(),
                              self.root)
            cleanup.callback(area.cleanup)
            plant_key(area.path, job.secret, slot.uid if slot else None)
            code = stage_code(job.code_dir)
            cleanup.callback(shutil.rmtree, code, ignore_errors=True)
            data = stage_data(job.data_dir) if job.data_dir is not None else None
            if data is not None:
                cleanup.callback(shutil.rmtree, data, ignore_errors=True)
            seccomp_fd = seccomp_filter_file()
            cleanup.callback(os.close, seccomp_fd)
            info_r, info_w = os.pipe()
            cleanup.callback(os.close, info_r)
            argv = self._argv(job, code, area.path, seccomp_fd, info_w, data)
            child = _ChildPid(info_r)
            start = time.monotonic()
            proc = self._start(argv, (seccomp_fd, info_w),
                               _Preexec(limits, slot.uid if slot else None, cgroup))
            watch = Watch(proc, limits, start, kill=lambda: kill_pids([child.pid, proc.pid]),
                          cpu_meter=cgroup.cpu_seconds if cgroup is not None else None)
            watch.wait()
            wall = time.monotonic() - start
            _end_job(slot, cgroup)
            cpu = cgroup.cpu_seconds() if cgroup is not None else watch.rusage_cpu
            sig = signal_of(proc.returncode)
            verdict = classify(Ending(
                signal=sig, cpu_seconds=cpu, output_exceeded=watch.output.exceeded,
                cpu_exceeded=watch.cpu_exceeded, timed_out=watch.timed_out,
                out_of_memory=cgroup is not None and cgroup.oom_killed(),
                process_limit=cgroup is not None and cgroup.pids_hit_max(),
                disk_full=area.full()), limits)
            # Whether bwrap itself failed is not read from stderr (a hand-in can write there):
            # a run whose runner never reported ready is ours (grader.run).
            stderr = watch.output.bytes_of("stderr")
            area.collect()
            return SandboxResult(verdict=verdict, exit_code=None if sig else proc.returncode,
                                 signal=sig, stdout=watch.output.bytes_of("stdout"),
                                 stderr=stderr, wall_seconds=wall, cpu_seconds=cpu,
                                 backend=self.name)

    def _start(self, argv: list[str], fds: tuple[int, int], preexec: _Preexec
               ) -> subprocess.Popen:
        """Start bwrap; the info fd's write end (the second of `fds`) is closed here after."""
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, pass_fds=fds, preexec_fn=preexec,
                                    env={"PATH": "/usr/bin:/bin"})
        except OSError as exc:
            raise InfrastructureError(f"cannot start bubblewrap: {exc}") from exc
        finally:
            os.close(fds[1])

    def _argv(self, job: SandboxJob, code: Path, out_path: Path, seccomp_fd: int, info_fd: int,
              staged_data: Path | None = None) -> list[str]:
        argv = self.box_argv(job, code, out_path, seccomp_fd, info_fd, staged_data)
        argv += [runtime_python_inside(job.runtime_python), "-I", "-B",
                 f"{INSIDE_CODE}/{job.entry}", "--out", INSIDE_OUT, "--isolated"]
        if job.data_dir is not None:
            argv += ["--data", INSIDE_DATA]
        return argv + list(job.args)

    def box_argv(self, job: SandboxJob, code: Path, out_path: Path, seccomp_fd: int,
                 info_fd: int, staged_data: Path | None = None) -> list[str]:
        """bwrap's own arguments, up to the command it starts (the warm slots share them)."""
        limits = job.limits
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
                "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox",
                "--cap-drop", "ALL", "--info-fd", str(info_fd), "--seccomp", str(seccomp_fd),
                "--proc", "/proc", "--dev", "/dev",
                "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        argv += ["--ro-bind", str(job.runtime_python.parent.parent), RUNTIME]
        for _kind, source, dest in runtime_mounts(str(job.runtime_python)):
            argv += ["--ro-bind", source, dest]
        argv += ["--ro-bind", str(code), INSIDE_CODE,
                 "--ro-bind", str(job.handin_dir), INSIDE_HANDIN,
                 "--bind", str(out_path), INSIDE_OUT]
        if job.data_dir is not None:
            argv += ["--ro-bind", str(staged_data or job.data_dir), INSIDE_DATA]
        argv += ["--remount-ro", "/", "--chdir", INSIDE_HANDIN]
        for name, value in child_env(home="/tmp").items():
            argv += ["--setenv", name, value]
        return argv


def _end_job(slot: UidLease | None, cgroup: JobCgroup | None) -> None:
    """Leave nothing of the job running: its uid's processes, its cgroup's, then reap."""
    if slot is not None:
        kill_uid(slot.uid)
    if cgroup is not None:
        cgroup.kill_all()
    reap_children()


NPROC_BACKSTOP = 1024
"""The per-uid process limit of a box whose cgroup keeps the job's own (pids.max)."""


class _Preexec:
    """Runs in the forked child before exec: cgroup, rlimits, then drop to the slot's uid."""

    def __init__(self, limits: Limits, uid: int | None, cgroup: JobCgroup | None) -> None:
        self.uid, self.cgroup = uid, cgroup
        # With a cgroup, pids.max is the limit (its hits are counted for the verdict); the
        # per-uid rlimit stays a looser backstop. NPROC counts every task of the uid on the
        # machine, a box of a killed worker still being torn down included, so the backstop
        # leaves room for those: a new box must not fail to start for them (a tight limit such
        # as 16 processes did, after the fault tests killed workers). Without a slot uid, NPROC
        # would count the worker's own processes: not set.
        nproc = None if uid is None else (
            max(limits.processes * 2, NPROC_BACKSTOP) if cgroup is not None else limits.processes)
        self.rlimits = rlimits(limits, memory_capped=cgroup is not None, processes=nproc)

    def __call__(self) -> None:
        if self.cgroup is not None:
            self.cgroup.attach_self()
        apply_rlimits(self.rlimits)
        if self.uid is not None:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)


class _ChildPid:
    """The pid of the sandbox's first process, which bwrap writes to `--info-fd` as JSON (it
    must be killed itself: bwrap can return before its pid namespace is torn down)."""

    def __init__(self, info_fd: int) -> None:
        self.info_fd = info_fd
        self.pid: int | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        data = b""
        while chunk := os.read(self.info_fd, 4096):
            data += chunk
            try:
                self.pid = int(json.loads(data)["child-pid"])
                return
            except (ValueError, KeyError):
                continue


class BwrapSlot(WarmSlot):
    """A bubblewrap box whose PID 1 is the zygote, in the slot's own cgroup."""

    backend = "bwrap"

    def _start_box(self, sandbox: WarmBwrapSandbox, job: SandboxJob, code: Path, zygote: Path,
                   data: Path | None) -> None:
        limits, uid = job.limits, self.slot.uid
        self.cgroup = JobCgroup(limits.memory_mb, limits.processes + EXTRA_PROCESSES)
        self._undo += [self.cgroup.remove, self.cgroup.kill_all]
        seccomp_fd = seccomp_filter_file()
        info_r, info_w = os.pipe()
        box = dataclasses.replace(job, handin_dir=self.handin)
        argv = sandbox.box_argv(box, code, self.area.path, seccomp_fd, info_w, data)
        cut = argv.index("--remount-ro")  # the zygote's folder is bound before / turns read-only
        argv[cut:cut] = ["--ro-bind", str(zygote), INSIDE_ZYGOTE]
        argv += ["--as-pid-1", *zygote_command(job)]
        zygote_limits = dataclasses.replace(limits, cpu_seconds=ZYGOTE_CPU_SECONDS)
        self.proc = None
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
        self.stderr = Tail(self.proc.stderr)
        self.reader = ZygoteFrames(self.proc.stdout.fileno())

    def _ready(self, ready: dict) -> None:
        self.baseline = len(self.cgroup.pids())

    def counters(self, report: dict | None) -> Counters:
        return Counters(self.cgroup.cpu_seconds(), self.cgroup.oom_kills(),
                        self.cgroup.pids_max_events())

    def cpu_now(self) -> float:
        return self.cgroup.cpu_seconds()

    def leftover(self) -> bool:
        """More processes than at ready, once the job's supervisor has had time to end after
        its report (the zygote then forks the next one, pristine, with its child)."""
        deadline = time.monotonic() + 2.0
        while len(self.cgroup.pids()) > self.baseline:
            if time.monotonic() > deadline:
                return True
            time.sleep(0.005)
        return False

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def log(self) -> str:
        return self.stderr.text()

    def kill(self) -> None:
        if self.proc is not None:
            kill_pids([self.child.pid, self.proc.pid])
            self.proc.wait()
        if hasattr(self, "cgroup"):
            self.cgroup.kill_all()
        kill_uid(self.slot.uid)
        reap_children()


class WarmBwrapSandbox(WarmSandbox, BwrapSandbox):
    """`BwrapSandbox` with one warm slot: a bubblewrap box whose PID 1 is the zygote."""

    name = "bwrap"
    slot_class = BwrapSlot

    def __init__(self) -> None:
        BwrapSandbox.__init__(self)
        WarmSandbox.__init__(self)

    def cold(self, job: SandboxJob) -> SandboxResult:
        return BwrapSandbox.run(self, job)

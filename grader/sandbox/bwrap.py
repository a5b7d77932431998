"""The `bwrap` box: bubblewrap around the zygote (docs/sandbox.md has the measured facts).

As root: the box runs in its own cgroup (memory = the limit, no swap; pids; one core), as the
slot's unprivileged uid, under rlimits, inside bwrap with every namespace unshared (only `lo`),
no further user namespaces, a seccomp filter, read-only binds of the runtime and the libraries it
needs, the hand-in read-only as working directory, a size-limited tmpfs /tmp, and one writable
output area on a size-limited tmpfs of the slot. Not root: the same bwrap box under rlimits,
without a cgroup or a uid of its own (fine for a developer's machine, not for a course).
The zygote is the box's PID 1 (`--as-pid-1`); killing it and bwrap ends the box.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox.base import (
    INSIDE_CODE,
    INSIDE_DATA,
    INSIDE_HANDIN,
    INSIDE_OUT,
    Limits,
    apply_rlimits,
    child_env,
    rlimits,
)
from grader.sandbox.frames import ZygotePipes
from grader.sandbox.linux.cgroup import JobCgroup, cgroups_usable
from grader.sandbox.linux.procs import become_subreaper, kill_pids, reap_children
from grader.sandbox.linux.seccomp import seccomp_filter_file
from grader.sandbox.linux.uids import kill_uid
from grader.sandbox.mounts import RUNTIME, runtime_mounts
from grader.sandbox.slot import (
    EXTRA_PROCESSES,
    INSIDE_ZYGOTE,
    ZYGOTE_CPU_SECONDS,
    Counters,
    Place,
    zygote_command,
)

BWRAP = "/usr/bin/bwrap"


def find_bwrap() -> str:
    """bubblewrap's path; an InfrastructureError where it is not installed."""
    found = BWRAP if Path(BWRAP).exists() else shutil.which("bwrap")
    if not found:
        raise InfrastructureError("bubblewrap is not installed (apt-get install -y bubblewrap)")
    return found


class BwrapBox:
    """A bubblewrap box whose PID 1 is the zygote, in a cgroup of its own where it can have one."""

    name = "bwrap"
    isolated, own_uid, job_uid, makes_out, stage_always = True, True, None, False, False

    def __init__(self, place: Place, *, bwrap: str) -> None:
        limits, self.uid = place.job.limits, place.uid
        self.proc: subprocess.Popen | None = None
        self.cgroup = None
        if cgroups_usable():
            become_subreaper()  # bwrap can return before its namespace is gone: we reap
            self.cgroup = JobCgroup(limits.memory_mb, limits.processes + EXTRA_PROCESSES)
        seccomp_fd = seccomp_filter_file()
        self.info_r, info_w = os.pipe()
        self.child = _ChildPid(self.info_r)
        argv = box_argv(bwrap, place, seccomp_fd, info_w)
        zygote_limits = dataclasses.replace(limits, cpu_seconds=ZYGOTE_CPU_SECONDS)
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(seccomp_fd, info_w), env={"PATH": "/usr/bin:/bin"},
                preexec_fn=_Preexec(zygote_limits, self.uid, self.cgroup))
        except OSError as exc:
            self.close()
            raise InfrastructureError(f"cannot start bubblewrap: {exc}") from exc
        finally:
            os.close(seccomp_fd)
            os.close(info_w)
        self.pipes = ZygotePipes(self.proc)
        self.baseline = 0

    def take(self, frame: dict) -> None:
        if frame.get("ready") and self.cgroup is not None:
            self.baseline = len(self.cgroup.pids())  # bwrap, the zygote, a supervisor, its child

    def counters(self) -> Counters | None:
        if self.cgroup is None:
            return None
        return Counters(self.cgroup.cpu_seconds(), self.cgroup.oom_kills(),
                        self.cgroup.pids_max_events())

    def leftover(self) -> bool:
        """More processes than at ready, once the job's supervisor has had time to end after
        its report (the zygote then forks the next one, pristine, with its child)."""
        deadline = time.monotonic() + 2.0
        while self.cgroup is not None and len(self.cgroup.pids()) > self.baseline:
            if time.monotonic() > deadline:
                return True
            time.sleep(0.005)
        return False

    def kill(self) -> None:
        if self.proc is not None:
            kill_pids([self.child.pid, self.proc.pid])
            self.proc.wait()
        if self.cgroup is not None:
            self.cgroup.kill_all()
        if self.uid is not None:
            kill_uid(self.uid)
        reap_children()

    def close(self) -> None:
        try:
            self.kill()
        finally:
            if self.cgroup is not None:
                self.cgroup.remove()
            os.close(self.info_r)


def box_argv(bwrap: str, place: Place, seccomp_fd: int, info_fd: int) -> list[str]:
    """bwrap's arguments, the zygote as PID 1 last."""
    job, limits = place.job, place.job.limits
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox",
            "--cap-drop", "ALL", "--info-fd", str(info_fd), "--seccomp", str(seccomp_fd),
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    argv += ["--ro-bind", str(job.runtime_python.parent.parent), RUNTIME]
    for _kind, source, dest in runtime_mounts(str(job.runtime_python)):
        argv += ["--ro-bind", source, dest]
    argv += ["--ro-bind", str(place.code), INSIDE_CODE,
             "--ro-bind", str(place.zygote), INSIDE_ZYGOTE,
             "--ro-bind", str(place.handin), INSIDE_HANDIN,
             "--bind", str(place.out), INSIDE_OUT]
    if place.data is not None:
        argv += ["--ro-bind", str(place.data), INSIDE_DATA]
    argv += ["--remount-ro", "/", "--chdir", INSIDE_HANDIN]
    for name, value in child_env(home="/tmp").items():
        argv += ["--setenv", name, value]
    return argv + ["--as-pid-1", *zygote_command(job)]


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
    """The pid of the box's first process, which bwrap writes to `--info-fd` as JSON (it must
    be killed itself: bwrap can return before its pid namespace is torn down)."""

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

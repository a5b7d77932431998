"""The `bwrap` backend: bubblewrap around the runner, as ../shared/sandbox-notes.md measured it.

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

import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from grader.errors import InfrastructureError
from grader.sandbox import isolation
from grader.sandbox.base import SandboxJob, SandboxResult, Verdict

log = logging.getLogger(__name__)

BWRAP = "/usr/bin/bwrap"
INSIDE_CODE, INSIDE_HANDIN, INSIDE_OUT, INSIDE_DATA = "/grader", "/handin", "/out", "/data"


def bwrap_available() -> bool:
    return Path(BWRAP).exists() or shutil.which("bwrap") is not None


class BwrapSandbox:
    name = "bwrap"

    def __init__(self) -> None:
        self.bwrap = BWRAP if Path(BWRAP).exists() else shutil.which("bwrap")
        if not self.bwrap:
            raise InfrastructureError("bubblewrap is not installed (apt-get install -y bubblewrap)")
        self.root = os.geteuid() == 0
        self.cgroups = isolation.cgroups_usable()
        if self.root:
            isolation.become_subreaper()

    def run(self, job: SandboxJob) -> SandboxResult:
        slot = isolation.acquire_slot() if self.root else None
        try:
            return self._run(job, slot)
        finally:
            if slot is not None:
                slot.release()

    # ------------------------------------------------------------------ one run

    def _run(self, job: SandboxJob, slot: isolation.Slot | None) -> SandboxResult:
        limits = job.limits
        uid = slot.uid if slot else os.getuid()
        cgroup = isolation.JobCgroup(limits.memory_mb, limits.processes) if self.cgroups else None
        out_mount = _OutputArea(job.output_dir, limits.disk_mb, uid, self.root)
        seccomp_fd = isolation.seccomp_filter_file()
        info_r, info_w = os.pipe()
        code = isolation.stage_code(job.code_dir)
        data = isolation.stage_data(job.data_dir) if job.data_dir is not None else None
        try:
            argv = self._argv(job, code, out_mount.path, seccomp_fd, info_w, data)
            preexec = _Preexec(limits, uid if self.root else None, cgroup)
            start = time.monotonic()
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, pass_fds=(seccomp_fd, info_w),
                                        preexec_fn=preexec, env={"PATH": "/usr/bin:/bin"})
            except OSError as exc:
                raise InfrastructureError(f"cannot start bubblewrap: {exc}") from exc
            os.close(info_w)
            info_w = -1
            watch = _Watch(proc, info_r, limits, cgroup, start)
            watch.wait()
            wall = time.monotonic() - start
            if slot is not None:
                isolation.kill_uid(slot.uid)
            if cgroup is not None:
                cgroup.kill_all()
            isolation.reap_children()
            cpu = cgroup.cpu_seconds() if cgroup else watch.rusage_cpu
            verdict = self._verdict(watch, cgroup, out_mount, cpu)
            if verdict == Verdict.COMPLETED and proc.returncode not in (0, None) and \
                    b"bwrap:" in watch.stderr[:2000]:
                raise InfrastructureError("bubblewrap failed: "
                                          + watch.stderr[:2000].decode("utf-8", "replace"))
            out_mount.collect()
            sig = _signal_of(proc.returncode)
            return SandboxResult(verdict=verdict, exit_code=None if sig else proc.returncode,
                                 signal=sig,
                                 stdout=watch.stdout, stderr=watch.stderr, wall_seconds=wall,
                                 cpu_seconds=cpu, backend=self.name)
        finally:
            shutil.rmtree(code, ignore_errors=True)
            if data is not None:
                shutil.rmtree(data, ignore_errors=True)
            for fd in (seccomp_fd, info_r, info_w):
                if fd >= 0:
                    os.close(fd)
            out_mount.cleanup()
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()

    def _verdict(self, watch, cgroup, out_mount, cpu: float) -> Verdict:
        if watch.output_exceeded:
            return Verdict.OUTPUT_LIMIT
        if watch.cpu_exceeded:
            return Verdict.CPU_LIMIT
        if watch.timed_out:
            return Verdict.WALL_TIMEOUT
        if cgroup is not None and cgroup.oom_killed():
            return Verdict.OUT_OF_MEMORY
        if cgroup is not None and cgroup.pids_hit_max():
            return Verdict.PROCESS_LIMIT
        if out_mount.full():
            return Verdict.DISK_LIMIT
        sig = _signal_of(watch.proc.returncode)
        if sig == signal.SIGXCPU:
            return Verdict.CPU_LIMIT
        if sig == signal.SIGXFSZ:
            return Verdict.DISK_LIMIT
        if sig is not None:
            return Verdict.KILLED
        return Verdict.COMPLETED

    def _argv(self, job: SandboxJob, code: Path, out_path: Path, seccomp_fd: int, info_fd: int,
              staged_data: Path | None = None) -> list[str]:
        limits = job.limits
        argv = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
                "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox",
                "--cap-drop", "ALL", "--info-fd", str(info_fd), "--seccomp", str(seccomp_fd),
                "--proc", "/proc", "--dev", "/dev",
                "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        for _kind, source, dest in isolation.runtime_mounts(str(job.runtime_python)):
            argv += ["--ro-bind", source, dest]
        argv += ["--ro-bind", str(code), INSIDE_CODE,
                 "--ro-bind", str(job.handin_dir), INSIDE_HANDIN,
                 "--bind", str(out_path), INSIDE_OUT]
        if job.data_dir is not None:
            argv += ["--ro-bind", str(staged_data or job.data_dir), INSIDE_DATA]
        argv += ["--remount-ro", "/", "--chdir", INSIDE_HANDIN,
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
                 "--setenv", "LANG", "C.UTF-8", "--setenv", "MPLBACKEND", "Agg",
                 "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
                 str(job.runtime_python), "-I", "-B", f"{INSIDE_CODE}/{job.entry}",
                 "--out", INSIDE_OUT, "--isolated"]
        if job.data_dir is not None:
            argv += ["--data", INSIDE_DATA]
        return argv + list(job.args)


def _signal_of(code: int | None) -> int | None:
    """The signal that ended the runner. bwrap reports its command's death by signal N as exit
    status 128 + N (the runner itself only ever exits 0 or 1)."""
    if code is None:
        return None
    if code < 0:
        return -code
    if 128 < code <= 128 + 64:
        return code - 128
    return None


class _Preexec:
    """Runs in the forked child before exec: cgroup, rlimits, then drop to the slot's uid."""

    def __init__(self, limits, uid: int | None, cgroup) -> None:
        self.limits, self.uid, self.cgroup = limits, uid, cgroup

    def __call__(self) -> None:
        if self.cgroup is not None:
            self.cgroup.attach_self()
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        disk = lim.disk_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if self.cgroup is None:  # no cgroup: per-process caps are all there is
            mem = lim.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        if self.uid is not None:
            # With a cgroup, pids.max is the limit (its hits are counted for the verdict); the
            # per-uid rlimit stays a looser backstop.
            nproc = lim.processes * (2 if self.cgroup is not None else 1)
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)


class _Watch:
    """Drains stdout/stderr under a cap and enforces the wall clock and the CPU budget."""

    def __init__(self, proc, info_fd: int, limits, cgroup, start: float) -> None:
        self.proc, self.info_fd, self.limits, self.cgroup = proc, info_fd, limits, cgroup
        self.start = start
        self.stdout = self.stderr = b""
        self.output_exceeded = self.timed_out = self.cpu_exceeded = False
        self.rusage_cpu = 0.0
        self._total = 0
        self._lock = threading.Lock()
        self.child_pid: int | None = None

    def _drain(self, stream, which: str) -> None:
        chunks = []
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            with self._lock:
                room = self.limits.output_bytes - self._total
                if room > 0:
                    chunks.append(chunk[:room])
                self._total += len(chunk)
                if self._total > self.limits.output_bytes:
                    self.output_exceeded = True
        setattr(self, which, b"".join(chunks))

    def _read_child_pid(self) -> None:
        import json

        data = b""
        while True:
            chunk = os.read(self.info_fd, 4096)
            if not chunk:
                break
            data += chunk
            try:
                self.child_pid = int(json.loads(data)["child-pid"])
                return
            except (ValueError, KeyError):
                continue

    def kill(self) -> None:
        for pid in (self.child_pid, self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def wait(self) -> None:
        threads = [threading.Thread(target=self._drain, args=(self.proc.stdout, "stdout")),
                   threading.Thread(target=self._drain, args=(self.proc.stderr, "stderr")),
                   threading.Thread(target=self._read_child_pid, daemon=True)]
        for t in threads:
            t.start()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        while self.proc.poll() is None:
            elapsed = time.monotonic() - self.start
            if elapsed > self.limits.wall_seconds:
                self.timed_out = True
            elif self.cgroup is not None and self.cgroup.cpu_seconds() > self.limits.cpu_seconds:
                self.cpu_exceeded = True
            elif self.output_exceeded:
                pass
            else:
                time.sleep(0.01)
                continue
            self.kill()
            break
        self.proc.wait()
        for t in threads[:2]:
            t.join(timeout=5)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.rusage_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


class _OutputArea:
    """Where the runner writes. As root: a tmpfs of `disk_mb` per job, so the disk a job can fill
    is truly capped; its regular files are copied into the job's output folder afterwards."""

    def __init__(self, output_dir: Path, disk_mb: int, uid: int, root: bool) -> None:
        self.output_dir, self.disk_mb, self.mounted = output_dir, disk_mb, False
        if not root:
            self.path = output_dir
            return
        self.path = Path(tempfile.mkdtemp(prefix="mlpgrade-area-"))
        opts = f"size={disk_mb}m,nr_inodes=4096,mode=0700,uid={uid},gid={uid},noexec,nosuid,nodev"
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(self.path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            os.rmdir(self.path)
            raise InfrastructureError(f"cannot mount the job's output tmpfs: {result.stderr}")
        self.mounted = True

    def full(self) -> bool:
        if not self.mounted:
            return False
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize < 64 * 1024 or st.f_favail == 0

    def collect(self) -> None:
        """Copy the regular files (no links, no folders) of the area into the output folder."""
        if not self.mounted:
            return
        for entry in os.scandir(self.path):
            if entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, self.output_dir / entry.name, follow_symlinks=False)

    def cleanup(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False
            try:
                os.rmdir(self.path)
            except OSError:
                pass

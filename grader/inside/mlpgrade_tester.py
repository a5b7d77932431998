"""The tester: one process that runs a hand-in's tests one after another, as the course's own
grader ran them in one process, so a test costs a message instead of a fork and a fresh
interpreter state (about 5 ms of copied pages, kernel work and first calls a test).

The runner forks the tester before any of the hand-in's code runs; the tester closes the report
channel and the runner's pipe ends first thing, so nothing it runs can reach them. For each test
the runner sends its index; the tester puts back what the test before may have changed of the
process's state (working folder, sys.path, signal handlers and timers, NumPy's error modes, the
recursion limit), runs the scenario and writes one frame (header and npz) back. Everything the
runner decides comes from the kernel, never from the tester, which runs the student's code: the
test's CPU time from the tester's CPU clock, the wall clock, whether the tester is still fit to go
on. A tester that crashed, hit a limit, or is left with another thread, another process or much
more memory than it began with is killed (with every process of the run but the runner's, when
the run has a process namespace of its own); the next test starts a fresh tester, which imports
the hand-in's modules again. So a crash or hang still costs only the tests it touches.

Staged next to runner.py; standard library and NumPy only.
"""

import importlib
import io
import json
import os
import resource
import select
import signal
import struct
import sys
import time

import mlpgrade_channel as channel
from mlpgrade_describe import describe, describe_error
from mlpgrade_limits import IdleWatch, limit_cpu

MAX_PAYLOAD = 32 * 1024 * 1024   # one test's outputs; the runner refuses more
LOG_BYTES = 64 * 1024            # one test's own prints kept for feedback
PRINT_LIMIT = 64 * 1024 * 1024   # printing more than this in one test fails it (output limit)
FILE_BYTES = 16 * 1024 * 1024    # largest file the student's code may write
MAX_GROWTH = 256 * 1024 * 1024   # resident memory a tester may gain before it is replaced
REQUEST = struct.Struct("!I")
TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)


class HandinModules:
    """`m.<module>` imports the hand-in's module by bare name on first use, as the course's grader
    did (only the modules the plan's layout names)."""

    def __init__(self, names):
        self._names = frozenset(names)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._names:
            raise AttributeError(name)
        return importlib.import_module(name)


def child_outputs(scenario, modules, kwargs):
    """(header, npz bytes) of one scenario run, or of the student's exception."""
    import numpy as np

    try:
        outputs = scenario(HandinModules(modules), **kwargs)
        if not isinstance(outputs, dict):
            raise TypeError("scenario returned no outputs")
        described, arrays = {}, {}
        for i, (name, value) in enumerate(outputs.items()):
            info = describe(value)
            if info["kind"] == "ndarray":
                info["key"] = f"a{i}"
                arrays[info["key"]] = np.asarray(value)
            described[str(name)] = info
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return {"status": "ok", "outputs": described}, buf.getvalue()
    except BaseException as exc:  # noqa: BLE001 - the student's exception, SystemExit included
        return {"status": "error", "error": describe_error(exc)}, b""


# ---------------------------------------------------------------- in the tester process


class Fresh:
    """What of the process a test may change and the next test must not see changed."""

    def __init__(self):
        import numpy as np

        self.np, self.cwd, self.path = np, os.getcwd(), list(sys.path)
        self.errors, self.recursion = np.geterr(), sys.getrecursionlimit()

    def restore(self):
        """Each piece on its own: one the student's code broke leaves the others restored."""
        steps = [lambda timer=timer: signal.setitimer(timer, 0) for timer in TIMERS]
        steps += [channel.default_signals, lambda: os.chdir(self.cwd),
                  lambda: sys.path.__setitem__(slice(None), self.path),
                  lambda: self.np.seterr(**self.errors),
                  lambda: sys.setrecursionlimit(self.recursion)]
        for step in steps:
            try:
                step()
            except BaseException:  # noqa: BLE001 - broken by the student; the test will show it
                pass


def serve(tests, modules, fds, cpu_seconds):
    """The tester's life: set up as a test process, then run each test the runner names until it
    closes the request pipe. It ends here, whatever the student's code does."""
    requests, frames, log_fd, closing = fds
    try:
        for fd in closing:  # the report channel and the runner's ends: never the hand-in's
            os.close(fd)
        channel.default_signals()
        os.setpgid(0, 0)
        os.dup2(log_fd, 1)  # what the student prints goes to the runner, which keeps the start
        os.dup2(log_fd, 2)
        os.close(log_fd)
        sys.stdout.reconfigure(line_buffering=True)  # keep what was printed before a hang
        sys.stderr.reconfigure(line_buffering=True)
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        limit_cpu(cpu_seconds)  # a backstop: the runner stops each test at its own CPU time
        fresh = Fresh()
        while (index := _request(requests)) is not None:
            fresh.restore()
            scenario, kwargs = tests[index]
            header, blob = child_outputs(scenario, modules, kwargs)
            _flush()
            data = json.dumps(header, allow_nan=False).encode()
            view = memoryview(struct.pack("!II", len(data), len(blob)) + data + blob)
            while view:
                view = view[os.write(frames, view[:65536]):]
    finally:
        os._exit(0)


def _request(fd):
    head = b""
    while len(head) < REQUEST.size:
        chunk = os.read(fd, REQUEST.size - len(head))
        if not chunk:
            return None
        head += chunk
    return REQUEST.unpack(head)[0]


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the student may have replaced or closed it
            pass


# ---------------------------------------------------------------- in the runner


class Tester:
    """The runner's handle on one tester process."""

    def __init__(self, pid, fds, ctx):
        self.pid, (self.requests, self.frames, self.log), self.ctx = pid, fds, ctx
        self.clock = ((~pid) << 3) | 2  # the process's CPU clock (CPUCLOCK_SCHED), in ns
        self.status, self.rusage, self.rss = None, None, None
        os.set_blocking(self.log, False)

    @classmethod
    def start(cls, tests, modules, ctx, cpu_seconds, fork):
        """A new tester, or None when no process could be forked."""
        requests_r, requests_w = os.pipe()
        frames_r, frames_w = os.pipe()
        log_r, log_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = fork(ctx)
        if pid == 0:
            serve(tests, modules, (requests_r, frames_w, log_w,
                                   (requests_w, frames_r, log_r, ctx.fd)), cpu_seconds)
        for fd in (requests_r, frames_w, log_w):
            os.close(fd)
        if pid is None:
            for fd in (requests_w, frames_r, log_r):
                os.close(fd)
            return None
        return cls(pid, (requests_w, frames_r, log_r), ctx)

    def cpu(self):
        try:
            return time.clock_gettime(self.clock)
        except OSError:
            return None

    def run(self, index, cpu_seconds, wall_seconds):
        """Run test `index`: (payload, log, wait status or None, how it ended: None, "timeout",
        "too_big" or "output_limit", for a timeout which limit, CPU seconds used), or None
        when the tester was gone before it could take the test. `wall_seconds` is (idle, hard):
        past the first, a tester that is not using the CPU is stopped; past the second, any."""
        cpu0 = None if self.exited() else self.cpu()
        if self.rss is None:
            self.rss = _resident(self.pid)  # as it began: what a first test keeps counts too
        if cpu0 is None or self.rss is None:
            return None
        try:
            os.write(self.requests, REQUEST.pack(index))
        except OSError:
            return None
        started = time.monotonic()
        watch = _Watch(self, started, cpu0, cpu_seconds, wall_seconds)
        while (ended := watch.step()) is False:
            pass
        if ended is None:
            watch.drain_log()
        elif ended == "ended":
            ended = None  # no complete frame: the test crashed (test_status says how)
            self._await_end()
        used = watch.cpu_used()
        limit = watch.limit
        if ended is None and self.status is not None and os.WIFSIGNALED(self.status) and \
                os.WTERMSIG(self.status) == signal.SIGXCPU:
            ended, limit = "timeout", "cpu"  # the whole plan's backstop
        return bytes(watch.payload), b"".join(watch.log), self.status, ended, limit, used

    def _await_end(self, seconds=1.0):
        """The wait status of a tester that closed its frames: it is ending (the kernel closes a
        process's files before it can be reaped); one that lingers is killed."""
        deadline = time.monotonic() + seconds
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(0.001)
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            _, self.status, self.rusage = os.wait4(self.pid, 0)

    def exited(self):
        """Whether the tester has ended (its wait status is then kept)."""
        if self.status is None:
            done, status, usage = os.wait4(self.pid, os.WNOHANG)
            if done:
                self.status, self.rusage = status, usage
        return self.status is not None

    def fit(self, spare):
        """Whether the tester may run the next test: alive, one thread, no process of the run
        besides `spare`, the runner's, whoever started the runner (a warm slot's supervisor)
        and its own (with a namespace of its own; else no child of its own), and not MAX_GROWTH
        more resident memory than before its first test."""
        if self.exited():
            return False
        try:
            with open(f"/proc/{self.pid}/status", "rb") as f:
                threads = [line for line in f if line.startswith(b"Threads:")]
        except OSError:
            return False
        rss = _resident(self.pid)
        if threads != [b"Threads:\t1\n"] or rss is None or rss - self.rss > MAX_GROWTH:
            return False
        if self.ctx.isolated:
            ours = {os.getpid(), 1, channel.STARTER, self.pid, *spare}
            return not [p for p in channel.live_pids() if p not in ours]
        return not _children(self.pid)

    def stop(self):
        """Kill the tester's process group (and, isolated, every other process of the run) and
        reap it."""
        for fd in (self.requests, self.frames, self.log):
            os.close(fd)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.status is None:
            _, self.status, self.rusage = os.wait4(self.pid, 0)
        if self.ctx.isolated:
            channel.kill_others((self.ctx.pid,))


def _resident(pid):
    """A process's resident memory in bytes, or None."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return None


def _children(pid):
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += f.read().split()
        except OSError:
            pass
    return found


class _Watch:
    """One test's wait for its frame: its prints, its CPU time and its wall clock."""

    def __init__(self, tester, started, cpu0, cpu_seconds, wall_seconds):
        self.tester, self.cpu0, self.cpu_seconds = tester, cpu0, cpu_seconds
        self.deadline = started + wall_seconds[1]
        self.idle = IdleWatch(tester.pid, started + wall_seconds[0])
        self.payload, self.log, self.log_size, self.need = bytearray(), [], 0, None
        self.limit, self.last_cpu = None, cpu0
        self.open = [tester.frames, tester.log]

    def step(self):
        """False while the test runs; then None (a complete frame) or how it ended."""
        if self.need is None and len(self.payload) >= 8:
            hlen, blen = struct.unpack("!II", self.payload[:8])
            self.need = 8 + hlen + blen
        if self.need is not None and len(self.payload) >= self.need:
            return None
        if len(self.payload) > MAX_PAYLOAD + 8 or (self.need or 0) > MAX_PAYLOAD + 8:
            return "too_big"
        if self.log_size > PRINT_LIMIT:
            return "output_limit"
        cpu = self.tester.cpu() if not self.tester.exited() else None
        if cpu is not None:
            self.last_cpu = cpu
            if cpu - self.cpu0 > self.cpu_seconds:
                self.limit = "cpu"
                return "timeout"
        left = self.deadline - time.monotonic()
        if left <= 0 or (self.tester.status is None and self.idle.idle()):
            self.limit = "wall"
            return "timeout"
        if self.tester.frames not in self.open:
            return "ended"  # the tester closed its frames without a complete one
        ready, _, _ = select.select(self.open, [], [], min(left, 0.05))
        if not ready and self.tester.status is not None:
            return "ended"  # the tester is gone and nothing more is coming
        for fd in ready:
            self._read(fd)
        return False

    def _read(self, fd):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            self.open.remove(fd)
        elif fd == self.tester.frames:
            self.payload += chunk
        else:
            self._keep(chunk)

    def _keep(self, chunk):
        if self.log_size < LOG_BYTES:
            self.log.append(chunk[:LOG_BYTES - self.log_size])
        self.log_size += len(chunk)

    def drain_log(self):
        """What the test printed before its frame is in the pipe already: read it to the end."""
        while self.tester.log in self.open:
            try:
                chunk = os.read(self.tester.log, 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            self._keep(chunk)

    def cpu_used(self):
        if self.tester.rusage is not None:  # the tester ended: the kernel's total for it
            usage = self.tester.rusage
            return max(0.0, usage.ru_utime + usage.ru_stime - self.cpu0)
        cpu = self.tester.cpu()
        return max(0.0, (cpu if cpu is not None else self.last_cpu) - self.cpu0)

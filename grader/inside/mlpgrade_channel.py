"""The runner's side of the report channel: how the host learns what our runner, not the
hand-in, saw (docs/sandbox.md, "The report channel", has the protocol and why it is safe).

Before anything of the hand-in exists for Python, the runner forks a *reporter* that reads the
run's key from OUT/.mlpgrade-key, deletes it and keeps it only in its own memory. The runner
sends each report (a line of JSON) through a pipe; the reporter signs it (HMAC-SHA256) and writes
it to its stdout as one line, `\\x1emlpgrade1 <hex mac> <json>`. Test children are forked from
the runner, which never held the key, and close their copy of the pipe before any student code
runs; runner and reporter are not dumpable, so no process of the hand-in can open their
/proc/<pid>/fd, read their memory or ptrace them. A hand-in can still write to the sandbox's
stdout through another process (the sandbox's init), but it cannot sign.

Staged next to runner.py; standard library only.
"""

import hashlib
import hmac
import json
import os
import shutil
import signal
import stat
import sys
import time

KEY_FILE = ".mlpgrade-key"
MAGIC = b"\x1emlpgrade1 "
PR_SET_DUMPABLE = 4
#: Signals the runner and the reporter ignore, so a hand-in cannot stop them by accident or on
#: purpose with anything less than SIGKILL/SIGSTOP (which the host sees as the student's).
IGNORED = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM, signal.SIGTSTP, signal.SIGTTIN,
           signal.SIGTTOU, signal.SIGVTALRM, signal.SIGPROF]


def not_dumpable():
    """prctl(PR_SET_DUMPABLE, 0): /proc/<pid>/{fd,mem,environ} and ptrace closed to our uid."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def ignore_signals():
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)


def default_signals():
    """In a test child, before the hand-in's code: signals as any program has them."""
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_DFL)


class Reporter:
    """The runner's handle on the reporter process."""

    def __init__(self, out_dir):
        not_dumpable()
        ignore_signals()
        read_fd, self.fd = os.pipe()
        ack_r, ack_w = os.pipe()
        sys.stdout.flush()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.fd)
            os.close(ack_r)
            _reporter_main(out_dir, read_fd, ack_w)
        os.close(read_fd)
        os.close(ack_w)
        os.dup2(2, 1)  # the runner's own stdout is not the channel: only the reporter's is
        ack = os.read(ack_r, 1)
        os.close(ack_r)
        if ack != b"k":
            raise SystemExit("the reporter could not read the run's key")

    def send(self, report):
        """One report (a small JSON-able dict); False once the reporter is gone."""
        line = json.dumps(report, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self.fd, view):]
            return True
        except OSError:
            return False

    def close(self):
        """End the channel and wait until every report is out (the sandbox ends with us)."""
        os.close(self.fd)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return
            time.sleep(0.0002)  # it ends as soon as the last report is out


def _reporter_main(out_dir, read_fd, ack_w):
    code = 1
    try:
        path = os.path.join(out_dir, KEY_FILE)
        with open(path, "rb") as f:
            key = bytes.fromhex(f.read(200).decode())
        os.unlink(path)
        os.write(ack_w, b"k")
        os.close(ack_w)
        _relay(key, read_fd)
        code = 0
    except BaseException:  # noqa: BLE001 - the reporter never runs the runner's code
        pass
    os._exit(code)


def _relay(key, read_fd):
    pending = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            mac = hmac.new(key, line, hashlib.sha256).hexdigest().encode()
            frame = b"\n" + MAGIC + mac + b" " + line + b"\n"
            view = memoryview(frame)
            while view:
                view = view[os.write(1, view):]


#: Who started the runner (read when the runner imports us, before anything of the hand-in
#: runs): a warm slot's job supervisor, or the box's init. Never killed by the runner.
STARTER = os.getppid()


def kill_others(spare, rounds=200):
    """SIGKILL every process of our namespace but ourselves, `spare`, pid 1 and whoever started
    us, until none is left (kill(-1) would take the reporter too), reaping our own children."""
    me = os.getpid()
    for _ in range(rounds):
        others = [pid for pid in live_pids() if pid not in (me, 1, STARTER, *spare)]
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        if not others:
            return
        time.sleep(0.002)


def live_pids():
    """The processes of our namespace that have not ended."""
    return [pid for pid in _pids() if not _zombie(pid)]


def _pids():
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


SUFFIXES = {"json": ".json", "npz": ".npz", "log": ".log"}


def write_files(out_dir, test_id, files):
    """Write one test's files under fresh names no hand-in can guess or have planted, and
    return its report: {"k": "test", "id", "files": {kind: [name, sha256, size]}}. A file that
    cannot be written (the hand-in filled the disk) is left out of the report."""
    listed = {}
    for kind, data in files.items():
        name = f"r-{os.urandom(8).hex()}{SUFFIXES[kind]}"
        try:
            fd = os.open(os.path.join(out_dir, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError:
            continue
        listed[kind] = [name, hashlib.sha256(data).hexdigest(), len(data)]
    return {"k": "test", "id": test_id, "files": listed}


def intact(out_dir, files, report):
    """Whether every file of a test (`files`: {kind: bytes}) is in the output area as
    `write_files` reported it (`report`): listed, a regular file, and holding exactly those
    bytes. Read only once every process of the hand-in is dead."""
    listed = report["files"]
    return set(listed) == set(files) and all(
        _holds(os.path.join(out_dir, listed[kind][0]), data) for kind, data in files.items())


def _holds(path, data):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        chunks, size = [], 0
        while size <= len(data):
            chunk = os.read(fd, len(data) + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def clear(out_dir, keep=frozenset()):
    """Remove whatever is in the output area but the names in `keep` (best effort: a hand-in
    may have made a mess)."""
    try:
        entries = os.listdir(out_dir)
    except OSError:
        return
    for entry in entries:
        if entry in keep:
            continue
        path = os.path.join(out_dir, entry)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass

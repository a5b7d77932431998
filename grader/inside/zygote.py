"""The zygote: the first process of every slot's box (bubblewrap, a container, or the process box),
PID 1 where the box has a process namespace of its own.

    python -I -B zygote.py [--alone] [--counters]

It imports the student runtime (NumPy, matplotlib with its font list) once, then forks, for each
job, a *supervisor* and waits for it; it never reads a job, a key or a job's output, so every
job starts from a memory image that holds nothing of any other job (docs/sandbox.md, "Slots").
It ignores SIGCHLD: the kernel reaps its children and no job's CPU adds to what /proc/1/stat
shows. The supervisor forks the job's child before it reads anything, then reads the job from
the host on stdin, empties the job's output area (the host has collected it), writes the run's
key there for the runner's reporter and sends the child what to run (never the key): the child
runs the job's script as `python -I -B <entry> *args` would, with the box's original
environment, the hand-in as working directory and the job's CPU rlimit. After the child ends the
supervisor kills every other process of the box but the zygote (it is their subreaper), reaps
them, and puts every writable place (/tmp, /dev, /dev/shm) back as it was at `ready`: new
entries are removed; an entry of its own that a hand-in changed cannot be restored, so it
reports the slot `clean: false` and the host starts a new one. System V IPC objects (the box's
IPC namespace outlives a job) are removed too. Then it reports the job on stdout, a channel only
it and the zygote hold, and ends. The job's output goes to the host as it comes, up to the job's
cap, past which the supervisor stops the job (the output limit's one place). Where the host
could give the box no size-capped output area of its own (a container started without root), the
area is the box's own size-capped tmpfs and the supervisor sends the host its files after the
job (`send_out`: every job process is dead by then). Input on stdin during a job means the host
is gone: the supervisor kills the job and the zygote ends.

`--alone`: the process box (trusted code only) has no namespace of its own: a job's processes
are those of the zygote's session, and there is nothing to put back. `--counters`: the box shows
its own cgroup (a container): ready, every report and, during a job, a tick every TICK seconds
carry its counters (CPU, OOM kills, pids.max hits), on which the host keeps the CPU budget as it
does on a bwrap slot's cgroup, which it reads itself.

Frames both ways are a 4-byte big-endian length and JSON. Standard library only (it runs under
the student runtime).
"""

import base64
import ctypes
import importlib.util
import json
import os
import resource
import runpy
import select
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlpgrade_box as box  # ours, found only next to this file
import mlpgrade_warmup

sys.path.pop(0)

PR_SET_DUMPABLE = 4
MAX_FRAME = 1024 * 1024
#: A box without a process namespace of its own (the process box, trusted code only): a job's
#: processes are those of the zygote's session, and there is no box to put back.
ALONE = "--alone" in sys.argv
#: A box that shows its own cgroup (a container): its counters go to the host in every report
#: and, while a job runs, every TICK seconds (the host keeps the CPU budget on them).
COUNTERS = "--counters" in sys.argv
TICK = 0.05
KEY_FILE = ".mlpgrade-key"  # where the runner's reporter reads the run's key (and deletes it)


def read_frame(fd):
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack("!I", head)
    if size > MAX_FRAME:
        return None
    body = _read_exactly(fd, size)
    return None if body is None else json.loads(body)


def _read_exactly(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def write_frame(fd, obj):
    data = json.dumps(obj).encode()
    view = memoryview(struct.pack("!I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def warm_up():
    """Import once what hand-ins import (NumPy; matplotlib (Agg), fonts from a writable copy of
    the runtime's cache) and `zipfile`, which a first `np.savez` imports (the runner's outputs)."""
    import numpy  # noqa: F401 - imported once here, for every hand-in of the slot
    importlib.import_module("zipfile")  # the standard library's: nothing of any job
    if importlib.util.find_spec("matplotlib") is None:
        return  # another assignment's runtime: nothing more to import
    os.environ["MPLCONFIGDIR"] = mlpgrade_warmup.writable_font_cache()  # before it is read
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # loads the font list once


def plant_key(out, key):
    """The run's key for the runner's reporter, readable by our uid only."""
    if not key:
        return
    fd = os.open(os.path.join(out, KEY_FILE), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, key.encode())
    finally:
        os.close(fd)


def kill_all():
    """SIGKILL every process of the box but the zygote and us, and reap them all (the job's
    supervisor is their subreaper): in a namespace of our own `kill(-1)` (which spares the
    caller and PID 1), in a box without one the zygote's session."""
    zygote, me = (1 if not ALONE else ZYGOTE[0]), os.getpid()
    for _ in range(1000):
        left = others(zygote, me)
        for pid in ([-1] if left and not ALONE else left):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        if not left:
            return True
        time.sleep(0.001)
    return False


def others(zygote, me):
    """The live processes of the box but the zygote and us (alone: of the zygote's session)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (zygote, me):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != b"Z" and (not ALONE or int(fields[3]) == zygote):
            found.append(int(name))
    return found


def child(spec_r, env, out_w, err_w):
    """In the job's first process, forked before its supervisor read the job: wait for what to
    run (never the key), then become a fresh `python -I -B entry *args` for this job."""
    code = 1
    try:
        job = read_frame(spec_r)
        if job is None:
            os._exit(1)  # the job never came (the host went away)
        if not ALONE:  # alone, the job stays in the zygote's session (kill_all finds it there)
            os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)  # the control channel and every other fd of the zygote
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the memory limit takes the job's processes, not the zygote
        except OSError:
            pass
        cpu = int(job["cpu"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        os.environ.clear()
        os.environ.update(env)
        os.chdir(job["cwd"])
        code = run_entry(job["entry"], job["args"])
    finally:
        os._exit(code)


def run_entry(entry, args):
    """Run the script as __main__; its exit status as the interpreter would give it."""
    sys.argv = [entry, *args]
    sys.path[0] = os.path.dirname(entry)
    code = 0
    try:
        runpy.run_path(entry, run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - as the interpreter would: print it, exit 1
        import traceback
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


def reap(pid):
    """Reap every ended child (as PID 1 the orphans of the job are ours, and a zombie still
    counts against the process limit); the wait status of `pid` once it has ended."""
    status = None
    while True:
        try:
            done, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if not done:
            return status
        if done == pid:
            status = st


def fork_child(env):
    """The job's first process, forked while we still hold nothing of the job: (pid, the pipe
    its spec goes down, its stdout and stderr)."""
    spec_r, spec_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (spec_w, out_r, err_r):
            os.close(fd)
        child(spec_r, env, out_w, err_w)
    for fd in (spec_r, out_w, err_w):
        os.close(fd)
    return pid, spec_w, out_r, err_r


def run_job(job, forked, control_in, control_out):
    """Send the forked child what to run, pass its stdout/stderr on to the host as they come
    (to the job's cap: the host keeps what came before a limit fired), wait for it."""
    pid, spec_w, out_r, err_r = forked
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    write_frame(spec_w, {k: job[k] for k in ("entry", "args", "cwd", "cpu")})
    os.close(spec_w)
    cap = int(job["output"])
    names = {out_r: "stdout", err_r: "stderr"}
    total, status, exceeded, ticked = 0, None, False, started
    open_fds = [out_r, err_r]
    while open_fds:
        if status is None:
            status = reap(pid)
        ready, _, _ = select.select(open_fds + [control_in], [], [], 0.02)
        if control_in in ready:  # the host never writes during a job: it is gone
            kill_all()
            os._exit(0)
        if not ready and status is not None:
            break  # the child is gone; whatever it left holding the pipes dies below
        if COUNTERS and time.monotonic() - ticked >= TICK:
            ticked = time.monotonic()
            write_frame(control_out, {"counters": box.counters()})
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            keep = chunk[:max(0, cap - total)]
            total += len(chunk)
            if keep:
                write_frame(control_out, {"stream": names[fd],
                                          "data": base64.b64encode(keep).decode()})
        if total > cap and not exceeded:
            exceeded = True
            kill_all()
    if status is None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # kill_all reaped it (the output cap)
            status = signal.SIGKILL  # the wait status of a death by SIGKILL
    ended = time.monotonic()
    killed = kill_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.close(out_r)
    os.close(err_r)
    return {"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "output_exceeded": exceeded, "all_killed": killed,
            "seconds": {"child": ended - started, "kill": time.monotonic() - ended}}


CHUNK = 256 * 1024
MAX_FILES = 1024  # as the host's OutputArea.collect


def send_out(out, control_out):
    """The regular files of /out (no links, no folders, no hidden files, at most MAX_FILES),
    sent to the host in frames of CHUNK bytes; /out is a tmpfs of the job's disk size, so what
    is sent is capped by it. Whether the job filled it."""
    with os.scandir(out) as entries:
        files = [e for e in entries if e.is_file(follow_symlinks=False)
                 and not e.name.startswith(".")][:MAX_FILES]
    for entry in files:
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            first = True
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk and not first:
                    break
                write_frame(control_out, {"file": entry.name, "first": first,
                                          "data": base64.b64encode(chunk).decode()})
                first = False
                if not chunk:
                    break
        finally:
            os.close(fd)
    st = os.statvfs(out)
    return st.f_bavail * st.f_frsize < 64 * 1024 or st.f_favail == 0


PR_SET_CHILD_SUBREAPER = 36
ZYGOTE = [1]  # the zygote's pid (1 in a namespace of its own), set by main


def main():
    """PID 1: warm up, say ready, then for each job fork a pristine supervisor (`supervise`)
    and wait until it is done. We never read a job, a key or a job's output: what every job's
    process is forked from holds nothing of an earlier one. Our children are reaped by the
    kernel (SIGCHLD ignored), so no job's CPU adds to what /proc/1/stat shows."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # PID 1: no stray KeyboardInterrupt
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/1/mem, /proc/1/fd
    env = dict(os.environ)
    ZYGOTE[0] = os.getpid()
    warm_up()
    control_in, control_out = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    roots = [] if ALONE else box.writable_roots()
    before = box.snapshot(roots)
    ready = {"ready": True, "roots": roots}
    if COUNTERS:
        ready["counters"] = box.counters()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        done_r, done_w = os.pipe()
        if os.fork() == 0:
            os.close(done_r)
            os._exit(supervise(env, (control_in, control_out), (roots, before), done_w, ready))
        ready = None
        os.close(done_w)
        said = os.read(done_r, 1)
        os.close(done_r)
        if said != b"n":  # the host went away, the box is unfit, or the supervisor was killed
            kill_all()
            return


def supervise(env, control, state, done_w, ready):
    """One job, in a process forked from the pristine zygote: fork the job's child before
    reading anything, then read the job, plant its key, run it, clean the box and report.
    The reporter's key and the job's output live here and die with us. The first one says
    `ready` once the box holds all it holds between jobs (zygote, supervisor, child)."""
    (control_in, control_out), (roots, before) = control, state
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # the job's orphans are ours
    forked = fork_child(env)
    if ready is not None:
        write_frame(control_out, ready)
    job = read_frame(control_in)
    if job is None or not box.empty(job["out"]):  # host gone; or what the last job left there
        kill_all()
        return 0  # the zygote ends: the host runs the job in a new slot
    plant_key(job["out"], job.pop("key", None))
    report = run_job(job, forked, control_in, control_out)
    started = time.monotonic()
    killed = report.pop("all_killed")
    if job.get("collect"):
        report["out_full"] = send_out(job["out"], control_out)
    report["clean"] = killed and (ALONE or box.remove_ipc()) and box.restore(roots, before)
    report["seconds"]["restore"] = time.monotonic() - started
    if COUNTERS:
        report["counters"] = box.counters()
    write_frame(control_out, report)
    os.write(done_w, b"n")
    return 0


if __name__ == "__main__":
    main()

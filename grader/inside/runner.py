"""The in-sandbox runner: import the runtime once, then fork one child per test.

    python -I -B runner.py --out DIR [--data DIR] --plan JSON

CWD is the hand-in root. The plan (grader/run.py writes it) names the scenario module (staged next
to this file), the hand-in's layout (its folders, the order they go on sys.path, its modules), the
environment of the children, and the tests, each with its time limit. For each test a forked
child imports the hand-in's modules afresh, runs the scenario and sends its outputs back through a
pipe; a crash, hang or flood in one child costs only
that test. The runner writes, per test, a JSON header (how it ran, what came back), an .npz of the
arrays that came back (no pickle) and the test's prints into OUT under fresh random names, and
reports their names, sizes and SHA-256 on the signed report channel (mlpgrade_channel.py): the
host reads nothing else. It compares nothing: that happens outside, where the golden outputs are.
Runs under the student runtime: standard library and NumPy only.
"""

import argparse
import importlib
import importlib.util
import io
import json
import os
import resource
import select
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mlpgrade_channel as channel  # noqa: E402 - ours, found only next to this file
from mlpgrade_describe import describe, describe_error  # noqa: E402 - as above
from mlpgrade_limits import IdleWatch, cpu_spent, limit_cpu  # noqa: E402 - as above

sys.path.remove(HERE)
MAX_PAYLOAD = 32 * 1024 * 1024   # one test's outputs; the parent refuses more
LOG_BYTES = 64 * 1024            # one test's own prints kept for feedback
PRINT_LIMIT = 64 * 1024 * 1024  # printing more than this fails the test (output limit)
FILE_BYTES = 16 * 1024 * 1024    # largest file the student's code may write


class HandinModules:
    """`m.<module>` imports the hand-in's module by bare name on first use, as the course's grader
    did (only the modules the plan's layout names)."""

    def __init__(self, names):
        self._names = frozenset(names)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._names:
            raise AttributeError(name)
        return importlib.import_module(name)


def run_child(scenario, modules, kwargs, pipes, cpu_seconds):
    """In the forked child: run one scenario and send header + npz through the pipe. Whatever
    happens (the student's code can raise anything, even from __repr__), it ends here."""
    write_fd, log_fd, closing = pipes
    try:
        for fd in closing:  # the report channel and the runner's ends: never the hand-in's
            os.close(fd)
        channel.default_signals()
        os.setpgid(0, 0)
        os.dup2(log_fd, 1)  # what the student prints goes to the parent, which keeps the start
        os.dup2(log_fd, 2)
        sys.stdout.reconfigure(line_buffering=True)  # keep what was printed before a hang
        sys.stderr.reconfigure(line_buffering=True)
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        limit_cpu(cpu_seconds)
        header, blob = child_outputs(scenario, modules, kwargs)
        data = json.dumps(header, allow_nan=False).encode()
        os.write(write_fd, struct.pack("!II", len(data), len(blob)))
        view = memoryview(data + blob)
        while view:
            view = view[os.write(write_fd, view[:65536]):]
    finally:
        os._exit(0)


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


def read_child(pid, read_fd, log_fd, wall_seconds, cpu_seconds):
    """Collect a child's payload and prints until it ends or its wall clock runs out; then kill
    its group. `wall_seconds` is (idle, hard): past the first, a child that is not using the
    CPU (it sleeps or waits) is stopped; past the second, any child. A child that computes on a
    busy host thus runs until its CPU time is spent, never stopped for the host's load.

    The payload is length-prefixed, so a complete one ends the wait even while processes the
    child left behind still hold the pipe open; a child that died without one ends it too.
    Returns (payload, log, wait status or None, how it ended: None, "timeout", "too_big" or
    "output_limit", for a timeout which limit: "cpu" or "wall", and the child's rusage)."""
    started = time.monotonic()
    deadline = started + wall_seconds[1]
    idle = IdleWatch(pid, started + wall_seconds[0])
    payload, log, log_size, ended, status, usage = bytearray(), [], 0, None, None, None
    need = None
    open_fds = [read_fd, log_fd]
    while True:
        if need is None and len(payload) >= 8:
            hlen, blen = struct.unpack("!II", payload[:8])
            need = 8 + hlen + blen
        if need is not None and len(payload) >= need:
            break
        if len(payload) > MAX_PAYLOAD + 8 or (need is not None and need > MAX_PAYLOAD + 8):
            ended = "too_big"
            break
        if log_size > PRINT_LIMIT:
            ended = "output_limit"
            break
        if status is None:
            done, st, ru = os.wait4(pid, os.WNOHANG)
            if done:
                status, usage = st, ru
        left = deadline - time.monotonic()
        if left <= 0 or (status is None and idle.idle()):
            ended = "timeout"
            break
        if not open_fds or (status is not None and read_fd not in open_fds):
            break
        ready, _, _ = select.select(open_fds, [], [], min(left, 0.05))
        if not ready and status is not None:
            break  # the child is gone and nothing more is coming
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
            elif fd == read_fd:
                payload += chunk
            else:
                if log_size < LOG_BYTES:
                    log.append(chunk[:LOG_BYTES - log_size])
                log_size += len(chunk)
    status, usage = end_child(pid, status, usage)
    limit = "wall" if ended == "timeout" else None
    if ended is None and os.WIFSIGNALED(status) and cpu_spent(status, usage, cpu_seconds):
        ended, limit = "timeout", "cpu"
    return bytes(payload), b"".join(log), status, ended, limit, usage


def end_child(pid, status, usage):
    """Kill the child's process group and reap the child: (wait status, rusage)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        _, status, usage = os.wait4(pid, 0)
    return status, usage


def run_test(test, module, modules, out_dir, ctx):
    """Fork, run, collect, and write the test's files; returns (files, report) where files is
    {kind: bytes} and report is what the signed channel says about them.

    A test may name its own scenario module ("module") and keyword arguments ("kwargs", plain
    JSON) for its scenario function. "timeout" is its CPU seconds, "wall" the wall clock past
    which an idle child is stopped, "wall_max" the wall clock past which any child is."""
    test_id = test["id"]
    if test.get("module"):
        module = importlib.import_module(test["module"])
    scenario = getattr(module, test.get("scenario", test_id))
    cpu = float(test["timeout"])
    start = time.monotonic()
    wall = float(test.get("wall", cpu))
    collected = fork_and_collect(scenario, modules, test.get("kwargs", {}),
                                 (cpu, (wall, float(test.get("wall_max", wall)))), ctx)
    if collected is None:  # a previous test's processes still hold the process limit
        files = {"json": json.dumps({"id": test_id, "status": "not_run"}).encode()}
    else:
        payload, log, status, ended, limit, usage = collected
        used = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
        header, blob = decode_payload(payload, ended)
        result = test_status(header, status, ended)
        # the child's CPU: the golden set records our reference's, the tests' limits follow it
        result.update(id=test_id, seconds=round(time.monotonic() - start, 4), cpu=round(used, 4))
        if limit:
            result["limit"] = limit
        files = {"json": json.dumps(result, allow_nan=False).encode()}
        if blob:
            files["npz"] = blob
        if log:
            files["log"] = log
    return files, channel.write_files(out_dir, test_id, files)


def fork_and_collect(scenario, modules, kwargs, limits, ctx):
    """Run the scenario in a forked child: (payload, log, wait status, how it ended, limit),
    or None when no child could be forked."""
    read_fd, write_fd = os.pipe()
    log_r, log_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = fork_when_possible(ctx)
    if pid is None:
        for fd in (read_fd, write_fd, log_r, log_w):
            os.close(fd)
        return None
    if pid == 0:
        run_child(scenario, modules, kwargs, (write_fd, log_w, (read_fd, log_r, ctx.fd)),
                  limits[0])
    os.close(write_fd)
    os.close(log_w)
    collected = read_child(pid, read_fd, log_r, limits[1], limits[0])
    os.close(read_fd)
    os.close(log_r)
    if ctx.isolated:
        channel.kill_others((ctx.pid,))
    return collected


def decode_payload(payload, ended):
    """The child's (header, npz blob) from a complete frame; (None, None) otherwise. Only the
    keys a child writes are kept: how long it ran, and which test it was, are ours to say."""
    if ended is not None or len(payload) < 8:
        return None, None
    hlen, blen = struct.unpack("!II", payload[:8])
    if len(payload) != 8 + hlen + blen:
        return None, None
    try:
        header = json.loads(payload[8:8 + hlen])
    except Exception:  # noqa: BLE001 - the child's bytes: any failure means no header
        return None, None
    if not isinstance(header, dict) or header.get("status") not in ("ok", "error"):
        return None, None
    return {k: header[k] for k in ("status", "outputs", "error") if k in header}, \
        payload[8 + hlen:]


def test_status(header, status, ended):
    """How the test ended: the limit that stopped it, a crash (and its signal or exit code), or
    the child's own header."""
    if ended is not None:
        return {"status": ended}
    if header is None:
        result = {"status": "crashed"}
        if os.WIFSIGNALED(status):
            result["signal"] = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            result["exit_code"] = os.WEXITSTATUS(status)
        return result
    return header


def fork_when_possible(ctx, attempts=50):
    """os.fork(), retried while the process limit is exhausted; None if it never frees up."""
    for _ in range(attempts):
        try:
            return os.fork()
        except BlockingIOError:
            if ctx.isolated:
                channel.kill_others((ctx.pid,))
            time.sleep(0.1)
    return None


def prepare(plan):
    """Set the children's environment, import our scenario modules and what hand-ins import at
    the top (once, so no forked child pays for it). Nothing of the hand-in is on sys.path yet."""
    layout = plan["handin"]
    for var, value in plan["env"].items():
        os.environ.setdefault(var, value)
    sys.path.insert(0, HERE)
    warmup = importlib.import_module("mlpgrade_warmup")
    module = importlib.import_module(plan["module"])
    for test in plan["tests"]:  # ours, imported before the hand-in's folders join sys.path
        if test.get("module"):
            importlib.import_module(test["module"])
    sys.path.remove(HERE)
    os.environ.setdefault("MPLCONFIGDIR", warmup.writable_font_cache())
    import numpy  # noqa: F401 - imported once here, so no forked child pays for it
    # A runtime without matplotlib (another assignment's) simply has nothing to pre-import.
    if warmup.mentions(os.getcwd(), layout["folders"], "matplotlib") and \
            importlib.util.find_spec("matplotlib") is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot
    return module, warmup


def add_handin(plan, warmup):
    """The hand-in's folders go on sys.path *after* the standard library and the runtime's
    packages, as a course grader started from the handout had them: a hand-in file named like
    a standard module (zipfile.py) shadows nothing, of ours or of NumPy's. Then its sources
    are compiled once (compiling runs none of its code; a file that crashes the compiler is
    simply left to fail where it is imported)."""
    root = os.getcwd()
    sys.path.extend(os.path.join(root, folder) for folder in plan["handin"]["path"])
    warmup.precompile(root, plan["handin"]["folders"])


class Context:
    """What every test of one run shares: the reporter and whether we are alone in our
    process namespace (bwrap, docker: kill leftovers between tests)."""

    def __init__(self, reporter, isolated):
        self.reporter, self.isolated = reporter, isolated
        self.fd, self.pid = reporter.fd, reporter.pid


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--isolated", action="store_true",
                        help="alone in a process namespace: kill leftovers between tests")
    args = parser.parse_args(argv)
    ctx = Context(channel.Reporter(args.out), args.isolated)
    plan = json.loads(args.plan)
    module, warmup = prepare(plan)
    import numpy
    ctx.reporter.send({"k": "ready", "python": sys.version.split()[0],
                       "numpy": numpy.__version__})
    # From here on the hand-in's code can run: everything after is the student's result.
    add_handin(plan, warmup)
    if args.data:
        os.environ["MLPGRADE_DATA"] = args.data
    results = {}
    for test in plan["tests"]:
        results[test["id"]], report = run_test(test, module, plan["handin"]["modules"],
                                               args.out, ctx)
        if not ctx.reporter.send(report):
            raise SystemExit(3)  # the hand-in killed the reporter: nothing more can count
    if args.isolated:
        # Every process the hand-in started is gone now: write each test's files afresh, so
        # whatever a later test planted, changed or deleted among earlier results is undone.
        channel.kill_others((ctx.pid,))
        channel.clear(args.out)
        for test_id, files in results.items():
            ctx.reporter.send(channel.write_files(args.out, test_id, files))
    ctx.reporter.send({"k": "done"})
    ctx.reporter.close()


if __name__ == "__main__":
    main()

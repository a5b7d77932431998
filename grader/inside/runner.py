"""The in-sandbox runner: import the runtime once, then fork one child per test.

    python -I -B runner.py --out DIR [--data DIR] --plan JSON

CWD is the hand-in root. The plan (grader/run.py writes it) names the scenario module (staged next
to this file), the hand-in's layout (its folders, the order they go on sys.path, its modules), the
environment of the children, and the tests, each with its time limit. For each test a forked
child imports the hand-in's modules afresh, runs the scenario and sends its outputs back through a
pipe; a crash, hang or flood in one child costs only
that test. The runner writes, per test, OUT/<id>.json (how it ran, what came back) and, when arrays
came back, OUT/<id>.npz (no pickle). It compares nothing: that happens outside, where the golden
outputs are. Runs under the student runtime: standard library and NumPy only.
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
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
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


def describe(value):
    """What came back, as plain data: arrays go to the npz, everything else is described."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return {"kind": "ndarray", "type": type(value).__name__}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"kind": "value", "type": type(value).__name__, "value": value}
    text = repr(value)
    return {"kind": "other", "type": type(value).__name__, "repr": text[:200]}


def student_traceback(exc):
    """The traceback lines from the hand-in's own files (the student can act on those)."""
    root = os.getcwd() + os.sep
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            rel = frame.filename[len(root):]
            lines.append(f'File "{rel}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append("    " + frame.line.strip())
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root):
        lines.append(f'File "{exc.filename[len(root):]}", line {exc.lineno}')
        if exc.text:
            lines.append("    " + exc.text.strip())
    return lines


def run_child(scenario, modules, kwargs, write_fd, log_fd, cpu):
    """In the forked child: run one scenario and send header + npz through the pipe."""
    import math

    import numpy as np

    os.setpgid(0, 0)
    limit = max(1, math.ceil(cpu))  # RLIMIT_CPU counts whole seconds: SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
    os.dup2(log_fd, 1)  # what the student prints goes to the parent, which keeps the start
    os.dup2(log_fd, 2)
    sys.stdout.reconfigure(line_buffering=True)  # keep what was printed before a hang or crash
    sys.stderr.reconfigure(line_buffering=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    header, blob = {"status": "ok"}, b""
    try:
        outputs = scenario(HandinModules(modules), **kwargs)
        if not isinstance(outputs, dict):
            raise TypeError("scenario returned no outputs")
        header["outputs"] = {}
        arrays = {}
        for i, (name, value) in enumerate(outputs.items()):
            info = describe(value)
            if info["kind"] == "ndarray":
                info["key"] = f"a{i}"
                arrays[info["key"]] = np.asarray(value)
            header["outputs"][name] = info
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        blob = buf.getvalue()
    except BaseException as exc:  # noqa: BLE001 - the student's exception, SystemExit included
        header = {"status": "error", "error": {
            "type": type(exc).__name__, "message": str(exc)[:2000],
            "traceback": student_traceback(exc)[-20:]}}
    data = json.dumps(header).encode()
    os.write(write_fd, struct.pack("!II", len(data), len(blob)))
    view = memoryview(data + blob)
    while view:
        view = view[os.write(write_fd, view[:65536]):]
    os._exit(0)


def read_child(pid, read_fd, log_fd, timeout):
    """Collect a child's payload and prints within its time limit; then kill its group.

    The payload is length-prefixed, so a complete one ends the wait even while processes the
    child left behind still hold the pipe open; a child that died without one ends it too.
    Returns (payload, log, wait status or None, how it ended: None, "timeout", "too_big" or
    "output_limit", the child's CPU seconds)."""
    deadline = time.monotonic() + timeout
    payload, log, log_size, ended, status, cpu = b"", [], 0, None, None, 0.0
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
            done, st, usage = os.wait4(pid, os.WNOHANG)
            if done:
                status, cpu = st, usage.ru_utime + usage.ru_stime
        left = deadline - time.monotonic()
        if left <= 0:
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
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
    return payload, b"".join(log), status, ended, cpu


def run_test(test, module, modules, out_dir, isolated):
    """Fork, run, collect, and write OUT/<id>.json (+ .npz, + .log) for one test.

    A test may name its own scenario module ("module") and keyword arguments ("kwargs", plain
    JSON) for its scenario function.
    """
    test_id = test["id"]
    if test.get("module"):
        module = importlib.import_module(test["module"])
    scenario = getattr(module, test.get("scenario", test_id))
    start = time.monotonic()
    collected = fork_and_collect(scenario, modules, test.get("kwargs", {}),
                                 float(test["timeout"]), isolated,
                                 float(test.get("cpu", test["timeout"])))
    if collected is None:  # a previous test's processes still hold the process limit
        files = {test_id + ".json": json.dumps({"id": test_id, "status": "not_run"}).encode()}
        write_files(out_dir, files)
        return files
    payload, log, status, ended, cpu = collected
    if ended is None and os.WIFSIGNALED(status) and (
            os.WTERMSIG(status) == signal.SIGXCPU or
            os.WTERMSIG(status) == signal.SIGKILL and cpu >= float(test.get("cpu", 1e9))):
        ended = "timeout"  # its CPU limit
    header, blob = decode_payload(payload, ended)
    result = {"id": test_id, "seconds": round(time.monotonic() - start, 4),
              "cpu": round(cpu, 4)}
    result.update(test_status(header, status, ended))
    files = {test_id + ".json": json.dumps(result).encode()}
    if blob:
        files[test_id + ".npz"] = blob
    if log:
        files[test_id + ".log"] = log
    write_files(out_dir, files)
    return files


def fork_and_collect(scenario, modules, kwargs, timeout, isolated, cpu):
    """Run the scenario in a forked child: (payload, log, wait status, how it ended), or None
    when no child could be forked."""
    read_fd, write_fd = os.pipe()
    log_r, log_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = fork_when_possible(isolated)
    if pid is None:
        for fd in (read_fd, write_fd, log_r, log_w):
            os.close(fd)
        return None
    if pid == 0:
        os.close(read_fd)
        os.close(log_r)
        run_child(scenario, modules, kwargs, write_fd, log_w, cpu)
    os.close(write_fd)
    os.close(log_w)
    collected = read_child(pid, read_fd, log_r, timeout)
    os.close(read_fd)
    os.close(log_r)
    if isolated:
        kill_leftovers()
    return collected


def decode_payload(payload, ended):
    """The child's (header, npz blob) from a complete frame; (None, None) otherwise."""
    if ended is not None or len(payload) < 8:
        return None, None
    hlen, blen = struct.unpack("!II", payload[:8])
    if len(payload) != 8 + hlen + blen:
        return None, None
    try:
        header = json.loads(payload[8:8 + hlen])
    except ValueError:
        header = None
    return header, payload[8 + hlen:]


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


def write_files(out_dir, files):
    for name, data in files.items():
        path = os.path.join(out_dir, name)
        try:
            os.unlink(path)  # a student's process may have planted a link here
        except OSError:
            pass
        with open(path, "xb") as f:
            f.write(data)


def fork_when_possible(isolated, attempts=50):
    """os.fork(), retried while the process limit is exhausted; None if it never frees up."""
    for _ in range(attempts):
        try:
            return os.fork()
        except BlockingIOError:
            if isolated:
                kill_leftovers()
            time.sleep(0.1)
    return None


def kill_leftovers():
    """Alone in our process namespace: whatever a test left running (a daemon) dies here, so
    it cannot touch the next test. kill(-1) spares only ourselves and the namespace's init."""
    try:
        os.kill(-1, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def prepare(plan):
    """Set the children's environment, import our scenario modules and what hand-ins import at
    the top (once, so no forked child pays for it), then put the hand-in's folders on sys.path."""
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
    root = os.getcwd()
    # A runtime without matplotlib (another assignment's) simply has nothing to pre-import.
    if warmup.mentions(root, layout["folders"], "matplotlib") and \
            importlib.util.find_spec("matplotlib") is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot
    sys.path[:0] = [os.path.join(root, folder) for folder in layout["path"]]
    warmup.precompile(root, layout["folders"])
    return module


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--isolated", action="store_true",
                        help="alone in a process namespace: kill leftovers between tests")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan)
    module = prepare(plan)
    if args.data:
        os.environ["MLPGRADE_DATA"] = args.data
    results = {}
    for test in plan["tests"]:
        results.update(run_test(test, module, plan["handin"]["modules"], args.out,
                                args.isolated))
    if args.isolated:
        # Every process the hand-in started is gone now: rewrite what each test produced, so
        # whatever a later test planted or deleted among earlier results is undone.
        kill_leftovers()
        for entry in os.listdir(args.out):
            try:
                os.unlink(os.path.join(args.out, entry))
            except OSError:
                pass
        write_files(args.out, results)
    import numpy
    done = {"done": True, "python": sys.version.split()[0], "numpy": numpy.__version__}
    write_files(args.out, {"runner.json": json.dumps(done).encode()})


if __name__ == "__main__":
    main()

"""The in-sandbox runner: import the runtime once, then run the tests in a tester.

    python -I -B runner.py --out DIR [--data DIR] --plan JSON

CWD is the hand-in root. The plan (grader/run.py writes it) names the scenario module (staged next
to this file), the hand-in's layout (its folders, the order they go on sys.path, its modules), the
environment of the test processes, and the tests, each with its time limits. A forked tester
(mlpgrade_tester.py) runs the tests one after another, importing the hand-in's modules on first
use; after a test that crashed, hit a limit or left the tester unfit, the next test gets a fresh
tester, so a crash, hang or flood costs only the tests it touches. The runner writes, per test, a
JSON header (how it ran, what came back), an .npz of the arrays that came back (no pickle) and
the test's prints into OUT under fresh random names, and reports their names, sizes and SHA-256
on the signed report channel (mlpgrade_channel.py): the grading machine reads nothing else. It
compares nothing: that happens outside, where the golden outputs are.
Runs under the student runtime: standard library and NumPy only.
"""

import argparse
import gc
import importlib
import importlib.util
import json
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mlpgrade_channel as channel  # noqa: E402 - ours, found only next to this file
from mlpgrade_tester import Tester, child_outputs  # noqa: E402 - as above

sys.path.remove(HERE)


class Tests:
    """The plan's tests as the tester runs them, and the tester that runs them now (a fresh one
    after a test that left it unfit: mlpgrade_tester.py)."""

    def __init__(self, plan, module, ctx):
        self.plan, self.ctx, self.tester = plan, ctx, None
        self.calls = []  # (scenario function, kwargs) by index: ours, resolved before any fork
        for test in plan["tests"]:
            owner = importlib.import_module(test["module"]) if test.get("module") else module
            self.calls.append((getattr(owner, test.get("scenario", test["id"])),
                               test.get("kwargs", {})))
        self.backstop = sum(float(t["timeout"]) for t in plan["tests"]) + 1.0

    def run(self, index, cpu, wall):
        """One test on the current tester (started when there is none, and once more when it was
        gone before it took the test): the tester's answer, or None when no process could be
        forked (a previous test's processes still hold the process limit)."""
        for _ in range(2):
            if self.tester is None:
                self.tester = Tester.start(self.calls, self.plan["handin"]["modules"], self.ctx,
                                       self.backstop, fork_when_possible)
                if self.tester is None:
                    return None
            collected = self.tester.run(index, cpu, wall)
            if collected is not None and collected[3] is None and \
                    self.tester.fit((self.ctx.pid,)):
                return collected
            self.stop()
            if collected is not None:
                return collected
        return None

    def stop(self):
        if self.tester is not None:
            self.tester.stop()
            self.tester = None


def run_test(index, test, tests, out_dir):
    """Run one test and write its files; returns (files, report) where files is {kind: bytes}
    and report is what the signed channel says about them.

    A test may name its own scenario module ("module") and keyword arguments ("kwargs", plain
    JSON) for its scenario function. "timeout" is its CPU seconds, "wall" the wall clock past
    which an idle test is stopped, "wall_max" the wall clock past which any test is."""
    test_id = test["id"]
    cpu = float(test["timeout"])
    start = time.monotonic()
    wall = float(test.get("wall", cpu))
    collected = tests.run(index, cpu, (wall, float(test.get("wall_max", wall))))
    if collected is None:
        files = {"json": json.dumps({"id": test_id, "status": "not_run"}).encode()}
    else:
        payload, log, status, ended, limit, used = collected
        header, blob = decode_payload(payload, ended)
        result = test_status(header, status, ended)
        # the test's CPU: the golden set records our reference's, the tests' limits follow it
        result.update(id=test_id, seconds=round(time.monotonic() - start, 4), cpu=round(used, 4))
        if limit:
            result["limit"] = limit
        files = {"json": json.dumps(result, allow_nan=False).encode()}
        if blob:
            files["npz"] = blob
        if log:
            files["log"] = log
    return files, channel.write_files(out_dir, test_id, files)


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
        if status is not None and os.WIFSIGNALED(status):
            result["signal"] = os.WTERMSIG(status)
        elif status is not None and os.WIFEXITED(status):
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


def warm(module):
    """Run once, here, what each test's child would otherwise run for the first time: the
    outputs' path (describe, np.savez, which imports zipfile, json) on values of ours, the
    error path (a traceback) and the scenario module's own `warm()` (its inputs' NumPy calls).
    Nothing of the hand-in exists yet. A first call in a forked child costs it the import and
    the memory it touches, copied from the runner page by page, in every test (≈ 5 ms)."""
    import numpy as np

    def failing(m):
        raise ValueError("warm-up")

    child_outputs(lambda m: {"a": np.zeros((2, 3)), "v": 1.0, "o": object()}, (), {})
    child_outputs(failing, (), {})
    json.dumps({"status": "ok", "outputs": {}}, allow_nan=False)
    if callable(getattr(module, "warm", None)):
        module.warm()


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
    warm(module)
    import numpy
    ctx.reporter.send({"k": "ready", "python": sys.version.split()[0],
                       "numpy": numpy.__version__})
    # From here on the hand-in's code can run: everything after is the student's result.
    add_handin(plan, warmup)
    if args.data:
        os.environ["MLPGRADE_DATA"] = args.data
    # The runner's objects stay where they are: no tester's garbage collector walks (and so
    # copies) the pages they live on.
    gc.freeze()
    results, tests = {}, Tests(plan, module, ctx)
    for index, test in enumerate(plan["tests"]):
        results[test["id"]] = files, report = run_test(index, test, tests, args.out)
        if not ctx.reporter.send(report):
            raise SystemExit(3)  # the hand-in killed the reporter: nothing more can count
    tests.stop()
    if args.isolated:
        # Every process the hand-in started is gone now: whatever a later test planted, changed
        # or deleted among earlier results is undone. A test whose files all still hold what we
        # wrote keeps them and its report; every other entry of the area goes, and a test that
        # lost or never got a file is written afresh under new names and reported again.
        channel.kill_others((ctx.pid,))
        kept = {test_id: report for test_id, (files, report) in results.items()
                if channel.intact(args.out, files, report)}
        channel.clear(args.out, keep={entry[0] for report in kept.values()
                                      for entry in report["files"].values()})
        for test_id, (files, _) in results.items():
            if test_id not in kept:
                ctx.reporter.send(channel.write_files(args.out, test_id, files))
    ctx.reporter.send({"k": "done"})
    ctx.reporter.close()


if __name__ == "__main__":
    main()

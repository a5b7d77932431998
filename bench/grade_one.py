"""Time grading one hand-in: the scenarios bare in one process vs through each sandbox backend.

    .venv/bin/python bench/grade_one.py [--runs 20] [--backends process,bwrap] [--handin reference]

The hand-in is our reference with `import matplotlib.pyplot` at the top of hw1.py, as real
hand-ins have. The floor (bench/floor.py) is every scenario of the rubric in ONE warm
student-runtime process, measured before and after the backends in this same run; every row is a
ratio to it. `bare cold` is one fresh student-runtime process per hand-in (interpreter, NumPy,
matplotlib, scenarios), without forks, limits or sandbox. Each backend row is a full
`grade_handin` (intake, sandboxed run with a fork per test, comparison outside); the first one of
each backend is a warm-up and not counted (it starts a warm slot where the backend has them).
Prints a table (medians and p95 over the runs) and writes it to docs/benchmarks.md between
markers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floor import floor_times, realistic_files

from grader.fixtures import make_tar, write_tree
from grader.golden.canary import generate_golden
from grader.grade import grade_handin
from grader.rubric import load_assignment
from grader.run import plan_for
from grader.runtime import runtime_python
from grader.sandbox import get_sandbox
from grader.settings import load_settings

BARE = """
import sys, os, importlib
sys.path.insert(0, {code!r})
import numpy
s = importlib.import_module({module!r})
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot
sys.path[:0] = [os.path.join(os.getcwd(), folder) for folder in {path!r}]
class M:
    def __getattr__(self, name): return importlib.import_module(name)
for scenario, kwargs in {tests!r}:
    getattr(s, scenario)(M(), **kwargs)
"""


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_bare(a, runs):
    tests = [(t.scenario, t.kwargs) for t in plan_for(a).tests]
    python = str(runtime_python(a.packages, load_settings()))
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(realistic_files(a), Path(tmp))
        code = BARE.format(code=str(a.folder), module=a.scenarios, path=list(a.handin.path),
                           tests=tests)
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([python, "-I", "-c", code], cwd=tmp, check=True)
            times.append(time.perf_counter() - start)
    return times, {}


def bench_backend(a, golden, name, runs):
    sandbox = get_sandbox(name)
    data = make_tar(realistic_files(a), a.handin)
    times, parts = [], {"intake": [], "run": [], "compare": [], "sandbox wall": []}
    grade_handin(data, assignment=a, golden=golden, sandbox=sandbox, training=False)  # warm-up
    for _ in range(runs):
        start = time.perf_counter()
        report = grade_handin(data, assignment=a, golden=golden, sandbox=sandbox,
                              training=False)  # as the service grades; bare does not train
        times.append(time.perf_counter() - start)
        assert report.score == report.max_score, report.score
        for key in ("intake", "run", "compare"):
            parts[key].append(report.timings[key])
        parts["sandbox wall"].append(report.sandbox["wall_seconds"])
    return times, parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="process,bwrap")
    args = parser.parse_args()
    a = load_assignment()
    with tempfile.TemporaryDirectory() as tmp:
        golden = generate_golden(a, Path(tmp))
        floors = floor_times(a, args.runs)
        rows = [("bare cold (one process)", *bench_bare(a, args.runs))]
        for name in args.backends.split(","):
            rows.append((f"grade_handin via {name}", *bench_backend(a, golden, name, args.runs)))
        floors += floor_times(a, args.runs)
    floor = statistics.median(floors)
    rows.insert(0, ("floor (scenarios, one warm process)", floors, {}))
    lines = ["| path | median s | p95 s | × floor | intake | run (sandbox wall) | compare |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, times, parts in rows:
        med = statistics.median(times)
        split = ("", "", "") if not parts else (
            f"{statistics.median(parts['intake']) * 1000:.1f} ms",
            f"{statistics.median(parts['run']):.3f} s "
            f"({statistics.median(parts['sandbox wall']):.3f} s)",
            f"{statistics.median(parts['compare']) * 1000:.1f} ms")
        lines.append(f"| {label} | {med:.3f} | {percentile(times, 0.95):.3f} | "
                     f"{med / floor:.2f} | {split[0]} | {split[1]} | {split[2]} |")
    table = "\n".join(lines)
    print(table)
    doc = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    start, end = "<!-- grade_one:start -->", "<!-- grade_one:end -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = (f"{start}\n`.venv/bin/python bench/grade_one.py --runs {args.runs} --backends "
             f"{args.backends}` (reference hand-in importing matplotlib, {len(a.tests)} tests, "
             f"{args.runs} runs, load average {os.getloadavg()[0]:.1f} after):\n\n"
             f"{table}\n{end}")
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n## Grading one hand-in\n\n" + block + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    main()

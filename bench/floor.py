"""The floor: every scenario of the rubric on one hand-in in ONE warm student-runtime process.

    .venv/bin/python bench/floor.py [--runs 20]

NumPy and matplotlib are imported and the hand-in's modules loaded before the clock starts; each
run then calls every scenario once, without forks, limits, sandbox or comparison. That is the
work a hand-in holds, the limit every other figure in bench/ is a ratio to. It is measured in
the same run as the figure it divides, because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.fixtures import reference_files, write_tree
from grader.rubric import Assignment, load_assignment
from grader.run import plan_for
from grader.runtime import runtime_python
from grader.settings import load_settings

WARM = """
import importlib, json, os, sys, time
sys.path.insert(0, {code!r})
import numpy
s = importlib.import_module({module!r})
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot
sys.path[:0] = [os.path.join(os.getcwd(), folder) for folder in {path!r}]
class M:
    def __getattr__(self, name): return importlib.import_module(name)
def once():
    for scenario, kwargs in {tests!r}:
        getattr(s, scenario)(M(), **kwargs)
once()  # imports the hand-in's modules and warms every code path
times = []
for _ in range({runs}):
    start = time.perf_counter()
    once()
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def realistic_files(a: Assignment) -> dict[str, str]:
    """Our reference as real 2020 hand-ins look: hw1.py imports matplotlib at the top."""
    files = reference_files(a)
    files["hw1/hw1.py"] = "import matplotlib.pyplot as plt\n" + files["hw1/hw1.py"]
    return files


def floor_times(a: Assignment, runs: int) -> list[float]:
    """Seconds of each of `runs` passes over every scenario in one warm process."""
    tests = [(t.scenario, t.kwargs) for t in plan_for(a).tests]
    python = str(runtime_python(a.packages, load_settings()))
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(realistic_files(a), Path(tmp))
        code = WARM.format(code=str(a.folder), module=a.scenarios, path=list(a.handin.path),
                           tests=tests, runs=runs)
        out = subprocess.run([python, "-I", "-c", code], cwd=tmp, check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def floor_seconds(a: Assignment | None = None, runs: int = 20) -> float:
    """The median of `floor_times`: the floor of this run."""
    return statistics.median(floor_times(a or load_assignment(), runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times = floor_times(load_assignment(), args.runs)
    print(f"floor: median {statistics.median(times) * 1000:.1f} ms, "
          f"min {min(times) * 1000:.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()

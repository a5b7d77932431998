"""A job's cgroup takes the CPU weight of the process that makes it
(grader/sandbox/linux/cgroup.py), so a niced bulk worker's jobs yield to the live ones': the
jobs' cgroups are siblings, which the kernel shares the CPU between by weight alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox.linux.cgroup import (
    JobCgroup,
    cgroups_usable,
    cpu_shares,
    remove_cgroups,
    sweep_cgroups,
)
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]
WEIGHT = """
import os
os.nice({nice})
from grader.sandbox.linux.cgroup import JobCgroup
job = JobCgroup(64, 8)
cpu = job.dirs["cpu"]
name = "cpu.weight.nice" if job.v2 else "cpu.shares"
print((cpu / name).read_text().strip())
job.remove()
"""


def test_cpu_shares_are_the_kernels_weights_of_nice_levels():
    assert [cpu_shares(n) for n in (0, 5, 10, 19)] == [1024, 336, 110, 15]


@pytest.mark.skipif(not IN_CI and (os.geteuid() != 0 or not cgroups_usable()),
                    reason="needs root and cgroups (in CI a failure, not a skip)")
@pytest.mark.parametrize("nice", [0, 10])
def test_a_jobs_cgroup_takes_the_weight_of_the_process_that_makes_it(nice):
    out = subprocess.run([sys.executable, "-c", WEIGHT.format(nice=nice)], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout.strip()
    v2 = not os.path.isdir("/sys/fs/cgroup/memory")
    assert out == (str(nice) if v2 else str(cpu_shares(nice)))


LEFT = """
import subprocess, sys
from grader.sandbox.linux.cgroup import JobCgroup
dead, live = JobCgroup(64, 8), JobCgroup(64, 8)
sleeper = subprocess.Popen(["sleep", "300"], preexec_fn=live.attach_self)
print(dead.name, live.name, sleeper.pid, flush=True)
sys.stdin.read()  # killed here, with -9: nothing of its own clean-up runs
"""


@pytest.mark.skipif(not IN_CI and (os.geteuid() != 0 or not cgroups_usable()),
                    reason="needs root and cgroups (in CI a failure, not a skip)")
def test_a_killed_workers_empty_cgroups_are_swept_and_nothing_in_use_is():
    """Its owner is dead: its empty cgroup goes, the one a process is still in stays (and a
    live owner's empty one, such as this test's own, which a sweep in this process cannot
    remove as its pid is alive)."""
    mine = JobCgroup(64, 8)
    maker = subprocess.Popen([sys.executable, "-c", LEFT], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    dead, live, sleeper = maker.stdout.readline().split()
    maker.kill()
    maker.wait()
    folders = [d for d in Path("/sys/fs/cgroup").rglob("*") if d.name in (dead[9:], live[9:])]
    try:
        removed = {d.name for d in sweep_cgroups()}
        assert dead[9:] in removed and live[9:] not in removed, removed
        assert all(d.exists() == (d.name == live[9:]) for d in folders), folders
        assert all(d.exists() for d in mine.dirs.values())
    finally:
        mine.remove()
        os.kill(int(sleeper), 9)
        remove_cgroups(folders)

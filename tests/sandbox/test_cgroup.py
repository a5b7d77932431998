"""A job's cgroup takes the CPU weight of the process that makes it
(grader/sandbox/linux/cgroup.py), so a niced bulk worker's jobs yield to the live ones': the
jobs' cgroups are siblings, which the kernel shares the CPU between by weight alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox.linux.cgroup import cgroups_usable, cpu_shares
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

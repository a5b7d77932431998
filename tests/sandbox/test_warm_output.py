"""A warm docker slot without root (issue 26): the host can mount no tmpfs output area of its
own there, and /out was a plain bound folder capped only per file (16 files of 16 MB filled
256 MB of the host's disk). Now /out is the container's own tmpfs of the job's disk size, as
every other box's output area is, and the zygote sends its files once the job is dead: the
results still arrive, a flood stops at the cap (verdict disk_limit), and nothing but the area's
regular, visible files reaches the host. Runs where docker does (MLPGRADE_TEST_DOCKER=1)."""

from __future__ import annotations

import os

import pytest

from tests.sandbox.probes import PROBE_LIMITS, probe_job

pytestmark = pytest.mark.skipif(os.environ.get("MLPGRADE_TEST_DOCKER") != "1",
                                reason="needs a docker engine and the grading image")

MB = 1024 * 1024
FILL = """
import os, sys
written = 0
for i in range(16):
    try:
        with open(f"/out/f{i:02d}", "wb") as f:
            for _ in range(16):
                f.write(b"x" * (1 << 20))
                written += 1
    except OSError as exc:
        print("stopped", exc.errno, written)
        break
print("wrote", written)
"""
RESULTS = """
import os
with open("/out/results.json", "w") as f:
    f.write("ok" * 100_000)
with open("/out/.hidden", "w") as f:
    f.write("no")
os.symlink("/etc/passwd", "/out/link")
os.mkdir("/out/folder")
print("done")
"""


@pytest.fixture
def unprivileged():
    """A warm docker sandbox as a worker without root runs it (the engine's uid 10001, the
    host able to mount nothing)."""
    from grader.sandbox import get_sandbox
    from grader.sandbox.slot import SlotSandbox

    kept = get_sandbox("docker")
    sandbox = SlotSandbox(kept.box, warm=True, **kept.options)
    sandbox.root = sandbox.copies_output = False
    yield sandbox
    sandbox.close()


def _sizes(folder) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


def test_warm_docker_without_root_caps_the_output_area(unprivileged, tmp_path):
    (tmp_path / "fill").mkdir()
    job = probe_job(tmp_path / "fill", FILL)
    result = unprivileged.run(job)  # the slot (its zygote) stays warm
    assert result.verdict == "disk_limit", result
    assert b"stopped 28" in result.stdout  # ENOSPC, before 256 MB
    assert sum(_sizes(job.output_dir).values()) <= PROBE_LIMITS.disk_mb * MB


def test_warm_docker_without_root_sends_the_areas_files_only(unprivileged, tmp_path):
    for round_ in ("a", "b"):  # the same slot twice: the second job sees an empty area
        (tmp_path / round_).mkdir()
        job = probe_job(tmp_path / round_, RESULTS)
        result = unprivileged.run(job)  # the slot (its zygote) stays warm
        assert result.verdict == "completed" and b"done" in result.stdout, result
        assert _sizes(job.output_dir) == {"results.json": 200_000}
        assert (job.output_dir / "results.json").read_text() == "ok" * 100_000


def test_warm_docker_without_root_grades_the_reference_in_full(unprivileged, golden_s20):
    """The runner's results come back through the zygote: the reference scores full marks."""
    from grader.grade import grade_handin
    from tests.handins import make_handin_tar

    for _ in range(2):  # a fresh slot, then the same one again
        report = grade_handin(make_handin_tar(), assignment="hw1p1-s20", golden=golden_s20,
                              sandbox=unprivileged)
        assert report.score == 95 and report.sandbox["verdict"] == "completed", report.sandbox

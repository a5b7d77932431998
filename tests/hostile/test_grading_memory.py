"""The grading process holds one test's outputs at a time (issue 26): a hand-in whose every test
returns 32 MB of zeros (31 KB compressed, under every cap) once took the grader to 887 MB, its
28 tests' arrays all read before the first was compared. The runner's files are made here as it
writes them (a vouched report per test), and the grader's read-and-score is measured with
tracemalloc, which counts NumPy's arrays."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from grader.grade import Scorer
from grader.outputs import MAX_NPZ_BYTES
from grader.reports import Reports
from grader.rubric import load_assignment
from grader.run import read_tests
from grader.sandbox.base import Verdict

ZEROS = 4_000_000  # float64: 32 MB, under the 32 MiB cap of one test's arrays
ONE_TEST = MAX_NPZ_BYTES
BUDGET = 4 * ONE_TEST
"""One test's arrays as read (the member's bytes, then the array), and the comparison's
temporaries: measured 92 MiB, against 855 MiB when all 26 tests' arrays were held at once."""


def _write(folder, name: str, data: bytes) -> list:
    (folder / name).write_bytes(data)
    return [name, hashlib.sha256(data).hexdigest(), len(data)]


def flood(folder, golden) -> tuple[list[str], Reports]:
    """Every test's results as the runner writes them: each output named by the golden set is
    an array of 32 MB of zeros (the first), or a small one (the rest)."""
    reports = Reports(ready={}, done=True)
    zeros = io.BytesIO()
    np.savez_compressed(zeros, a0=np.zeros(ZEROS))  # compressed once, copied for every test
    small = io.BytesIO()
    np.save(small, np.zeros(1))
    for test_id, expected in golden.outputs.items():
        names = [n for n, v in expected.items() if isinstance(v, np.ndarray)] or list(expected)
        buffer = io.BytesIO(zeros.getvalue())
        with zipfile.ZipFile(buffer, "a") as archive:
            for i in range(1, len(names)):
                archive.writestr(f"a{i}.npy", small.getvalue())
        header = {"status": "ok", "seconds": 0.1, "outputs": {
            name: {"kind": "ndarray", "key": f"a{i}"} for i, name in enumerate(names)}}
        reports.tests[test_id] = {"files": {
            "json": _write(folder, f"{test_id}.json", json.dumps(header).encode()),
            "npz": _write(folder, f"{test_id}.npz", buffer.getvalue())}}
    return list(golden.outputs), reports


def measured(call):
    """What `call` returns, and the peak of memory it traced (NumPy's arrays included)."""
    tracemalloc.start()
    try:
        result = call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize("slug", ["hw1p1-s20"])
def test_grading_holds_one_tests_outputs_at_a_time(tmp_path, golden_s20, slug):
    a = load_assignment(slug)
    ids, reports = flood(tmp_path, golden_s20)
    assert len(ids) >= 20 and sum((tmp_path / f"{t}.npz").stat().st_size for t in ids) < 2e6
    scorer = Scorer(a, golden_s20)
    kept, peak = measured(
        lambda: read_tests(tmp_path, ids, reports, Verdict.COMPLETED, scorer))
    assert peak < BUDGET, f"{peak / 2**20:.0f} MiB"
    assert all(run.outputs == {} for run in kept.values())
    assert set(scorer.results) == {t.id for t in a.tests}
    assert not any(r.passed for r in scorer.results.values())
    assert all(r.status == "ok" and "shape" in r.feedback for r in scorer.results.values()
               if r.max_points and r.checks)
    # read all at once (as the reference's run is, and as every hand-in's was) the same files
    # hold every test's arrays: the measurement sees them
    _, everything = measured(lambda: read_tests(tmp_path, ids[:5], reports,
                                                   Verdict.COMPLETED))
    assert everything > 5 * ZEROS * 8 * 0.95

"""The grading process holds one test's outputs at a time (issue 26): a hand-in whose every test
returns 32 MB of zeros (31 KB compressed, under every cap) once took the grader to 887 MB, its
28 tests' arrays all read before the first was compared. The runner's files are made here as it
writes them (a vouched report per test), and the grader's read-and-score is measured with
tracemalloc, which counts NumPy's arrays."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.grade import Scorer
from grader.outputs import MAX_NPZ_BYTES
from grader.reports import Reports
from grader.rubric import load_assignment
from grader.run import read_tests
from grader.sandbox.base import Verdict
from tests.handins import edited_files, make_handin_tar

REPO = Path(__file__).resolve().parents[2]

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


#: The attack as a hand-in (issue 26's example): every module it imports makes the tests'
#: results compress (the tester is its process) and the first output each test records 32 MB of
#: zeros (31 KB compressed, under every cap); the rest of the hand-in is our reference.
FLOOD = '''
import sys as _sys
import numpy as _np
_s = _sys.modules.get("scenarios")
if _s is not None and not hasattr(_s, "_flood"):
    _np.savez = _np.savez_compressed
    _snap, _seen = _s.snap, []

    def _flood(value):
        frame, top = _sys._getframe(1), None
        while frame is not None and frame.f_globals is _s.__dict__:
            frame, top = frame.f_back, frame
        m = top.f_locals.get("m") if top is not None else None
        if m is not None and not any(x is m for x in _seen):
            _seen[:] = [m]  # each test's modules object; held, so the next is another
            return _np.zeros(3_900_000)
        return _snap(value)
    _s._flood = _s.snap = _flood
'''
MODULES = ("hw1/hw1.py", "hw1/mc.py", "mytorch/activation.py", "mytorch/batchnorm.py",
           "mytorch/linear.py", "mytorch/loss.py")
GRADE = """
import json, sys
from pathlib import Path
from grader.golden.store import load_golden
from grader.grade import grade_handin
from grader.sandbox import get_sandbox
report = grade_handin(Path(sys.argv[2]).read_bytes(), assignment="hw1p1-s20",
                      golden=load_golden(Path(sys.argv[1])), sandbox=get_sandbox(sys.argv[3]))
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"score": report.score, "peak_kib": int(peak.split()[1]),
                  "shape": sum("shape" in t.feedback for t in report.tests)}))
"""


def grading_peak(golden, handin: bytes, tmp_path, backend: str) -> dict:
    """Grade `handin` in a process of its own; its score and its own peak resident memory
    (VmHWM: the grading process's, not the sandbox's)."""
    path = tmp_path / "handin.tar"
    path.write_bytes(handin)
    out = subprocess.run([sys.executable, "-c", GRADE, str(golden.path), str(path), backend],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_grading_process_peak_is_bounded_whatever_a_real_handin_returns(tmp_path, golden_s20,
                                                                        sandbox):
    """The attack through the real sandbox and the whole grade: the grading process's peak
    stays within one test's caps of the reference's (it was 887 MB against 66 MB)."""
    reference = grading_peak(golden_s20, make_handin_tar(), tmp_path, sandbox.name)
    flood = make_handin_tar({m: ("import numpy as np\n", "import numpy as np\n" + FLOOD)
                             for m in MODULES if m != "hw1/mc.py"},
                            extra={"hw1/mc.py": FLOOD + edited_files()["hw1/mc.py"]})
    attacked = grading_peak(golden_s20, flood, tmp_path, sandbox.name)
    assert reference["score"] == 95 and attacked["score"] < 20
    assert attacked["shape"] >= 20  # the tests' outputs arrived and were compared (shapes)
    extra = (attacked["peak_kib"] - reference["peak_kib"]) * 1024
    assert extra < BUDGET, f"{attacked['peak_kib'] // 1024} MiB against " \
                           f"{reference['peak_kib'] // 1024} MiB"

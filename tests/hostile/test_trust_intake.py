"""Intake as a trust border (issue 11, item 4): malformed archives are refusals a student
understands, never an exception, within a time bound; files Python could import that are not
source, and the junk real hand-ins carry, are dropped with a note before the size limit applies
(graded on every backend the machine has)."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

from grader.errors import SubmissionError
from grader.fixtures import reference_files
from grader.grade import grade_handin
from grader.intake import unpack_handin
from grader.sandbox import get_sandbox
from tests.hostile.test_hostile import QUICK

BACKENDS = ["process", "bwrap"] + (["docker"] if os.environ.get("MLPGRADE_TEST_DOCKER") == "1"
                                   else [])
REFERENCE = {k: v.encode() for k, v in reference_files(QUICK).items()}


def tar_of(entries, *, fmt=tarfile.GNU_FORMAT) -> bytes:
    """entries: (name, bytes, or None for a folder, or a TarInfo)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, body in entries:
            if isinstance(body, tarfile.TarInfo):
                tar.addfile(body)
                continue
            info = tarfile.TarInfo(name)
            if body is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def with_reference(*extra) -> list:
    return list(REFERENCE.items()) + list(extra)


def truncated() -> bytes:
    data = tar_of(with_reference(("hw1/big.py", b"# x\n" * 5000)))
    return data[:len(data) - 12_000]


def slow_pax() -> bytes:
    info = tarfile.TarInfo("hw1/notes.txt")
    info.pax_headers = {"comment": "1 " * 210_000}
    return tar_of(with_reference(("hw1/notes.txt", info)), fmt=tarfile.PAX_FORMAT)


MALFORMED = {
    "file_then_folder": (lambda: tar_of(with_reference(("hw1/extra", b"x = 1\n"),
                                                       ("hw1/extra/a.py", b"y = 2\n"))),
                         "both as a file and as a folder"),
    "folder_then_file": (lambda: tar_of(with_reference(("hw1/extra", None),
                                                       ("hw1/extra/a.py", b"x\n"),
                                                       ("hw1/extra", b"x = 1\n"))),
                         "both as a file and as a folder"),
    "name_over_255_bytes": (lambda: tar_of(with_reference(("hw1/" + "a" * 300 + ".py", b"x"))),
                            "too long"),
    "path_over_the_limit": (lambda: tar_of(with_reference(
        ("hw1/" + "/".join(["d" * 200] * 8) + "/x.py", b"x"))), "too long"),
    "truncated_member": (truncated, "truncated"),
    "duplicate_file": (lambda: tar_of(with_reference(("hw1/mc.py", b"def question_1():\n"))),
                       "twice"),
    "slow_pax_header": (slow_pax, "oversized extended header"),
    "not_utf8_name": (lambda: tar_of(with_reference(("hw1/\udcff.py", b"x"))), "not UTF-8"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_archives_are_refusals(tmp_path, case):
    make, message = MALFORMED[case]
    data = make()
    start = time.perf_counter()
    with pytest.raises(SubmissionError, match=message):
        unpack_handin(data, tmp_path, layout=QUICK.handin)
    assert time.perf_counter() - start < 10


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return get_sandbox(request.param)


def test_a_2021_handin_with_pdfs_grades_within_the_limit(golden_s20, backend):
    pdfs = [(f"hw1/{name}", os.urandom(1_400_000)) for name in
            ("HW1P1_writeup.PDF", "notes.pdf", "derivation.pdf")]
    junk = [("hw1/.DS_Store", b"\0" * 6148), ("hw1/loss.png", b"\x89PNG" + b"\0" * 1000),
            ("hw1/data.npy", b"\x93NUMPY" + b"\0" * 1000)]
    data = tar_of(with_reference(*pdfs, *junk))
    assert len(data) > 4_000_000
    report = grade_handin(data, assignment=QUICK, golden=golden_s20, sandbox=backend,
                          max_bytes=2 * 1024 * 1024)
    assert report.score == 95
    assert set(report.intake["dropped"]) == {name for name, _ in pdfs + junk}
    [note] = report.intake["notes"]  # one notice for everything left out
    assert "not source code: " in note and "notes.pdf" in note


def test_importable_binaries_are_dropped_with_a_note(golden_s20, backend):
    binaries = [("hw1/mc.cpython-311-x86_64-linux-gnu.so", b"\x7fELF" + b"\0" * 100),
                ("hw1/hw1.pyc", b"\xa7\x0d\x0d\x0a" + b"\0" * 100),
                ("mytorch/evil.pth", b"import os; os.system('true')\n"),
                ("mytorch/linear.pyd", b"MZ")]
    report = grade_handin(tar_of(with_reference(*binaries)), assignment=QUICK,
                          golden=golden_s20, sandbox=backend)
    assert report.score == 95
    assert set(report.intake["dropped"]) == {name for name, _ in binaries}
    assert any("Python could import" in note for note in report.intake["notes"])

"""Safe intake: real-looking archives unpack; everything dangerous is refused with a message."""

from __future__ import annotations

import gzip
import io
import tarfile
import time

import pytest

from grader.errors import SubmissionError
from grader.fixtures import make_tar, reference_files
from grader.intake import DEFAULT_MAX_BYTES, IntakeLimits, list_sources, unpack_handin
from grader.rubric import load_assignment

S20 = load_assignment("hw1p1-s20")


def unpack(data, dest, **kw):
    return unpack_handin(data, dest, layout=S20.handin, **kw)


def tar_of(entries, gz=False) -> bytes:
    """entries: (name, bytes | None for a dir | TarInfo attributes dict)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for name, body in entries:
            info = tarfile.TarInfo(name)
            if isinstance(body, dict):
                for key, value in body.items():
                    setattr(info, key, value)
                tar.addfile(info)
            elif body is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def test_intake_keeps_code_and_drops_real_world_junk(tmp_path):
    files = {k: v.encode() for k, v in reference_files(S20).items()}
    junk = {"hw1/__pycache__/hw1.cpython-36.pyc": b"\x33\x0d\x0d\x0a",
            "mytorch/__pycache__/linear.cpython-38.pyc": b"x", "hw1/train_loss.png": b"\x89PNG",
            "hw1/.cm_data/state": b"x", "hw1/.DS_Store": b"x"}
    report = unpack(tar_of(list({**files, **junk}.items())), tmp_path)
    assert sorted(report.files) == sorted(files) and report.missing == ()
    assert set(report.dropped) == set(junk)
    assert (report.root / "hw1" / "hw1.py").read_bytes() == files["hw1/hw1.py"]
    assert not (report.root / "hw1" / "__pycache__").exists()


def test_intake_accepts_gzip_by_content_not_name(tmp_path):
    data = gzip.compress(make_tar(reference_files(S20)))
    assert len(unpack(data, tmp_path).files) == 6


def test_intake_names_missing_files_without_refusing(tmp_path):
    files = reference_files(S20)
    del files["mytorch/batchnorm.py"]
    report = unpack(make_tar(files), tmp_path)
    assert report.missing == ("mytorch/batchnorm.py",)


def test_intake_accepts_one_wrapper_folder_with_a_note(tmp_path):
    entries = [(f"handout/{k}", v.encode()) for k, v in reference_files(S20).items()]
    report = unpack(tar_of(entries), tmp_path)
    assert report.missing == () and "wraps" in report.notes[0]


@pytest.mark.parametrize("entries,message", [
    ([("/etc/hw1/hw1.py", b"x")], "absolute path"),
    ([("hw1/../../evil.py", b"x")], "'..'"),
    ([("hw1/link.py", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})], "link"),
    ([("hw1/hard.py", {"type": tarfile.LNKTYPE, "linkname": "hw1/hw1.py"})], "link"),
    ([("hw1/dev", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3})], "device or pipe"),
    ([("hw1/fifo", {"type": tarfile.FIFOTYPE})], "device or pipe"),
    ([("notes.txt", b"hello")], "none of the files"),
])
def test_intake_refuses_dangerous_archives(tmp_path, entries, message):
    with pytest.raises(SubmissionError, match=message):
        unpack(tar_of(entries), tmp_path)


MAKE = "Make it with `tar -cvf handin.tar hw1 mytorch` in the folder that holds hw1/ and mytorch/."


@pytest.mark.parametrize("data,kind", [
    (b"PK\x03\x04\x14\x00 a zip", "a zip archive"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04 a 7z", "a 7z archive"),
    (b"Rar!\x1a\x07\x01\x00 a rar", "a RAR archive"),
    (b"BZh91AY&SY a tar.bz2", "bzip2-compressed"),
])
def test_intake_names_the_format_that_is_not_a_tar(tmp_path, data, kind):
    with pytest.raises(SubmissionError) as refused:
        unpack(data, tmp_path)
    assert str(refused.value) == (f"Your upload is {kind}, not a tar: we accept a tar (.tar, or "
                                  f".tar.gz). {MAKE}")


def test_intake_names_gzip_alone(tmp_path):
    with pytest.raises(SubmissionError) as refused:
        unpack(gzip.compress(b"import numpy as np\n" * 100), tmp_path)
    assert str(refused.value) == (
        "Your upload is gzip-compressed but holds a single file, not a tar (gzip alone "
        f"compresses one file): we accept a tar (.tar, or .tar.gz). {MAKE}")
    # a .tar.gz is accepted as it is today
    assert unpack(make_tar(reference_files(S20)), tmp_path / "plain").missing == ()
    assert unpack(gzip.compress(make_tar(reference_files(S20))), tmp_path / "gz").missing == ()


def test_intake_refuses_what_is_not_a_tar(tmp_path):
    with pytest.raises(SubmissionError) as refused:
        unpack(b"just some text that is no archive at all" * 20, tmp_path)
    assert str(refused.value) == ("Your upload is not a tar archive (or it is damaged): make it "
                                  "with `tar -cvf handin.tar hw1 mytorch`.")


@pytest.mark.parametrize("entries", [
    [("/etc/hw1/hw1.py", b"x")], [("hw1/../../evil.py", b"x")],
    [("hw1/link.py", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})],
    [("hw1/fifo", {"type": tarfile.FIFOTYPE})], [("notes.txt", b"hello")],
    [("hw1/hw1.py", b"x"), ("hw1/hw1.py", b"y")],
])
def test_every_refusal_says_the_command_that_makes_a_good_tar(tmp_path, entries):
    with pytest.raises(SubmissionError) as refused:
        unpack(tar_of(entries), tmp_path)
    assert "`tar -cvf handin.tar hw1 mytorch`" in str(refused.value)


def test_intake_gives_one_notice_for_everything_it_left_out(tmp_path):
    files = {k: v.encode() for k, v in reference_files(S20).items()}
    junk = {"writeup.pdf": b"%PDF", "hw1/scratch.ipynb": b"{}",
            "hw1/.ipynb_checkpoints/hw1-checkpoint.py": b"x = 1",
            "mytorch/__pycache__/linear.cpython-37.pyc": b"\x00"}
    report = unpack(tar_of(list({**files, **junk}.items())), tmp_path)
    assert report.notes == (
        "We graded only the source in hw1/ and mytorch/ and left out 4 files: outside hw1/ and "
        "mytorch/: writeup.pdf; compiled files Python could import: "
        "mytorch/__pycache__/linear.cpython-37.pyc; hidden or cache files: "
        "hw1/.ipynb_checkpoints/hw1-checkpoint.py; not source code: hw1/scratch.ipynb.",)


def test_too_big_says_the_size_in_mb_and_what_to_leave_out():
    from grader.tarread import too_big

    files = [(f"handout/{k}", v.encode()) for k, v in reference_files(S20).items()]
    data = tar_of([*files, ("handout/data/train.npy", b"\0" * (3 * 1024 * 1024))])
    assert too_big(data[:2 * 1024 * 1024], len(data), 1024 * 1024, S20.handin) == (
        "Your upload is 3.0 MB; the limit is 1.0 MB. Leave out handout/data/ (3.0 MB): hand in "
        f"only hw1/ and mytorch/. {MAKE}")
    assert too_big(b"\0" * 4096, 20 * 1024 * 1024, 1024 * 1024, S20.handin) == (
        "Your upload is 20.0 MB; the limit is 1.0 MB. Hand in only hw1/ and mytorch/ (no data, "
        f"plots or PDFs). {MAKE}")


def test_intake_refuses_too_many_members(tmp_path):
    entries = [(f"hw1/f{i}.py", b"x") for i in range(20)]
    with pytest.raises(SubmissionError, match="more than 10 entries"):
        unpack(tar_of(entries), tmp_path, limits=IntakeLimits(members=10))


def test_intake_applies_the_course_limit_to_the_code_it_keeps(tmp_path):
    code = tar_of([("hw1/train.csv", b"1,2\n" * (100 * 1024)),
                   ("hw1/hw1.py", b"x = 1\n" * (400 * 1024))])  # 2.3 MB of source
    with pytest.raises(SubmissionError) as refused:
        unpack(code, tmp_path, max_bytes=2 * 1024 * 1024)
    assert str(refused.value) == (
        "The files we grade in your archive add up to more than 2.0 MB, the limit; the biggest "
        "are hw1/hw1.py (2.3 MB) and hw1/train.csv (0.4 MB): leave out data and generated "
        "files, keep only your code. "
        f"{MAKE}")
    with pytest.raises(SubmissionError, match="we read at most 8.0 MB"):
        unpack(b"\0" * (8 * 1024 * 1024 + 1), tmp_path, max_bytes=2 * 1024 * 1024)


def test_intake_default_upload_limit_is_the_one_limit(tmp_path):
    assert DEFAULT_MAX_BYTES == IntakeLimits().compressed_bytes == 16 * 1024 * 1024
    with pytest.raises(SubmissionError, match="limit is 16.0 MB"):
        unpack(b"\0" * (4 * DEFAULT_MAX_BYTES + 1), tmp_path)


def test_intake_refuses_a_gzip_bomb_while_inflating(tmp_path):
    bomb = gzip.compress(tar_of([("hw1/hw1.py", b"\0" * (90 * 1024 * 1024))]))
    assert len(bomb) < 200_000
    with pytest.raises(SubmissionError, match="unpacks to more than"):
        unpack(bomb, tmp_path)


def test_intake_refuses_a_file_over_the_per_file_cap(tmp_path):
    data = tar_of([("hw1/hw1.py", b"x" * 2000)])
    with pytest.raises(SubmissionError, match="hw1/hw1.py is larger"):
        unpack(data, tmp_path, limits=IntakeLimits(file_bytes=1000))


def test_list_sources_shows_what_intake_keeps():
    files = {k: v.encode() for k, v in reference_files(S20).items()}
    junk = {"hw1/__pycache__/hw1.cpython-36.pyc": b"x", "notes/readme.py": b"x"}
    entries = [(f"handout/{k}", v) for k, v in {**files, **junk}.items()]
    sources = list_sources(tar_of(entries), layout=S20.handin)
    assert sorted(sources) == sorted(files)
    assert sources["hw1/mc.py"] == files["hw1/mc.py"].decode()
    assert list_sources(b"not a tar", layout=S20.handin) == {}


def test_too_big_reads_a_compressed_bomb_in_bounded_time():
    from grader.tarread import too_big

    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MB of zeros in ~64 KB
    start = time.perf_counter()
    assert too_big(bomb, 20 * 1024 * 1024, 1024 * 1024, S20.handin).startswith(
        "Your upload is 20.0 MB; the limit is 1.0 MB. Hand in only hw1/ and mytorch/")
    assert time.perf_counter() - start < 1.0

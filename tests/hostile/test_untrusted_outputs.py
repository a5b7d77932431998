"""Output built to break a naive reader, read as if our runner had vouched for it (a valid
report naming each file with its true hash): every case is that test's "malformed output",
never an exception, and the reading stays within a fixed memory and time budget."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from grader.outputs import read_test
from grader.reports import MAGIC, read_reports

BUDGET_BYTES, BUDGET_SECONDS = 48 * 1024 * 1024, 3.0


def npy(descr: str, shape: tuple, body: bytes = b"") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header = header.ljust(118 - len(b"\x93NUMPY\x01\x00") - 2) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def npz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


ARRAY_HEADER = {"status": "ok", "outputs": {"y": {"kind": "ndarray", "key": "a0"}}}
HEADERS = {
    "a_list": [1, 2, 3],
    "a_string": "ok",
    "deep": None,  # built below: 200 000 nested lists
    "unknown_status": {"status": "passed"},
    "status_not_a_string": {"status": ["ok"]},
    "outputs_a_list": {"status": "ok", "outputs": [1]},
    "outputs_too_many": {"status": "ok", "outputs": {
        f"o{i}": {"kind": "value", "value": 1} for i in range(1000)}},
    "value_a_dict": {"status": "ok", "outputs": {"y": {"kind": "value", "value": {"a": 1}}}},
    "unknown_kind": {"status": "ok", "outputs": {"y": {"kind": "pickle"}}},
    "unknown_float": {"status": "ok", "outputs": {"y": {"kind": "value", "float": "1e999"}}},
    "key_not_a_string": {"status": "ok", "outputs": {"y": {"kind": "ndarray", "key": 7}}},
}
ARRAYS = {
    "shape_1e13": npy("<f8", (10_000_000, 1_000_000)),
    "object_dtype": npy("|O", (3,), b"\0" * 24),
    "string_dtype": npy("<U10", (1,), b"\0" * 40),
    "structured": b"\x93NUMPY\x01\x00" + struct.pack("<H", 70) +
    b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }".ljust(69) + b"\n",
    "short_body": npy("<f8", (10,), b"\0" * 16),
    "long_body": npy("<f8", (1,), b"\0" * 80),
    "negative_shape": npy("<f8", (-1,)),
    "code_in_header": b"\x93NUMPY\x01\x00" + struct.pack("<H", 60) +
    b"__import__('os').system('true')".ljust(59) + b"\n",
    "huge_header": b"\x93NUMPY\x02\x00" + struct.pack("<I", 10**9) + b"{",
    "bad_magic": b"PK\x03\x04" + b"\0" * 100,
}


def write(tmp_path, name: str, data: bytes) -> list:
    (tmp_path / name).write_bytes(data)
    return [name, hashlib.sha256(data).hexdigest(), len(data)]


def bounded_read(tmp_path, files):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        run = read_test(tmp_path, "t", {"k": "test", "id": "t", "files": files})
    finally:
        seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < BUDGET_BYTES and seconds < BUDGET_SECONDS, (peak, seconds)
    return run


@pytest.mark.parametrize("case", list(HEADERS))
def test_malformed_headers(tmp_path, case):
    header = HEADERS[case]
    data = (b"[" * 200_000 + b"]" * 200_000) if case == "deep" else json.dumps(header).encode()
    run = bounded_read(tmp_path, {"json": write(tmp_path, "h.json", data)})
    assert run.status == "malformed" and run.reason.startswith("malformed output"), run


@pytest.mark.parametrize("case", list(ARRAYS))
def test_malformed_arrays(tmp_path, case):
    files = {"json": write(tmp_path, "h.json", json.dumps(ARRAY_HEADER).encode()),
             "npz": write(tmp_path, "a.npz", npz({"a0.npy": ARRAYS[case]}))}
    run = bounded_read(tmp_path, files)
    assert run.status == "malformed" and run.reason.startswith("malformed output"), run


def test_an_npz_of_a_hundred_thousand_members(tmp_path):
    members = {f"m{i}.npy": b"" for i in range(100_000)}
    members["a0.npy"] = npy("<f8", (1,), b"\0" * 8)
    files = {"json": write(tmp_path, "h.json", json.dumps(ARRAY_HEADER).encode()),
             "npz": write(tmp_path, "a.npz", npz(members))}
    assert bounded_read(tmp_path, files).status == "malformed"


def test_a_deflate_bomb_member(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a0.npy", npy("<f8", (8 * 1024 * 1024,), b"\0" * 64 * 1024 * 1024))
    files = {"json": write(tmp_path, "h.json", json.dumps(ARRAY_HEADER).encode()),
             "npz": write(tmp_path, "a.npz", buf.getvalue())}
    assert bounded_read(tmp_path, files).status == "malformed"


@pytest.mark.parametrize("case", ["folder", "fifo", "symlink", "wrong_hash", "bigger_than_said",
                                  "entry_not_a_list", "path_in_name"])
def test_files_that_are_not_what_the_runner_wrote(tmp_path, case):
    entry = write(tmp_path, "h.json", json.dumps({"status": "ok", "outputs": {}}).encode())
    if case == "folder":
        (tmp_path / "h.json").unlink()
        (tmp_path / "h.json").mkdir()
    elif case == "fifo":
        (tmp_path / "h.json").unlink()
        os.mkfifo(tmp_path / "h.json")
    elif case == "symlink":
        (tmp_path / "h.json").rename(tmp_path / "real.json")
        (tmp_path / "h.json").symlink_to(tmp_path / "real.json")
    elif case == "wrong_hash":
        (tmp_path / "h.json").write_bytes(b'{"status": "ok", "outputs": {"x": 1}}'[:entry[2]])
    elif case == "bigger_than_said":
        (tmp_path / "h.json").write_bytes(b" " * 10_000_000)
    elif case == "entry_not_a_list":
        entry = {"name": "h.json"}
    elif case == "path_in_name":
        entry = ["../h.json", entry[1], entry[2]]
    assert bounded_read(tmp_path, {"json": entry}).status == "malformed"


def test_a_good_result_reads_back(tmp_path):
    header = {"status": "ok", "seconds": 0.5, "outputs": {
        "y": {"kind": "ndarray", "key": "a0"}, "n": {"kind": "value", "float": "nan"},
        "s": {"kind": "value", "value": "x\x1b[2Jy"}}}
    buf = io.BytesIO()
    np.savez(buf, a0=np.arange(6.0).reshape(2, 3))
    files = {"json": write(tmp_path, "h.json", json.dumps(header).encode()),
             "npz": write(tmp_path, "a.npz", buf.getvalue())}
    run = bounded_read(tmp_path, files)
    assert run.status == "ok" and run.seconds == 0.5
    assert np.array_equal(run.outputs["y"], np.arange(6.0).reshape(2, 3))
    assert np.isnan(run.outputs["n"]) and run.outputs["s"] == "x[2Jy"


def test_reports_without_the_key_are_ignored():
    key = b"k" * 32
    body = b'{"k":"ready"}'
    forged = b"\n".join([MAGIC + b"0" * 64 + b" " + body, MAGIC + b"zz " + body,
                         MAGIC + hashlib.sha256(body).hexdigest().encode() + b" " + body])
    assert read_reports(forged, key).ready is None
    good = MAGIC + hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b" " + body
    assert read_reports(forged + b"\n" + good, key).ready == {"k": "ready"}

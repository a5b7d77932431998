"""Readers for bytes that came out of the sandbox: every size, count and depth is checked before
anything is allocated for it, and every failure is one exception, `Malformed`.

Nothing here trusts a length, a shape or a member count the data claims: a file is read only up
to its cap (and refused past it), an `.npy` header is parsed here (not by NumPy) and its shape
times its item size must be exactly the bytes that follow, an `.npz` is a zip whose central
directory is counted before `zipfile` parses it and of which only the named members are read,
and JSON is scanned for its nesting depth without recursion before `json.loads` sees it.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import stat
import struct
import zipfile
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np


class Malformed(ValueError):
    """Output of the hand-in's run that is not what our runner writes."""


MAX_JSON_DEPTH = 32
#: dtypes an output array may have: booleans, integers, floats, complex, in either byte order.
ARRAY_KINDS = {"b": (1,), "i": (1, 2, 4, 8), "u": (1, 2, 4, 8), "f": (2, 4, 8),
               "c": (8, 16)}
MAX_NDIM = 32
MAX_NPY_HEADER = 4096
MAX_MEMBERS = 256


def read_capped(path: Path, cap: int) -> bytes:
    """A regular file's bytes (no link, no folder, no FIFO), refused past `cap` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise Malformed(f"cannot open {path.name}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Malformed(f"{path.name} is not a file")
        if info.st_size > cap:
            raise Malformed(f"{path.name} is larger than {cap} bytes")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise Malformed(f"{path.name} is larger than {cap} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


#: A JSON string (unrolled: one pass of a character class between escapes).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_STEPS = np.zeros(256, dtype=np.int64)
_STEPS[list(b"[{")], _STEPS[list(b"]}")] = 1, -1
_STEP = _STEPS.tolist()  # the same steps, for Python's own sum of a few brackets
_FEW_BRACKETS = 4096


def json_depth(data: bytes) -> int:
    """The deepest nesting of brackets outside strings, counted without recursion: strings
    stripped, only the brackets kept (both in C), then summed (by NumPy when there are many)."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if len(brackets) < _FEW_BRACKETS:
        return max(accumulate((_STEP[c] for c in brackets), initial=0))
    return int(np.cumsum(_STEPS[np.frombuffer(brackets, dtype=np.uint8)]).max(initial=0))


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not a number JSON allows")


def loads_json(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from untrusted bytes: depth checked first, no NaN/Infinity, UTF-8 only."""
    # No deeper than its opening brackets, strings' included: most bodies need no count.
    if data.count(b"[") + data.count(b"{") > max_depth and json_depth(data) > max_depth:
        raise Malformed(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError too
        raise Malformed(f"not JSON: {str(exc)[:100]}") from None


def finite_number(value: Any) -> float | None:
    """`value` as a float when it is a real, finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_npy(data: bytes, *, max_bytes: int) -> np.ndarray:
    """An array from `.npy` bytes, with its header parsed here: magic, version, a small dict
    literal, an allowed dtype, a bounded shape whose size is exactly the bytes that follow."""
    if len(data) < 10 or data[:6] != b"\x93NUMPY":
        raise Malformed("not an .npy array")
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    elif major in (2, 3) and len(data) >= 12:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    else:
        raise Malformed("unknown .npy version")
    if hlen > MAX_NPY_HEADER or start + hlen > len(data):
        raise Malformed(".npy header too long")
    try:
        header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise Malformed(".npy header unreadable") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise Malformed(".npy header unexpected")
    dtype = _dtype(header["descr"])
    shape = header["shape"]
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= max_bytes
            for n in shape):
        raise Malformed(".npy shape unexpected")
    count = 1
    for n in shape:
        count *= n
        if count * dtype.itemsize > max_bytes:
            raise Malformed(".npy array too big")
    body = memoryview(data)[start + hlen:]  # not a copy: the array below is the one copy
    if len(body) != count * dtype.itemsize or not isinstance(header["fortran_order"], bool):
        raise Malformed(".npy size does not match its shape")
    order = "F" if header["fortran_order"] else "C"
    return np.frombuffer(body, dtype=dtype, count=count).reshape(shape, order=order).copy()


def _dtype(descr: Any) -> np.dtype:
    if not isinstance(descr, str) or len(descr) < 3 or descr[0] not in "<>|=":
        raise Malformed(".npy dtype not allowed")
    kind, size = descr[1], descr[2:]
    if kind not in ARRAY_KINDS or not size.isdigit() or int(size) not in ARRAY_KINDS[kind]:
        raise Malformed(".npy dtype not allowed")
    return np.dtype(descr)


def _zip_entries(data: bytes) -> int:
    """The member count the end-of-central-directory record claims (no zip64, no comment)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if at < 0 or len(data) - at < 22:
        raise Malformed("not a zip archive")
    disk, cd_disk, here, total = struct.unpack("<HHHH", data[at + 4:at + 12])
    if disk or cd_disk or here != total or total == 0xFFFF:
        raise Malformed("zip archive of a kind our runner never writes")
    return total


def read_npz(data: bytes, keys: list[str], *, max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays `keys` names (`<key>.npy` members) of an `.npz`, and nothing else of it: the
    member count and each member's declared and actual size are checked before reading."""
    if _zip_entries(data) > MAX_MEMBERS:
        raise Malformed("npz has too many members")
    budget = max_bytes
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for key in keys:
                info = archive.getinfo(f"{key}.npy")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or \
                        info.file_size > budget:
                    raise Malformed(f"npz member {key} too big or compressed oddly")
                with archive.open(info) as member:
                    raw = member.read(info.file_size + 1)
                budget -= len(raw)
                arrays[key] = parse_npy(raw, max_bytes=max_bytes)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, NotImplementedError,
            RuntimeError) as exc:
        raise Malformed(f"npz unreadable: {str(exc)[:100]}") from None
    return arrays

"""What the in-sandbox runner wrote for each test, read back as untrusted data.

Everything crossing the border is size-capped and validated: JSON headers and `.npz` arrays loaded
with `allow_pickle=False`; anything malformed is the hand-in's fault for that test alone.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 1_000_000
MAX_NPZ_BYTES = 32 * 1024 * 1024
LOG_BYTES = 64 * 1024  # of one test's prints kept, as the runner keeps them
STATUSES = ("ok", "error", "timeout", "crashed", "too_big", "output_limit", "malformed",
            "not_run")


@dataclass(frozen=True)
class OpaqueValue:
    """A returned value that is neither an array nor a plain JSON value: only its type and repr."""

    type: str
    repr: str


@dataclass(frozen=True)
class TestRun:
    """What the hand-in's code produced for one test, validated."""

    id: str
    status: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time of the test's process, as the runner measured it."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """name → np.ndarray, a plain JSON value, or OpaqueValue."""
    error: dict[str, Any] | None = None
    signal: int | None = None
    exit_code: int | None = None
    log: str = ""


def read_json(path: Path) -> Any:
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_HEADER_BYTES:
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_log(path: Path) -> str:
    try:
        if path.is_symlink() or not path.is_file():
            return ""
        with path.open("rb") as f:
            return f.read(LOG_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def read_test(out_dir: Path, test_id: str) -> TestRun:
    """Validate and load one test's results; never trust a field without checking it."""
    header = read_json(out_dir / f"{test_id}.json")
    log = _read_log(out_dir / f"{test_id}.log")
    if header is None:
        return TestRun(id=test_id, status="not_run", log=log)
    if not isinstance(header, dict) or header.get("status") not in STATUSES:
        return TestRun(id=test_id, status="malformed", log=log)
    seconds = header.get("seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) else 0.0
    cpu = header.get("cpu")
    cpu = float(cpu) if isinstance(cpu, (int, float)) and 0 <= cpu < 1e6 else 0.0
    common = dict(id=test_id, seconds=seconds, cpu_seconds=cpu, log=log,
                  signal=_int_or_none(header.get("signal")),
                  exit_code=_int_or_none(header.get("exit_code")))
    if header["status"] == "error":
        error = header.get("error")
        return TestRun(status="error", error=_clean_error(error), **common)
    if header["status"] != "ok":
        return TestRun(status=header["status"], **common)
    try:
        outputs = _load_outputs(header.get("outputs"), out_dir / f"{test_id}.npz")
    except (ValueError, OSError, KeyError, zipfile.BadZipFile):
        return TestRun(status="malformed", **common)
    return TestRun(status="ok", outputs=outputs, **common)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clean_error(error: Any) -> dict[str, Any]:
    if not isinstance(error, dict):
        return {"type": "Error", "message": "", "traceback": []}
    tb = error.get("traceback")
    return {"type": str(error.get("type", "Error"))[:100],
            "message": str(error.get("message", ""))[:2000],
            "traceback": [str(line)[:300] for line in tb[:40]] if isinstance(tb, list) else []}


def _load_outputs(meta: Any, npz_path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict) or len(meta) > 200:
        raise ValueError("outputs must be a small mapping")
    arrays = None
    if any(isinstance(v, dict) and v.get("kind") == "ndarray" for v in meta.values()):
        if npz_path.is_symlink() or npz_path.stat().st_size > MAX_NPZ_BYTES:
            raise ValueError("npz missing or too big")
        with zipfile.ZipFile(npz_path) as archive:  # a crafted zip could inflate without bound
            if sum(info.file_size for info in archive.infolist()) > MAX_NPZ_BYTES:
                raise ValueError("npz inflates too far")
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    outputs: dict[str, Any] = {}
    for name, info in meta.items():
        if not isinstance(info, dict):
            raise ValueError(name)
        kind = info.get("kind")
        if kind == "ndarray":
            value = arrays[str(info["key"])]
            if value.dtype.kind not in "biufc":
                raise ValueError(name)
            outputs[str(name)] = value
        elif kind == "value":
            value = info.get("value")
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise ValueError(name)
            outputs[str(name)] = value
        elif kind == "other":
            outputs[str(name)] = OpaqueValue(type=str(info.get("type"))[:100],
                                         repr=str(info.get("repr"))[:200])
        else:
            raise ValueError(name)
    return outputs

"""What the in-sandbox runner wrote for each test, read back as untrusted data.

Only files our runner vouched for count: the runner's signed report of a test (`grader.reports`)
names each file it wrote with its size and SHA-256, and a file is read only up to that size and
only when its hash matches. Whatever else is in the output area (planted files, folders, a result
written after the test was stopped) is never read. The files are then validated field by field
(`grader.untrusted` reads them under caps); anything malformed is the hand-in's fault for that test
alone, never an exception here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.results import TestStatus
from grader.text import printable
from grader.untrusted import Malformed, finite_number, loads_json, read_capped, read_npz

MAX_HEADER_BYTES = 256 * 1024
MAX_NPZ_BYTES = 32 * 1024 * 1024
LOG_BYTES = 64 * 1024  # of one test's prints kept, as the runner keeps them
MAX_OUTPUTS = 200
NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


@dataclass(frozen=True)
class OpaqueValue:
    """A returned value that is neither an array nor a plain JSON value: only its type and repr."""

    type: str
    repr: str


@dataclass(frozen=True)
class TestRun:
    """What the hand-in's code produced for one test, validated."""

    id: str
    status: TestStatus
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time of the test's process as the runner measured it (what the golden set records
    of our reference's runs)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """name → np.ndarray, a plain JSON value, or OpaqueValue."""
    error: dict[str, Any] | None = None
    signal: int | None = None
    exit_code: int | None = None
    log: str = ""
    reason: str = ""
    """Why the results could not be used (malformed) or the test did not run (not_run), in the
    student's terms; empty when the sandbox's verdict says it."""
    limit: str = ""
    """For a timeout: which limit stopped it, "cpu" or "wall"."""


def _vouched(out_dir: Path, entry: Any, cap: int) -> bytes:
    """The bytes of a file the runner's report names as [name, sha256, size], checked."""
    if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
            and isinstance(entry[1], str) and isinstance(entry[2], int)):
        raise Malformed("report entry unexpected")
    name, digest, size = entry
    if "/" in name or name.startswith(".") or size < 0:
        raise Malformed("report entry unexpected")
    if size > cap:
        raise Malformed(f"the test's results are larger than {cap // 1024} KiB")
    data = read_capped(out_dir / name, size)
    if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
        raise Malformed(f"{name} is not what the runner wrote")
    return data


def read_test(out_dir: Path, test_id: str, report: dict[str, Any] | None,
              not_run_reason: str = "") -> TestRun:
    """One test's results from the files the runner's `report` of it names (None: the runner
    never reported it, so the test did not run or did not end within its limits)."""
    if report is None:
        return TestRun(id=test_id, status=TestStatus.NOT_RUN, reason=not_run_reason)
    files = report.get("files")
    files = files if isinstance(files, dict) else {}
    if "json" not in files:
        return TestRun(id=test_id, status=TestStatus.MALFORMED, reason="malformed output (the "
                       "runner could not write this test's results: your code filled the disk?)")
    log = ""
    if "log" in files:
        try:
            log = printable(_vouched(out_dir, files["log"], LOG_BYTES).decode("utf-8", "replace"))
        except Malformed:
            log = ""
    try:
        header = loads_json(_vouched(out_dir, files["json"], MAX_HEADER_BYTES))
        return _validated(header, test_id, log, out_dir, files)
    except Malformed as exc:
        return TestRun(id=test_id, status=TestStatus.MALFORMED, log=log,
                       reason=f"malformed output ({exc})")


def _validated(header: Any, test_id: str, log: str, out_dir: Path, files: dict) -> TestRun:
    if not isinstance(header, dict):
        raise Malformed("the test's header is not a mapping with a known status")
    try:
        status = TestStatus(header.get("status"))
    except ValueError:
        raise Malformed("the test's header is not a mapping with a known status") from None
    seconds = finite_number(header.get("seconds"))
    limit = header.get("limit")
    cpu = finite_number(header.get("cpu"))
    common = dict(id=test_id, seconds=max(0.0, seconds or 0.0), log=log,
                  cpu_seconds=max(0.0, cpu or 0.0),
                  signal=_int_or_none(header.get("signal")),
                  exit_code=_int_or_none(header.get("exit_code")),
                  limit=limit if limit in ("cpu", "wall") else "")
    if status == TestStatus.ERROR:
        return TestRun(status=status, error=_clean_error(header.get("error")), **common)
    if status != TestStatus.OK:
        return TestRun(status=status, **common)
    return TestRun(status=status, outputs=_load_outputs(header.get("outputs"), out_dir, files),
                   **common)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31:
        return value
    return None


def _clean_error(error: Any) -> dict[str, Any]:
    if not isinstance(error, dict):
        return {"type": "Error", "message": "", "traceback": []}
    tb = error.get("traceback")
    return {"type": printable(str(error.get("type", "Error")), 100),
            "message": printable(str(error.get("message", "")), 2000),
            "traceback": [printable(str(line), 300) for line in tb[:40]]
            if isinstance(tb, list) else []}


def _load_outputs(meta: Any, out_dir: Path, files: dict) -> dict[str, Any]:
    if not isinstance(meta, dict) or len(meta) > MAX_OUTPUTS:
        raise Malformed("outputs must be a small mapping")
    keys = []
    for name, info in meta.items():
        if not isinstance(info, dict) or len(name) > 200:
            raise Malformed("an output's description is not a mapping")
        if info.get("kind") == "ndarray":
            if not isinstance(info.get("key"), str) or len(info["key"]) > 64:
                raise Malformed(f"output {printable(name, 50)!r} names no array")
            keys.append(info["key"])
    arrays: dict[str, np.ndarray] = {}
    if keys:
        arrays = read_npz(_vouched(out_dir, files.get("npz"), MAX_NPZ_BYTES), keys,
                          max_bytes=MAX_NPZ_BYTES)
    return {name: _output(name, info, arrays) for name, info in meta.items()}


def _output(name: str, info: dict, arrays: dict[str, np.ndarray]) -> Any:
    kind = info.get("kind")
    if kind == "ndarray":
        return arrays[info["key"]]
    if kind == "value":
        if isinstance(info.get("float"), str):
            if info["float"] not in NONFINITE:
                raise Malformed(f"output {printable(name, 50)!r} is an unknown float")
            return NONFINITE[info["float"]]
        value = info.get("value")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise Malformed(f"output {printable(name, 50)!r} is not a plain value")
        return printable(value, 10_000) if isinstance(value, str) else value
    if kind == "other":
        return OpaqueValue(type=printable(str(info.get("type")), 100),
                           repr=printable(str(info.get("repr")), 200))
    raise Malformed(f"output {printable(name, 50)!r} is of no known kind")

"""The host's side of the runner's signed report channel (docs/sandbox.md, "The report channel").

Each run gets a fresh key (`new_key`), which the backend plants in the output area for the
runner's reporter; the reporter deletes it before any code of the hand-in exists. Reports come
back on the sandbox's stdout as lines `\\x1emlpgrade1 <hex HMAC-SHA256> <json>`; a line whose MAC
does not verify is not ours and is ignored, whatever it says.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from grader.untrusted import Malformed, loads_json

MAGIC = b"\x1emlpgrade1 "
KEY_FILE = ".mlpgrade-key"
MAX_FRAME = 8192


def new_key() -> bytes:
    return secrets.token_bytes(32)


@dataclass
class Reports:
    """What the runner itself said about a run."""

    ready: dict[str, Any] | None = None
    """The runtime's pre-flight: NumPy and the scenarios imported, nothing of the hand-in run
    yet. Without it the run never reached student code: an infrastructure error."""
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """test id → the runner's last report of it (the files it wrote, with sizes and hashes)."""
    done: bool = False
    """The runner got through every test and reported it."""

    @property
    def runtime(self) -> dict[str, Any]:
        ready = self.ready or {}
        return {"done": self.done, **{k: str(ready.get(k, ""))[:40] for k in ("python", "numpy")}}


def read_reports(stdout: bytes, key: bytes) -> Reports:
    """The verified reports in a run's stdout, in order; everything else is ignored."""
    reports = Reports()
    for line in stdout.split(b"\n"):
        if not line.startswith(MAGIC) or len(line) > MAX_FRAME:
            continue
        mac, _, body = line[len(MAGIC):].partition(b" ")
        expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(mac, expected):
            continue
        try:
            report = loads_json(body, max_depth=4)
        except Malformed:
            continue
        if not isinstance(report, dict):
            continue
        kind = report.get("k")
        if kind == "ready" and reports.ready is None:
            reports.ready = report
        elif kind == "test" and reports.ready is not None and isinstance(report.get("id"), str):
            reports.tests[report["id"]] = report
        elif kind == "done" and reports.ready is not None:
            reports.done = True
    return reports

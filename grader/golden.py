"""Golden sets: the expected outputs of every scenario, versioned by the sha256 of their content.

A golden set is a folder `<root>/<assignment>/<version>/` holding `outputs.npz` (arrays, no pickle)
and `manifest.json` (assignment, version, sha256, NumPy version, creation time, and the index of
outputs). It also keeps the outputs of the bundled known mistakes ("signatures") so the comparison
can name a mistake when a hand-in reproduces one. Regenerating from the same inputs yields the same
sha256 and so the same version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from grader.assignment import Assignment
from grader.errors import GraderError, InfrastructureError
from grader.execute import RunOutcome, TestRun
from grader.settings import load_settings

log = logging.getLogger(__name__)

Outputs = dict[str, dict[str, Any]]  # test id → output name → ndarray or plain value


@dataclass(frozen=True)
class GoldenSet:
    assignment: str
    version: str
    sha256: str
    outputs: Outputs
    signatures: dict[str, dict[str, list[tuple[str, Any]]]] = field(default_factory=dict)
    """test id → output name → [(hint of a known mistake, its output)]."""
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def content_sha256(outputs: Outputs) -> str:
    """Hash of the expected outputs alone (names, dtypes, shapes, bytes), order-independent."""
    h = hashlib.sha256()
    for test_id in sorted(outputs):
        for name in sorted(outputs[test_id]):
            value = outputs[test_id][name]
            h.update(f"{test_id}\0{name}\0".encode())
            if isinstance(value, np.ndarray):
                v = np.ascontiguousarray(value)
                h.update(f"{v.dtype.str}{v.shape}".encode())
                h.update(v.tobytes())
            else:
                h.update(json.dumps(value).encode())
    return h.hexdigest()


def outputs_of(outcome: RunOutcome, what: str) -> Outputs:
    """The outputs of a run of OUR code (reference or a known mistake); it must not fail."""
    broken = {t: r for t, r in outcome.tests.items() if r.status != "ok"}
    if broken:
        details = "; ".join(f"{t}: {_describe_failure(r)}" for t, r in broken.items())
        raise InfrastructureError(f"{what} did not run cleanly ({outcome.sandbox.verdict}): "
                                  f"{details[:2000]}")
    return {t: dict(r.outputs) for t, r in outcome.tests.items()}


def _describe_failure(run: TestRun) -> str:
    if run.error:
        return f"{run.error['type']}: {run.error['message']}"
    return run.status + (f" ({run.log[-300:]})" if run.log else "")


def build_golden(assignment: Assignment, reference: Outputs,
                 mistakes: list[tuple[str, Outputs]]) -> GoldenSet:
    """Assemble a golden set from the reference's outputs and the known mistakes' outputs."""
    sha = content_sha256(reference)
    signatures: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    for hint, outputs in mistakes:
        for test_id, named in outputs.items():
            for name, value in named.items():
                expected = reference.get(test_id, {}).get(name)
                if isinstance(value, np.ndarray) and isinstance(expected, np.ndarray) and \
                        value.shape == expected.shape and not np.allclose(
                            value, expected, rtol=assignment.rtol, atol=assignment.atol):
                    signatures.setdefault(test_id, {}).setdefault(name, []).append((hint, value))
    manifest = {"assignment": assignment.slug, "version": sha[:12], "sha256": sha,
                "numpy": None, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    return GoldenSet(assignment=assignment.slug, version=sha[:12], sha256=sha, outputs=reference,
                     signatures=signatures, manifest=manifest)


def save_golden(golden: GoldenSet, root: Path, *, numpy_version: str) -> Path:
    """Write the set under root/<assignment>/<version>/ atomically; returns the folder."""
    arrays: dict[str, np.ndarray] = {}

    def index(value: Any) -> dict[str, Any]:
        if isinstance(value, np.ndarray):
            key = f"k{len(arrays)}"
            arrays[key] = value
            return {"key": key}
        return {"value": value}

    outputs = {t: {n: index(v) for n, v in named.items()} for t, named in golden.outputs.items()}
    signatures = {t: {n: [{"hint": h, **index(v)} for h, v in sigs] for n, sigs in named.items()}
                  for t, named in golden.signatures.items()}
    manifest = {**golden.manifest, "numpy": numpy_version, "outputs": outputs,
                "signatures": signatures}
    target = root / golden.assignment / golden.version
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    np.savez(work / "outputs.npz", **arrays)
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if target.exists():
        shutil.rmtree(target)
    os.replace(work, target)
    return target


def load_golden(path: Path) -> GoldenSet:
    """Read a golden set folder and check its content against the sha256 of its manifest."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        with np.load(path / "outputs.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise GraderError(f"cannot read golden set {path}: {exc}") from exc

    def value(entry: dict[str, Any]) -> Any:
        return arrays[entry["key"]] if "key" in entry else entry["value"]

    outputs = {t: {n: value(e) for n, e in named.items()}
               for t, named in manifest["outputs"].items()}
    if content_sha256(outputs) != manifest["sha256"]:
        raise GraderError(f"golden set {path} is corrupt: its content does not match its sha256")
    signatures = {t: {n: [(e["hint"], value(e)) for e in sigs] for n, sigs in named.items()}
                  for t, named in manifest.get("signatures", {}).items()}
    meta = {k: v for k, v in manifest.items() if k not in ("outputs", "signatures")}
    return GoldenSet(assignment=manifest["assignment"], version=manifest["version"],
                     sha256=manifest["sha256"], outputs=outputs, signatures=signatures,
                     manifest=meta, path=path)


def golden_root() -> Path:
    return load_settings().golden_root


def current_path(assignment: str, root: Path | None = None) -> Path:
    """The file naming the version `mlpgrade grade` uses by default (set once verified)."""
    return (root or golden_root()) / assignment / "CURRENT"


def set_current(golden: GoldenSet, root: Path | None = None) -> None:
    pointer = current_path(golden.assignment, root)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(golden.version + "\n")
    os.replace(tmp, pointer)


def find_golden(assignment: str, version: str | None = None, root: Path | None = None
                ) -> GoldenSet | None:
    """The named version, or the current one; None when there is none yet."""
    root = root or golden_root()
    if version is None:
        pointer = current_path(assignment, root)
        if not pointer.is_file():
            return None
        version = pointer.read_text().strip()
    path = root / assignment / version
    return load_golden(path) if path.is_dir() else None

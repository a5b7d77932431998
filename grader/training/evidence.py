"""The training run's evidence for the TA: advisory checks of the hand-in's curves against the
reference's on the same data and seed, and the four course plots. Never automatic points.

The curves are the hand-in's numbers, so anything a float can be: NaN, ±inf and 1e308 are the
student's result (the "finite" check fails), kept in the evidence as plain JSON (a non-finite
value as null) and plotted clipped to ±PLOT_LIMIT, a gap where a value is not a number.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from grader.outputs import TestRun
from grader.training.config import TrainingConfig

CURVES = ("training_losses", "training_errors", "validation_losses", "validation_errors")
PLOT_LIMIT = 1e6
"""Curves are plotted within ±this (a loss of 1e308 would leave matplotlib no axis to draw)."""


def assess(run: TestRun, reference: dict[str, Any] | None, cfg: TrainingConfig) -> dict[str, Any]:
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
        if not isinstance(value, np.ndarray) or value.shape != (cfg.epochs,) \
                or value.dtype.kind not in "biuf":
            kind = getattr(value, "type", None) or type(value).__name__
            shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
            dtype = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
            check(f"{name} shape", False, f"{name} is a {kind}{shape}{dtype}; expected a numpy "
                                           f"array of length {cfg.epochs} (one number per epoch)")
            continue
        curves[name] = value.astype(np.float64)
    if len(curves) == len(CURVES):
        check("shapes", True, f"four arrays of length {cfg.epochs}")
        finite = all(np.all(np.isfinite(c)) for c in curves.values())
        check("finite", finite, "all values finite" if finite else "NaN or inf in the curves")
        for name in ("training_losses", "validation_losses"):
            c = curves[name]
            falls = bool(c[-1] < 0.9 * c[0])
            check(f"{name} fall", falls, f"{name} go from {c[0]:.4g} to {c[-1]:.4g}" +
                  ("" if falls else ": the loss does not fall — is step() called every batch?"))
        final = float(curves["validation_errors"][-1])
        check("final validation error", final <= cfg.max_final_val_error,
              f"final validation error {final:.4g} (at most {cfg.max_final_val_error:g} expected)")
        if reference:
            same = all(np.allclose(curves[n], reference[n], rtol=1e-3, atol=1e-6) for n in CURVES)
            check("matches reference", same,
                  "same curves as the reference on the same data and seed" if same else
                  "the curves differ from the reference's on the same data and seed: shuffle the "
                  "training indices with np.random.shuffle once per epoch, train on batches of "
                  "batch_size in that order, and report per-epoch means")
    return {"checks": checks, "epochs": cfg.epochs,
            "curves": {n: [round(float(v), 6) if np.isfinite(v) else None for v in c]
                       for n, c in curves.items()}}


def _plottable(values: list[float | None]) -> tuple[np.ndarray, bool]:
    """A curve as matplotlib can draw it (None as NaN, a gap) and whether it was clipped."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        clipped = bool(np.any(np.abs(arr) > PLOT_LIMIT))
    return np.clip(arr, -PLOT_LIMIT, PLOT_LIMIT), clipped


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
        title = name.replace("_", " ")
        if name in curves:
            values, clipped = _plottable(curves[name])
            ax.plot(np.arange(1, len(values) + 1), values, color="#1f5fa8", label="hand-in")
            title += f" (clipped to ±{PLOT_LIMIT:g})" if clipped else ""
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        pngs[f"{name}.png"] = buf.getvalue()
    return pngs

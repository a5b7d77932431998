"""The training run's evidence for the TA: advisory checks of the hand-in's curves, one of them
against its own network's (the hand-in's MLP trained by our loop on the same data, epochs and
shuffle seed), and the four course plots showing them with the reference's beneath. Never
automatic points.

Made-up curves (falling numbers, no training at all) pass every check a curve can pass on its own:
its shape, finite values, a falling loss, a plausible final error; curves copied from another run
(the reference's, a classmate's) passed even a comparison with the reference's on the rubric's
seed. What neither can match without the training they skip is what the hand-in's own network
gives under the handout's loop with a seed drawn for this run, measured by us (our cross-entropy
and error rate of its outputs; for validation, of its layers' weights: a `total_loss` or `error`
that returns falling numbers fools neither): "agrees with its own network" compares the reported
curves with those, and says how far apart they are.

The curves are the hand-in's numbers, so anything a float can be: NaN, ±inf and 1e308 are the
student's result (the "finite" check fails), kept in the evidence as plain JSON (a non-finite
value as null) and plotted clipped to ±PLOT_LIMIT, a gap where a value is not a number.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from grader.outputs import TestRun
from grader.results import TestStatus
from grader.rubric import TrainingConfig

CURVES = ("training_losses", "training_errors", "validation_losses", "validation_errors")
OWN = "own_"
"""Prefix of the curves of the hand-in's network trained by our loop (the training scenario's)."""
AGREE_RTOL, AGREE_ATOL = 1e-3, 1e-6
"""The handout's loop and ours give the same numbers to the last digits."""
NEAR_SHARE, NEAR_SLACK = 0.1, 0.02
"""Curves that disagree are "near" when their mean absolute difference is at most this share of
the own curve's mean magnitude plus this slack: a loop that trains this network another way
(another order, another average); farther, no training of this network made them."""
PLOT_LIMIT = 1e6
"""Curves are plotted within ±this (a loss of 1e308 would leave matplotlib no axis to draw)."""


def assess(run: TestRun, cfg: TrainingConfig) -> dict[str, Any]:
    """Advisory checks of the hand-in's curves: the TA's evidence (plain JSON)."""
    checks: list[dict[str, Any]] = []

    def check(name: str, passed: bool, message: str) -> None:
        checks.append({"name": name, "passed": bool(passed), "message": message})

    if run.status != TestStatus.OK:
        err = run.error or {}
        detail = f"{err.get('type')}: {err.get('message')}" if err else run.status
        if run.status == TestStatus.TIMEOUT:
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
    own = _own_curves(run, cfg, curves, check)
    return {"checks": checks, "epochs": cfg.epochs, "curves": _plain(curves),
            "own_curves": _plain(own)}


def _plain(curves: dict[str, np.ndarray]) -> dict[str, list[float | None]]:
    return {n: [round(float(v), 6) if np.isfinite(v) else None for v in c]
            for n, c in curves.items()}


def _own_curves(run: TestRun, cfg: TrainingConfig, curves: dict[str, np.ndarray], check
                ) -> dict[str, np.ndarray]:
    """The hand-in's network's curves under our loop, and the check that the reported ones agree
    with them (when both are there)."""
    if OWN + "error" in run.outputs:
        check("own network trains", False, "our loop could not train this hand-in's MLP on the "
              f"same data ({run.outputs[OWN + 'error']}): its reported curves are not backed "
              "by a network that trains")
        return {}
    own = {}
    for name in CURVES:
        value = run.outputs.get(OWN + name)
        if isinstance(value, np.ndarray) and value.shape == (cfg.epochs,) \
                and value.dtype.kind in "f":
            own[name] = value
    if len(own) < len(CURVES) or len(curves) < len(CURVES):
        return own  # a golden set's reference made before this check, or bad reported shapes
    seed = run.outputs.get("seed")
    same = f"the same data, epochs and shuffle seed ({seed}, drawn for this run)" \
        if isinstance(seed, int) else "the same data, epochs and seed"
    same += (", its losses and errors computed by us (the validation ones from its layers' "
             "weights), not by its total_loss and error")
    agree = all(np.allclose(curves[n], own[n], rtol=AGREE_RTOL, atol=AGREE_ATOL) for n in CURVES)
    if agree:
        check("agrees with its own network", True, "the reported curves are what this "
              f"hand-in's own MLP gives when our loop trains it on {same}")
        return own
    gaps = {n: _gap(curves[n], own[n]) for n in CURVES}
    worst = max(CURVES, key=lambda n: gaps[n][0] / gaps[n][1])
    gap, near = gaps[worst]
    r, o = curves[worst], own[worst]
    why = (f"{worst} reported {r[0]:.4g} → {r[-1]:.4g}, its network {o[0]:.4g} → {o[-1]:.4g} "
           f"(mean difference {gap:.3g})")
    if all(g <= n for g, n in gaps.values()):
        why += (": close, as from a loop that trains this network but not as the handout's "
                "does (shuffle the training indices with np.random.shuffle once per epoch, train "
                "on batches of batch_size in that order, report per-epoch means), or from curves "
                "copied from another run of a correct network; read get_training_stats")
    else:
        why += (f": far apart (more than {near:.3g}), so no training of this network made the "
                "reported curves: made up, copied from another run, or from another network; "
                "read get_training_stats")
    check("agrees with its own network", False, "the reported curves are not what this "
          f"hand-in's own MLP gives when our loop trains it on {same}: {why}")
    return own


def _gap(reported: np.ndarray, own: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference, the most it may be to count as near) of two curves;
    non-finite values are near only where both have them."""
    finite_r, finite_o = np.isfinite(reported), np.isfinite(own)
    allowed = NEAR_SLACK + NEAR_SHARE * float(np.mean(np.abs(own[finite_o]))
                                              if finite_o.any() else 0.0)
    if not np.array_equal(finite_r, finite_o):
        return float("inf"), allowed
    both = finite_r & finite_o
    gap = float(np.mean(np.abs(reported[both] - own[both]))) if both.any() else 0.0
    return gap, allowed


def _plottable(values: list[float | None]) -> tuple[np.ndarray, bool]:
    """A curve as matplotlib can draw it (None as NaN, a gap) and whether it was clipped."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        clipped = bool(np.any(np.abs(arr) > PLOT_LIMIT))
    return np.clip(arr, -PLOT_LIMIT, PLOT_LIMIT), clipped


def plot_curves(curves: dict[str, list[float]], reference: dict[str, Any] | None,
                own: dict[str, list[float]] | None = None) -> dict[str, bytes]:
    """The four course plots as PNG bytes: the reported curve, the reference's beneath it and
    the hand-in's network's under our loop (dashed) over it."""
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
        if own and name in own:
            values, _ = _plottable(own[name])
            ax.plot(np.arange(1, len(values) + 1), values, color="#2a9d4b", linestyle="--",
                    label="its network, our loop")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        pngs[f"{name}.png"] = buf.getvalue()
    return pngs

"""The trusted comparison: one output against its golden value, with feedback a student can act on.

Staged as the course's rule reads (defined → ndarray → dtype → shape → values); each stage stops at
the first problem and says what came and what was expected. Pure: no files, no processes. The
expected values themselves never appear in a message or in `details`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.outputs import OpaqueValue
from grader.results import OutputCheck

MISSING = object()


def compare_output(name: str, expected: Any, got: Any, *, rtol: float, atol: float,
                   batch: int | None = None,
                   signatures: Sequence[tuple[str, Any]] = ()) -> OutputCheck:
    """Compare `got` (what the hand-in returned) with `expected` (the golden value).

    `batch` is the scenario's batch size, to recognise "off by the batch size" bugs; `signatures`
    are (hint, value) pairs of known mistakes' outputs, to name the mistake when one matches.
    """
    if not isinstance(expected, np.ndarray):
        return _compare_plain(name, expected, got)
    if got is MISSING:
        return _fail(name, f"`{name}` was not produced.")
    if not isinstance(got, np.ndarray):
        return _fail(name, f"`{name}` is {_kind(got)}, expected a numpy array of shape "
                           f"{expected.shape}{_none_hint(got)}",
                     got_type=_type_name(got), expected_shape=list(expected.shape))
    facts = {"expected_dtype": str(expected.dtype), "got_dtype": str(got.dtype),
             "expected_shape": list(expected.shape), "got_shape": list(got.shape)}
    if got.dtype != expected.dtype:
        hint = " (compute in float64; do not cast to float32)" if got.dtype == np.float32 else ""
        return _fail(name, f"`{name}` has dtype {got.dtype}, expected {expected.dtype}{hint}.",
                     **facts)
    if got.shape != expected.shape:
        hint = _shape_hint(got.shape, expected.shape, batch)
        return _fail(name, f"`{name}` has shape {got.shape}, expected {expected.shape}"
                           f"{': ' + hint if hint else '.'}", hint=hint, **facts)
    return _compare_values(name, expected, got, rtol=rtol, atol=atol, batch=batch,
                           signatures=signatures, facts=facts)


def _compare_values(name, expected, got, *, rtol, atol, batch, signatures, facts) -> OutputCheck:
    with np.errstate(all="ignore"):
        close = np.isclose(got, expected, rtol=rtol, atol=atol)
        err = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    n_nan, n_inf = int(np.isnan(got).sum()), int(np.isinf(got).sum())
    bad = int(close.size - close.sum())
    if bad == 0:
        return OutputCheck(name=name, passed=True, message="", details=facts)
    finite_err = np.where(np.isfinite(err), err, -1.0)
    where = np.unravel_index(int(np.argmax(finite_err)), err.shape) if err.size else ()
    largest = float(finite_err[where]) if err.size else 0.0
    share = bad / close.size
    facts.update(mismatches=bad, total=int(close.size), share=round(share, 6),
                 max_abs_error=largest, max_error_index=[int(i) for i in where],
                 nan=n_nan, inf=n_inf)
    hint = _signature_hint(got, signatures, rtol, atol) or _ratio_hint(got, expected, batch)
    if n_nan or n_inf:
        hint = hint or "NaN/inf in your values: overflow in exp? (use the LogSumExp trick)"
    facts["hint"] = hint
    where_text = f" at index {list(facts['max_error_index'])}" if where else ""
    message = (f"`{name}`: {bad:,} of {close.size:,} values ({share:.1%}) differ beyond "
               f"rtol={rtol:g}, atol={atol:g}; largest error {largest:.3g}{where_text}")
    if n_nan or n_inf:
        message += f"; {n_nan} NaN and {n_inf} inf"
    message += "." + (f" Hint: {hint}" if hint else "")
    return OutputCheck(name=name, passed=False, message=message, details=facts)


def _compare_plain(name: str, expected: Any, got: Any) -> OutputCheck:
    """Non-array outputs (the multiple-choice answers): exact equality; the answer stays hidden."""
    if got is MISSING:
        return _fail(name, f"`{name}` was not produced.")
    if got == expected and type(got) is type(expected):
        return OutputCheck(name=name, passed=True, message="")
    shown = repr(got) if not isinstance(got, OpaqueValue) else f"a {got.type}"
    hint = " (answers are one lowercase letter)" if isinstance(got, str) and \
        got.strip().lower() == expected else ""
    return _fail(name, f"`{name}` returned {shown[:40]}: not the right answer{hint}.")


def _fail(name: str, message: str, **details: Any) -> OutputCheck:
    return OutputCheck(name=name, passed=False, message=message, details=details)


def _type_name(value: Any) -> str:
    return value.type if isinstance(value, OpaqueValue) else type(value).__name__


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    return f"a {_type_name(value)}"


def _none_hint(value: Any) -> str:
    if value is None:
        return " (a missing `return`, or code still as in the starter?)."
    if isinstance(value, OpaqueValue) and value.type in ("list", "tuple"):
        return " (wrap it with np.array)."
    return "."


def _shape_hint(got: tuple, expected: tuple, batch: int | None) -> str:
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return "did you transpose?"
    if len(expected) == 2 and expected[0] == 1 and got == expected[1:]:
        return f"keep it 2-D, shape {expected} (keepdims=True or reshape)."
    if len(expected) == 1 and len(got) == 2 and expected[0] in got and 1 in got:
        return "one value per example is wanted, a 1-D array (sum over the classes axis)."
    if len(expected) == 2 and expected[0] == 1 and len(got) == 2 and got[1:] == expected[1:] \
            and got[0] != 1:
        return "reduce over the batch (axis 0) to one row."
    if int(np.prod(got)) == int(np.prod(expected)):
        return "same number of values, arranged differently."
    return ""


def _ratio_hint(got: np.ndarray, expected: np.ndarray, batch: int | None) -> str:
    """If every value is the same multiple of the expected one, say which multiple and why."""
    mask = np.isfinite(got) & np.isfinite(expected) & (np.abs(expected) > 1e-6)
    if mask.sum() < 2:
        return ""
    with np.errstate(all="ignore"):
        ratio = got[mask] / expected[mask]
    c = float(np.median(ratio))
    if c == 0 or not np.allclose(ratio, c, rtol=1e-3, atol=0):
        return ""
    known = [(-1.0, "every value has the wrong sign (a subtraction reversed? the momentum "
                    "update is momentum * momentum_W - lr * dW, then W += momentum_W).")]
    if batch:
        m = float(batch)
        known += [
            (m, f"every value is {batch} (the batch size) times too large: average over the "
                "batch instead of summing (dW and db are means over the batch)."),
            (1 / m, f"every value is {batch} (the batch size) times too small: the course sums "
                    "here (dbeta and dgamma are sums over the batch; the loss derivative is not "
                    "divided by the batch size)."),
            (np.sqrt((m - 1) / m), "off by sqrt((m-1)/m): use the biased variance (divide by m, "
                                   "np.var's default), not the unbiased one."),
            (np.sqrt(m / (m - 1)), "off by sqrt(m/(m-1)): use the biased variance (divide by m), "
                                   "not the unbiased one."),
        ]
    for factor, text in known:
        if np.isclose(c, factor, rtol=1e-3):
            return text
    return f"every value is {c:.4g} times the expected one: a constant factor is off."


def _signature_hint(got: np.ndarray, signatures: Sequence[tuple[str, Any]], rtol: float,
                    atol: float) -> str:
    for hint, value in signatures:
        if isinstance(value, np.ndarray) and value.shape == got.shape and \
                np.allclose(got, value, rtol=rtol, atol=atol):
            return f"this is exactly what we get with a known mistake: {hint}"
    return ""

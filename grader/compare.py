"""The trusted comparison: one output against its golden value, with feedback a student can act on.

Staged as the course's rule reads (defined → ndarray → dtype → shape → values); each stage stops at
the first problem and says what came and what was expected. Pure: no files, no processes.

A message is the student's, and the student knows what their code returned: any error in the
units of the values (|got - expected|, the factor between them) would hand them the golden
value. So a message is made only of facts that do not: which output, dtype, shape, how many
values differ and where, the largest error as a power of ten of the tolerance, hints. The
numbers are in `details` too, under `STAFF_ONLY` names: `student_details` is what a student may
see of a check's details (grader/student_view.py shows a whole report to a student).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.outputs import OpaqueValue
from grader.results import OutputCheck

MISSING = object()

STUDENT_DETAILS = ("got_type", "expected_dtype", "got_dtype", "expected_shape", "got_shape",
                   "hint", "mismatches", "total", "share", "nan", "inf", "mismatch_indices",
                   "error_to_tolerance")
"""`details` a student may see: they say what came and what was expected without the values."""
STAFF_ONLY = ("max_abs_error", "max_error_index", "constant_factor")
"""`details` that, with the student's own output, give away golden values: for staff only."""


def student_details(details: dict[str, Any]) -> dict[str, Any]:
    """What a student may see of a check's `details`: an allow-list, so a detail added here later
    stays with staff until it is named in STUDENT_DETAILS."""
    return {k: details[k] for k in STUDENT_DETAILS if k in details}


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
        allowed = atol + rtol * np.abs(expected.astype(np.float64))
    n_nan, n_inf = int(np.isnan(got).sum()), int(np.isinf(got).sum())
    bad = int(close.size - close.sum())
    if bad == 0:
        return OutputCheck(name=name, passed=True, message="", details=facts)
    finite_err = np.where(np.isfinite(err), err, -1.0)
    where = np.unravel_index(int(np.argmax(finite_err)), err.shape) if err.size else ()
    share = bad / close.size
    hint, factor = _ratio_hint(got, expected, batch)
    hint = _signature_hint(got, signatures, rtol, atol) or hint
    if n_nan or n_inf:
        hint = hint or "NaN/inf in your values: overflow in exp? (use the LogSumExp trick)"
    facts.update(mismatches=bad, total=int(close.size), share=round(share, 6), nan=n_nan,
                 inf=n_inf, mismatch_indices=[[int(i) for i in ix]
                                              for ix in np.argwhere(~close)[:5]],
                 error_to_tolerance=_decade(finite_err / allowed), hint=hint,
                 max_abs_error=float(finite_err[where]) if err.size else 0.0,
                 max_error_index=[int(i) for i in where], constant_factor=factor)
    return OutputCheck(name=name, passed=False, message=_values_message(name, facts, rtol, atol),
                       details=facts)


def _decade(ratio: np.ndarray) -> int | None:
    """The largest finite error over its tolerance as a power of ten: k with ratio <= 10**k
    (coarse on purpose: the exact ratio would give the expected value away)."""
    with np.errstate(all="ignore"):
        finite = ratio[np.isfinite(ratio) & (ratio > 0)]
    if finite.size == 0:
        return None
    return max(int(np.ceil(np.log10(float(finite.max())))), 1)


def _values_message(name: str, facts: dict[str, Any], rtol: float, atol: float) -> str:
    """The student's line, made only of facts that do not give golden values away."""
    bad, total, first = facts["mismatches"], facts["total"], facts["mismatch_indices"]
    message = (f"`{name}`: {bad:,} of {total:,} values ({facts['share']:.1%}) differ beyond "
               f"rtol={rtol:g}, atol={atol:g}")
    if first:
        message += f", first at index {first[0]}"
    if facts["error_to_tolerance"] is not None:
        message += f"; the largest error is up to {10 ** facts['error_to_tolerance']:,}x the " \
                   "tolerance"
    if facts["nan"] or facts["inf"]:
        message += f"; {facts['nan']} NaN and {facts['inf']} inf"
    return message + "." + (f" Hint: {facts['hint']}" if facts["hint"] else "")


def _compare_plain(name: str, expected: Any, got: Any) -> OutputCheck:
    """Non-array outputs (the multiple-choice answers): exact equality; the answer stays hidden."""
    if got is MISSING:
        return _fail(name, f"`{name}` was not produced.")
    if type(got) is type(expected) and got == expected:  # the type first: array == str raises
        return OutputCheck(name=name, passed=True, message="")
    shown = (f"a {got.type}" if isinstance(got, OpaqueValue)
             else f"an array of shape {got.shape}" if isinstance(got, np.ndarray) else repr(got))
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


def _ratio_hint(got: np.ndarray, expected: np.ndarray, batch: int | None
                ) -> tuple[str, float | None]:
    """If every value is the same multiple of the expected one: the hint (which known mistake
    makes that multiple; else only that there is one) and the multiple (for staff)."""
    mask = np.isfinite(got) & np.isfinite(expected) & (np.abs(expected) > 1e-6)
    if mask.sum() < 2:
        return "", None
    with np.errstate(all="ignore"):
        ratio = got[mask] / expected[mask]
    c = float(np.median(ratio))
    if c == 0 or not np.allclose(ratio, c, rtol=1e-3, atol=0):
        return "", None
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
            return text, c
    return "every value is the same constant multiple of the expected one: a factor is off.", c


def _signature_hint(got: np.ndarray, signatures: Sequence[tuple[str, Any]], rtol: float,
                    atol: float) -> str:
    for hint, value in signatures:
        if isinstance(value, np.ndarray) and value.shape == got.shape and \
                np.allclose(got, value, rtol=rtol, atol=atol):
            return f"this is exactly what we get with a known mistake: {hint}"
    return ""

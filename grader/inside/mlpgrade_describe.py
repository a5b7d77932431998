"""How a test child describes what the hand-in's code returned or raised, as plain data the
host validates (`grader.outputs`). Runs in the child, where the student's code may have changed
anything; every call that could run the student's code is guarded by the caller.

Staged next to runner.py; standard library and NumPy only.
"""

import math
import os
import traceback


def describe(value):
    """What came back, as plain data: arrays go to the npz, everything else is described."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return {"kind": "ndarray", "type": type(value).__name__}
    if isinstance(value, float) and not math.isfinite(value):
        return {"kind": "value", "type": "float", "float": repr(value)}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return {"kind": "other", "type": type(value).__name__, "repr": "a very large int"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"kind": "value", "type": type(value).__name__, "value": value}
    text = repr(value)
    return {"kind": "other", "type": type(value).__name__, "repr": text[:200]}


def student_traceback(exc):
    """The traceback lines from the hand-in's own files (the student can act on those)."""
    root = os.getcwd() + os.sep
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            rel = frame.filename[len(root):]
            lines.append(f'File "{rel}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append("    " + frame.line.strip())
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root):
        lines.append(f'File "{exc.filename[len(root):]}", line {exc.lineno}')
        if exc.text:
            lines.append("    " + exc.text.strip())
    return lines


def describe_error(exc):
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "(the exception's message could not be read)"
    try:
        tb = student_traceback(exc)[-20:]
    except BaseException:  # noqa: BLE001 - as above
        tb = []
    return {"type": type(exc).__name__[:100], "message": message, "traceback": tb}

"""The tiny assignment's tests: drive the hand-in's `ops` module, return named outputs.

Runs inside the sandbox under the student runtime (NumPy only); `m.ops` imports the hand-in's
src/ops.py by bare name.
"""

import numpy as np


def softmax(m):
    x = np.random.RandomState(1).randn(5, 7) * 3.0
    return {"softmax(x)": m.ops.softmax(x)}


def dot(m, batch_size):
    rng = np.random.RandomState(2)
    a, b = rng.randn(batch_size, 4), rng.randn(4, 3)
    return {"dot(a, b)": m.ops.dot(a, b)}

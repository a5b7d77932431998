"""Our solution of the tiny assignment."""

import numpy as np


def softmax(x):
    """Row-wise softmax of x (n, k), shifted by each row's max for stability."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def dot(a, b):
    """a (n, k) @ b (k, m)."""
    return np.dot(a, b)

"""Softmax cross-entropy on one-hot labels, per example."""

import numpy as np


class Criterion:
    """Base class: `loss(x, y)` calls `loss.forward(x, y)`."""

    def __init__(self):
        self.logits = None
        self.labels = None
        self.loss = None

    def __call__(self, x, y):
        return self.forward(x, y)

    def forward(self, x, y):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class SoftmaxCrossEntropy(Criterion):
    """x: logits (batch, 10); y: one-hot labels (batch, 10)."""

    def __init__(self):
        super().__init__()
        self.sm = None

    def forward(self, x, y):
        """Returns the per-example loss, shape (batch,): -sum_k y_k log softmax(x)_k.

        LogSumExp trick: log sum_k e^{x_k} = a + log sum_k e^{x_k - a} with a = max_k x_k, so no
        exponential overflows however large the logits."""
        self.logits, self.labels = x, y
        a = np.max(x, axis=1, keepdims=True)
        log_sum_exp = a + np.log(np.sum(np.exp(x - a), axis=1, keepdims=True))
        log_softmax = x - log_sum_exp
        self.sm = np.exp(log_softmax)
        self.loss = -np.sum(y * log_softmax, axis=1)
        return self.loss

    def derivative(self):
        """d loss_i / d x_i = softmax(x_i) - y_i, shape (batch, 10). Not divided by the batch
        size: the course averages over the batch in Linear.backward instead."""
        return self.sm - self.labels

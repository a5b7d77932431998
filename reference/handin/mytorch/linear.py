"""A fully connected layer, batch-first: out = x W + b."""

import numpy as np


class Linear:
    """W: (in_feature, out_feature), b: (1, out_feature): a row, so it broadcasts over the
    batch."""

    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        self.W = weight_init_fn(in_feature, out_feature)
        self.b = bias_init_fn(out_feature)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.momentum_W = np.zeros_like(self.W)
        self.momentum_b = np.zeros_like(self.b)
        self.x = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """x: (batch, in_feature) → (batch, out_feature). Keeps x for backward."""
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, delta):
        """delta = dL/dout: (batch, out_feature) → dx: (batch, in_feature).

        dW and db are AVERAGED over the batch (the course's convention: the loss derivative is
        per example, the mean is taken here)."""
        batch = delta.shape[0]
        self.dW = np.dot(self.x.T, delta) / batch
        self.db = np.mean(delta, axis=0, keepdims=True)
        return np.dot(delta, self.W.T)

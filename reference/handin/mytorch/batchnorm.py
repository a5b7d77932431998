"""Batch normalisation over the batch axis, with running statistics for inference."""

import numpy as np


class BatchNorm:
    """All parameters and statistics are rows of shape (1, in_feature)."""

    def __init__(self, in_feature, alpha=0.9):
        self.alpha = alpha
        self.eps = 1e-8
        self.x = None
        self.norm = None
        self.out = None
        self.var = np.ones((1, in_feature))
        self.mean = np.zeros((1, in_feature))
        self.gamma = np.ones((1, in_feature))
        self.dgamma = np.zeros((1, in_feature))
        self.beta = np.zeros((1, in_feature))
        self.dbeta = np.zeros((1, in_feature))
        self.running_mean = np.zeros((1, in_feature))
        self.running_var = np.ones((1, in_feature))

    def __call__(self, x, eval=False):
        return self.forward(x, eval)

    def forward(self, x, eval=False):
        """x: (batch, in_feature) → (batch, in_feature).

        Training: normalise with the batch mean and the BIASED (1/m) batch variance, as the
        course does, and update the running statistics by an exponential moving average.
        eval=True: normalise with the running statistics and update nothing."""
        if eval:
            norm = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
            return self.gamma * norm + self.beta
        self.x = x
        self.mean = np.mean(x, axis=0, keepdims=True)
        self.var = np.var(x, axis=0, keepdims=True)
        self.norm = (x - self.mean) / np.sqrt(self.var + self.eps)
        self.out = self.gamma * self.norm + self.beta
        self.running_mean = self.alpha * self.running_mean + (1 - self.alpha) * self.mean
        self.running_var = self.alpha * self.running_var + (1 - self.alpha) * self.var
        return self.out

    def backward(self, delta):
        """delta = dL/dout: (batch, in_feature) → dL/dx: (batch, in_feature).

        dbeta and dgamma are SUMS over the batch (unlike Linear's means: the course's
        convention). dx follows from the full derivation through mean and variance:
        dx = 1/(m sigma) (m dnorm - sum dnorm - norm sum(dnorm norm))."""
        m = delta.shape[0]
        self.dbeta = np.sum(delta, axis=0, keepdims=True)
        self.dgamma = np.sum(delta * self.norm, axis=0, keepdims=True)
        dnorm = delta * self.gamma
        inv_std = 1.0 / np.sqrt(self.var + self.eps)
        return inv_std / m * (m * dnorm - np.sum(dnorm, axis=0, keepdims=True)
                              - self.norm * np.sum(dnorm * self.norm, axis=0, keepdims=True))

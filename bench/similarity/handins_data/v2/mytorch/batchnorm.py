import numpy as np


class BatchNorm(object):

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

    def _stats(self, x, eval):
        if eval:
            return self.running_mean, self.running_var
        mu = x.mean(axis=0, keepdims=True)
        sigma2 = ((x - mu) * (x - mu)).mean(axis=0, keepdims=True)
        self.running_mean *= self.alpha
        self.running_mean += (1 - self.alpha) * mu
        self.running_var *= self.alpha
        self.running_var += (1 - self.alpha) * sigma2
        return mu, sigma2

    def forward(self, x, eval=False):
        mu, sigma2 = self._stats(x, eval)
        xhat = (x - mu) / np.sqrt(sigma2 + self.eps)
        if not eval:
            self.x, self.mean, self.var, self.norm = x, mu, sigma2, xhat
        self.out = self.gamma * xhat + self.beta
        return self.out

    def backward(self, delta):
        n = delta.shape[0]
        g = delta * self.gamma
        self.dgamma = np.sum(self.norm * delta, axis=0, keepdims=True)
        self.dbeta = np.sum(delta, axis=0, keepdims=True)
        inv = (self.var + self.eps) ** -0.5
        return (inv / n) * (n * g - g.sum(axis=0) - self.norm * (g * self.norm).sum(axis=0))

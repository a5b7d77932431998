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

    def forward(self, x, eval=False):
        if eval == True:
            xhat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
            return xhat * self.gamma + self.beta
        self.x = x
        m = x.shape[0]
        self.mean = x.sum(axis=0, keepdims=True) / m
        centered = x - self.mean
        self.var = (centered ** 2).sum(axis=0, keepdims=True) / m
        self.norm = centered / np.sqrt(self.var + self.eps)
        self.out = self.norm * self.gamma + self.beta
        a = self.alpha
        self.running_mean = a * self.running_mean + (1 - a) * self.mean
        self.running_var = a * self.running_var + (1 - a) * self.var
        return self.out

    def backward(self, delta):
        m = delta.shape[0]
        self.dbeta = delta.sum(axis=0, keepdims=True)
        self.dgamma = (delta * self.norm).sum(axis=0, keepdims=True)
        dxhat = delta * self.gamma
        centered = self.x - self.mean
        std_inv = 1.0 / np.sqrt(self.var + self.eps)
        dvar = np.sum(dxhat * centered, axis=0, keepdims=True) * -0.5 * std_inv ** 3
        dmean = -np.sum(dxhat * std_inv, axis=0, keepdims=True) \
            - 2.0 * dvar * np.mean(centered, axis=0, keepdims=True)
        dx = dxhat * std_inv + dvar * 2.0 * centered / m + dmean / m
        return dx

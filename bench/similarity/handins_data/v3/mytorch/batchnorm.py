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
        self.graph = {}

    def __call__(self, x, eval=False):
        return self.forward(x, eval)

    def forward(self, x, eval=False):
        if eval:
            shifted = x - self.running_mean
            scale = np.sqrt(self.running_var + self.eps)
            return self.gamma * (shifted / scale) + self.beta
        self.x = x
        self.mean = np.mean(x, axis=0).reshape(1, -1)
        xmu = x - self.mean
        sq = xmu ** 2
        self.var = np.mean(sq, axis=0).reshape(1, -1)
        sqrtvar = np.sqrt(self.var + self.eps)
        ivar = 1.0 / sqrtvar
        self.norm = xmu * ivar
        self.out = self.gamma * self.norm + self.beta
        self.graph = {'xmu': xmu, 'sqrtvar': sqrtvar, 'ivar': ivar}
        self.running_mean = self.alpha * self.running_mean + (1.0 - self.alpha) * self.mean
        self.running_var = self.alpha * self.running_var + (1.0 - self.alpha) * self.var
        return self.out

    def backward(self, delta):
        N = delta.shape[0]
        xmu = self.graph['xmu']
        sqrtvar = self.graph['sqrtvar']
        ivar = self.graph['ivar']
        self.dbeta = np.sum(delta, axis=0).reshape(1, -1)
        self.dgamma = np.sum(delta * self.norm, axis=0).reshape(1, -1)
        dxhat = delta * self.gamma
        divar = np.sum(dxhat * xmu, axis=0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
        dvar = 0.5 * dsqrtvar / sqrtvar
        dsq = np.ones(delta.shape) * dvar / N
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -1 * np.sum(dx1, axis=0)
        dx2 = np.ones(delta.shape) * dmu / N
        return dx1 + dx2

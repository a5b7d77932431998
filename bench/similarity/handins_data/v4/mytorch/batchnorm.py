import numpy as np


class BatchNorm(object):
    def __init__(self, in_feature, alpha=0.9):
        self.alpha = alpha
        self.eps = 1e-8
        self.x = self.norm = self.out = None
        shape = (1, in_feature)
        self.var, self.mean = np.ones(shape), np.zeros(shape)
        self.gamma, self.dgamma = np.ones(shape), np.zeros(shape)
        self.beta, self.dbeta = np.zeros(shape), np.zeros(shape)
        self.running_mean, self.running_var = np.zeros(shape), np.ones(shape)

    def __call__(self, x, eval=False): return self.forward(x, eval)

    def forward(self, x, eval=False):
        if eval:
            return self.gamma * (x - self.running_mean) / (self.running_var + self.eps) ** .5 \
                + self.beta
        self.x = x
        self.mean, self.var = x.mean(0, keepdims=True), x.var(0, keepdims=True)
        self.norm = (x - self.mean) / (self.var + self.eps) ** .5
        self.out = self.gamma * self.norm + self.beta
        self.running_mean += (1 - self.alpha) * (self.mean - self.running_mean)
        self.running_var += (1 - self.alpha) * (self.var - self.running_var)
        return self.out

    def backward(self, delta):
        m = len(delta)
        self.dbeta = delta.sum(0, keepdims=True)
        self.dgamma = (delta * self.norm).sum(0, keepdims=True)
        dn = delta * self.gamma
        s = (self.var + self.eps) ** -.5
        dv = -.5 * (dn * (self.x - self.mean)).sum(0, keepdims=True) * s ** 3
        dm = -(dn * s).sum(0, keepdims=True) + dv * -2 * (self.x - self.mean).mean(0, keepdims=True)
        return dn * s + dv * 2 * (self.x - self.mean) / m + dm / m

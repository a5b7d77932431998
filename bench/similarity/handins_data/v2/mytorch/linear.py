import numpy as np


class Linear():

    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        self.W = weight_init_fn(in_feature, out_feature)
        self.b = bias_init_fn(out_feature)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.momentum_W, self.momentum_b = np.zeros_like(self.W), np.zeros_like(self.b)
        self.cache = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        self.cache = x
        return np.einsum('bi,io->bo', x, self.W) + self.b

    def backward(self, delta):
        bs = float(delta.shape[0])
        self.dW = np.einsum('bi,bo->io', self.cache, delta) / bs
        self.db = np.sum(delta, axis=0, keepdims=True) / bs
        return np.einsum('bo,io->bi', delta, self.W)

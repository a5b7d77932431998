import numpy as np


class Linear():
    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        self.W, self.b = weight_init_fn(in_feature, out_feature), bias_init_fn(out_feature)
        self.dW, self.db = 0 * self.W, 0 * self.b
        self.momentum_W, self.momentum_b = 0 * self.W, 0 * self.b
        self.X = None

    def __call__(self, x): return self.forward(x)

    def forward(self, x):
        self.X = x
        return x.dot(self.W) + self.b

    def backward(self, delta):
        self.dW = self.X.T.dot(delta) / delta.shape[0]
        self.db = delta.mean(0, keepdims=True)
        return delta.dot(self.W.T)

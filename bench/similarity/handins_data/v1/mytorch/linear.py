import numpy as np


class Linear():
    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        self.W = weight_init_fn(in_feature, out_feature)
        self.b = bias_init_fn(out_feature)
        self.dW = np.zeros((in_feature, out_feature))
        self.db = np.zeros((1, out_feature))
        self.momentum_W = np.zeros((in_feature, out_feature))
        self.momentum_b = np.zeros((1, out_feature))
        self.inputs = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        self.inputs = x
        out = x @ self.W
        out = out + self.b
        return out

    def backward(self, delta):
        n = len(delta)
        grad_w = self.inputs.T @ delta
        self.dW = grad_w / n
        self.db = delta.sum(axis=0).reshape(1, -1) / n
        dx = delta @ self.W.T
        return dx

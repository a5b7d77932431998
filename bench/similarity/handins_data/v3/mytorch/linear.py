import numpy as np


class Linear():
    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        self.in_feature = in_feature
        self.out_feature = out_feature
        self.W = weight_init_fn(in_feature, out_feature)
        self.b = bias_init_fn(out_feature)
        self.dW = np.zeros(self.W.shape)
        self.db = np.zeros(self.b.shape)
        self.momentum_W = np.zeros(self.W.shape)
        self.momentum_b = np.zeros(self.b.shape)
        self.last_input = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        self.last_input = x
        return np.matmul(x, self.W) + self.b

    def backward(self, delta):
        count = self.last_input.shape[0]
        self.dW = np.matmul(np.transpose(self.last_input), delta) / count
        self.db = np.mean(delta, axis=0).reshape(self.b.shape)
        return np.matmul(delta, np.transpose(self.W))

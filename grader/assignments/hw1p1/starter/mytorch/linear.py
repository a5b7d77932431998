# Only NumPy is available to the grader: import nothing else.

import numpy as np


class Linear():
    def __init__(self, in_feature, out_feature, weight_init_fn, bias_init_fn):
        """
        Argument:
            W (np.array): (in feature, out feature)
            dW (np.array): (in feature, out feature)
            momentum_W (np.array): (in feature, out feature)

            b (np.array): (1, out feature)
            db (np.array): (1, out feature)
            momentum_B (np.array): (1, out feature)
        """
        self.W = None
        self.b = None
        self.dW = None
        self.db = None
        self.momentum_W = None
        self.momentum_b = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """
        Argument:
            x (np.array): (batch size, in feature)
        Return:
            out (np.array): (batch size, out feature)
        """
        raise NotImplementedError

    def backward(self, delta):
        """
        Argument:
            delta (np.array): (batch size, out feature)
        Return:
            out (np.array): (batch size, in feature)
        """
        raise NotImplementedError

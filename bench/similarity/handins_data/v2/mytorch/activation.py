import numpy as np


def _logistic(z):
    # numerically safe for both signs
    pos = z >= 0
    res = np.empty_like(z, dtype=np.float64)
    res[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    res[~pos] = ez / (1.0 + ez)
    return res


class Activation(object):

    def __init__(self):
        self.state = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class Identity(Activation):

    def forward(self, x):
        self.state = x
        return x

    def derivative(self):
        return 1.0


class Sigmoid(Activation):

    def forward(self, x):
        self.state = _logistic(np.asarray(x, dtype=np.float64))
        return self.state

    def derivative(self):
        return np.multiply(self.state, 1.0 - self.state)


class Tanh(Activation):

    def forward(self, x):
        # tanh(z) = 2 sigmoid(2z) - 1
        self.state = 2.0 * _logistic(2.0 * np.asarray(x, dtype=np.float64)) - 1.0
        return self.state

    def derivative(self):
        return (1.0 + self.state) * (1.0 - self.state)


class ReLU(Activation):

    def forward(self, x):
        self.state = np.where(x > 0, x, 0.0)
        return self.state

    def derivative(self):
        return np.where(self.state > 0, 1.0, 0.0)

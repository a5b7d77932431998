import numpy as np


class Activation(object):

    def __init__(self):
        self.state = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplemented

    def derivative(self):
        raise NotImplemented


class Identity(Activation):

    def __init__(self):
        super(Identity, self).__init__()

    def forward(self, x):
        self.state = x
        return x

    def derivative(self):
        return 1.0


class Sigmoid(Activation):

    def __init__(self):
        super(Sigmoid, self).__init__()

    def forward(self, x):
        e = np.exp(-x)
        out = 1 / (e + 1)
        self.state = out
        return out

    def derivative(self):
        s = self.state
        return s - s * s


class Tanh(Activation):

    def __init__(self):
        super(Tanh, self).__init__()

    def forward(self, x):
        ep = np.exp(x)
        en = np.exp(-x)
        self.state = (ep - en) / (ep + en)
        return self.state

    def derivative(self):
        return 1 - np.square(self.state)


class ReLU(Activation):

    def __init__(self):
        super(ReLU, self).__init__()

    def forward(self, x):
        out = x.copy()
        out[out < 0] = 0
        self.state = out
        return out

    def derivative(self):
        d = np.zeros(self.state.shape)
        d[self.state > 0] = 1.0
        return d

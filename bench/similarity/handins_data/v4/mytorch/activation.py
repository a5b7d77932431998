import numpy as np


class Activation(object):
    def __init__(self): self.state = None
    def __call__(self, x): return self.forward(x)
    def forward(self, x): raise NotImplementedError
    def derivative(self): raise NotImplementedError


class Identity(Activation):
    def forward(self, x):
        self.state = x
        return x

    def derivative(self): return 1.0


class Sigmoid(Activation):
    def forward(self, x):
        self.state = .5 * (1 + np.tanh(.5 * x))
        return self.state

    def derivative(self):
        f = self.state
        return f * (1 - f)


class Tanh(Activation):
    def forward(self, x):
        self.state = 2 / (1 + np.exp(-2 * x)) - 1
        return self.state

    def derivative(self): return 1 - self.state * self.state


class ReLU(Activation):
    def forward(self, x):
        self.state = x.clip(min=0)
        return self.state

    def derivative(self): return np.sign(self.state)

import numpy as np


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
        denominator = 1.0 + np.exp(np.negative(x))
        self.state = np.reciprocal(denominator)
        return self.state

    def derivative(self):
        one_minus = np.ones_like(self.state) - self.state
        return self.state * one_minus


class Tanh(Activation):
    def forward(self, x):
        self.state = np.tanh(x)
        return self.state

    def derivative(self):
        squared = np.power(self.state, 2)
        return np.ones_like(squared) - squared


class ReLU(Activation):
    def forward(self, x):
        mask = (x > 0).astype(float)
        self.state = x * mask
        return self.state

    def derivative(self):
        return np.greater(self.state, 0).astype(float)

# Only NumPy is available to the grader: import nothing else.

import numpy as np


class Activation(object):
    """Base of the activations. `state` must hold the output of forward: the grader reads it."""

    def __init__(self):
        self.state = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class Identity(Activation):
    """Identity function (already implemented)."""

    def __init__(self):
        super(Identity, self).__init__()

    def forward(self, x):
        self.state = x
        return x

    def derivative(self):
        return 1.0


class Sigmoid(Activation):
    """Sigmoid non-linearity."""

    def __init__(self):
        super(Sigmoid, self).__init__()

    def forward(self, x):
        # TODO: store the output in self.state and return it
        raise NotImplementedError

    def derivative(self):
        # TODO: use self.state
        raise NotImplementedError


class Tanh(Activation):
    """Tanh non-linearity."""

    def __init__(self):
        super(Tanh, self).__init__()

    def forward(self, x):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class ReLU(Activation):
    """ReLU non-linearity (its derivative is 0 at 0)."""

    def __init__(self):
        super(ReLU, self).__init__()

    def forward(self, x):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError

"""Activations. Each stores its OUTPUT in `self.state` (the course's convention), and
`derivative()` takes no argument: it is computed from `self.state`."""

import numpy as np


class Activation:
    """Base class: `act(x)` calls `act.forward(x)`."""

    def __init__(self):
        self.state = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class Identity(Activation):
    """f(x) = x. Given in the handout: it stores its input (= its output)."""

    def forward(self, x):
        self.state = x
        return x

    def derivative(self):
        return 1.0


class Sigmoid(Activation):
    """f(x) = 1 / (1 + e^-x); f' = f (1 - f)."""

    def forward(self, x):
        self.state = 1.0 / (1.0 + np.exp(-x))
        return self.state

    def derivative(self):
        return self.state * (1.0 - self.state)


class Tanh(Activation):
    """f(x) = tanh(x); f' = 1 - f^2."""

    def forward(self, x):
        self.state = np.tanh(x)
        return self.state

    def derivative(self):
        return 1.0 - self.state ** 2


class ReLU(Activation):
    """f(x) = max(x, 0); f' = 1 where x > 0, else 0 (0 at 0, by the course's convention)."""

    def forward(self, x):
        self.state = np.maximum(x, 0.0)
        return self.state

    def derivative(self):
        return (self.state > 0.0).astype(np.float64)

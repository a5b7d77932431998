# Only NumPy is available to the grader: import nothing else.

import numpy as np


class Criterion(object):
    """Interface for loss functions."""

    def __init__(self):
        self.logits = None
        self.labels = None
        self.loss = None

    def __call__(self, x, y):
        return self.forward(x, y)

    def forward(self, x, y):
        raise NotImplementedError

    def derivative(self):
        raise NotImplementedError


class SoftmaxCrossEntropy(Criterion):
    """Softmax followed by cross-entropy."""

    def __init__(self):
        super(SoftmaxCrossEntropy, self).__init__()

    def forward(self, x, y):
        """
        Argument:
            x (np.array): (batch size, 10) logits
            y (np.array): (batch size, 10) one-hot labels
        Return:
            out (np.array): (batch size, ) loss of each example
        """
        # TODO: use the LogSumExp trick
        raise NotImplementedError

    def derivative(self):
        """
        Return:
            out (np.array): (batch size, 10)
        """
        raise NotImplementedError

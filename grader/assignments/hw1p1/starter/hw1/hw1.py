"""Starter code of the MLP (mlpgrade's own hand-out).

Implement MLP.forward, zero_grads, step, backward and get_training_stats as the writeup
describes. Each test of the grader checks one part, so submit as you go.
"""

import numpy as np
import os
import sys

sys.path.append('mytorch')
from loss import *
from activation import *
from batchnorm import *
from linear import *


class MLP(object):
    """A simple multilayer perceptron."""

    def __init__(self, input_size, output_size, hiddens, activations, weight_init_fn,
                 bias_init_fn, criterion, lr, momentum=0.0, num_bn_layers=0):

        # Given: keep these attributes as they are.
        self.train_mode = True
        self.num_bn_layers = num_bn_layers
        self.bn = num_bn_layers > 0
        self.nlayers = len(hiddens) + 1
        self.input_size = input_size
        self.output_size = output_size
        self.activations = activations
        self.criterion = criterion
        self.lr = lr
        self.momentum = momentum

        # The grader reads these two lists by name.
        # TODO: one Linear per layer, built in layer order (input → hiddens → output).
        self.linear_layers = None

        # TODO: one BatchNorm after each of the first num_bn_layers Linear layers.
        if self.bn:
            self.bn_layers = None

    def forward(self, x):
        """
        Argument:
            x (np.array): (batch size, input_size)
        Return:
            out (np.array): (batch size, output_size)
        """
        # TODO: per layer Linear → BatchNorm (if any) → activation.
        raise NotImplementedError

    def zero_grads(self):
        # TODO: zero the gradients of every Linear and BatchNorm layer.
        raise NotImplementedError

    def step(self):
        # TODO: SGD on W and b of every Linear (with momentum), and on gamma and beta of
        # every BatchNorm (without momentum).
        raise NotImplementedError

    def backward(self, labels):
        # TODO: call the criterion on the last output, then back-propagate through every
        # activation, BatchNorm and Linear layer.
        raise NotImplementedError

    def error(self, labels):
        return (np.argmax(self.output, axis=1) != np.argmax(labels, axis=1)).sum()

    def total_loss(self, labels):
        return self.criterion(self.output, labels).sum()

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        self.train_mode = True

    def eval(self):
        self.train_mode = False


def get_training_stats(mlp, dset, nepochs, batch_size):

    train, val, _ = dset
    trainx, trainy = train
    valx, valy = val

    idxs = np.arange(len(trainx))

    training_losses = np.zeros(nepochs)
    training_errors = np.zeros(nepochs)
    validation_losses = np.zeros(nepochs)
    validation_errors = np.zeros(nepochs)

    for e in range(nepochs):
        # TODO: shuffle idxs; train on each batch (zero_grads, forward, backward, step);
        # then measure loss and error on the validation set in eval mode.
        pass

    # TODO: return the four arrays.
    raise NotImplementedError

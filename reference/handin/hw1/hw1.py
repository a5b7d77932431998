"""Multi-layer perceptron built from the MyTorch layers, and its training loop.

Imported as a top-level module with `mytorch/` reachable, exactly as a student's hw1.py is.
"""

import sys

import numpy as np

sys.path.append('mytorch')
from activation import *  # noqa: F403 - the course's own imports, after its sys.path line
from batchnorm import *  # noqa: F403 - the course's own imports, after its sys.path line
from linear import *  # noqa: F403 - the course's own imports, after its sys.path line
from loss import *  # noqa: F403 - the course's own imports, after its sys.path line


class MLP:
    """input_size → hiddens → output_size; per layer Linear → BatchNorm (first num_bn_layers
    hidden layers) → activation. `activations` has one entry per layer (the last is usually
    Identity, with the softmax inside the criterion)."""

    def __init__(self, input_size, output_size, hiddens, activations, weight_init_fn,
                 bias_init_fn, criterion, lr, momentum=0.0, num_bn_layers=0):
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
        sizes = [input_size] + list(hiddens) + [output_size]
        # Built in layer order, so the weight draws follow the global RNG stream layer by layer.
        self.linear_layers = [Linear(sizes[i], sizes[i + 1], weight_init_fn,  # noqa: F405 - from linear
                                     bias_init_fn) for i in range(self.nlayers)]
        self.bn_layers = [BatchNorm(sizes[i + 1])  # noqa: F405 - from batchnorm
                          for i in range(num_bn_layers)]
        self.output = None

    def forward(self, x):
        """x: (batch, input_size) → the last activation's output (batch, output_size)."""
        for i in range(self.nlayers):
            x = self.linear_layers[i].forward(x)
            if i < self.num_bn_layers:
                x = self.bn_layers[i].forward(x, eval=not self.train_mode)
            x = self.activations[i](x)
        self.output = x
        return x

    def zero_grads(self):
        for layer in self.linear_layers:
            layer.dW.fill(0.0)
            layer.db.fill(0.0)
        for bn in self.bn_layers:
            bn.dgamma.fill(0.0)
            bn.dbeta.fill(0.0)

    def step(self):
        """SGD on every Linear (with momentum if set) and plain SGD on BatchNorm gamma/beta."""
        for layer in self.linear_layers:
            layer.momentum_W = self.momentum * layer.momentum_W - self.lr * layer.dW
            layer.momentum_b = self.momentum * layer.momentum_b - self.lr * layer.db
            layer.W = layer.W + layer.momentum_W
            layer.b = layer.b + layer.momentum_b
        for bn in self.bn_layers:
            bn.gamma = bn.gamma - self.lr * bn.dgamma
            bn.beta = bn.beta - self.lr * bn.dbeta

    def backward(self, labels):
        """Calls the criterion on the last output itself, then back-propagates, leaving the
        gradients in every layer. labels: one-hot (batch, output_size)."""
        self.criterion(self.output, labels)
        delta = self.criterion.derivative()
        for i in reversed(range(self.nlayers)):
            delta = delta * self.activations[i].derivative()
            if i < self.num_bn_layers:
                delta = self.bn_layers[i].backward(delta)
            delta = self.linear_layers[i].backward(delta)
        return delta

    def error(self, labels):
        return float(np.mean(np.argmax(self.output, axis=1) != np.argmax(labels, axis=1)))

    def total_loss(self, labels):
        return self.criterion(self.output, labels).sum()

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        self.train_mode = True

    def eval(self):
        self.train_mode = False


def get_training_stats(mlp, dset, nepochs, batch_size):
    """Train `mlp` for nepochs on dset = (train, val, test), each (X, Y) with one-hot Y.

    Returns (training_losses, training_errors, validation_losses, validation_errors), arrays of
    length nepochs: per epoch, the mean per-example loss and the error rate over the training
    batches (as trained), and over the validation set (in eval mode)."""
    train, val, _ = dset
    train_x, train_y = train
    val_x, val_y = val
    idxs = np.arange(len(train_x))
    training_losses = np.zeros(nepochs)
    training_errors = np.zeros(nepochs)
    validation_losses = np.zeros(nepochs)
    validation_errors = np.zeros(nepochs)
    for e in range(nepochs):
        np.random.shuffle(idxs)
        mlp.train()
        loss_sum, wrong = 0.0, 0.0
        for start in range(0, len(train_x), batch_size):
            batch = idxs[start:start + batch_size]
            x, y = train_x[batch], train_y[batch]
            mlp.zero_grads()
            mlp.forward(x)
            mlp.backward(y)
            mlp.step()
            loss_sum += mlp.total_loss(y)
            wrong += mlp.error(y) * len(batch)
        training_losses[e] = loss_sum / len(train_x)
        training_errors[e] = wrong / len(train_x)
        mlp.eval()
        mlp.forward(val_x)
        validation_losses[e] = mlp.total_loss(val_y) / len(val_x)
        validation_errors[e] = mlp.error(val_y)
    mlp.train()
    return training_losses, training_errors, validation_losses, validation_errors

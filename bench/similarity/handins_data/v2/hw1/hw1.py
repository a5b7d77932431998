import numpy as np
import sys

sys.path.append('mytorch')
from loss import *
from activation import *
from batchnorm import *
from linear import *


def _sgd(param, grad, lr):
    param -= lr * grad


class MLP(object):

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
        dims = [input_size, *hiddens, output_size]
        self.linear_layers = [Linear(d_in, d_out, weight_init_fn, bias_init_fn)
                              for d_in, d_out in zip(dims[:-1], dims[1:])]
        self.bn_layers = [BatchNorm(d) for d in dims[1:1 + num_bn_layers]]

    def _stack(self):
        for idx, (lin, act) in enumerate(zip(self.linear_layers, self.activations)):
            norm = self.bn_layers[idx] if idx < len(self.bn_layers) else None
            yield lin, norm, act

    def forward(self, x):
        for lin, norm, act in self._stack():
            x = lin(x)
            if norm is not None:
                x = norm(x, eval=not self.train_mode)
            x = act(x)
        self.out = x
        return x

    def zero_grads(self):
        for lin, norm, _ in self._stack():
            lin.dW[:] = 0.0
            lin.db[:] = 0.0
            if norm is not None:
                norm.dgamma[:] = 0.0
                norm.dbeta[:] = 0.0

    def step(self):
        mu = self.momentum
        for lin, norm, _ in self._stack():
            lin.momentum_W = mu * lin.momentum_W - self.lr * lin.dW
            lin.momentum_b = mu * lin.momentum_b - self.lr * lin.db
            lin.W = lin.W + lin.momentum_W
            lin.b = lin.b + lin.momentum_b
            if norm is not None:
                _sgd(norm.gamma, norm.dgamma, self.lr)
                _sgd(norm.beta, norm.dbeta, self.lr)

    def backward(self, labels):
        self.criterion(self.out, labels)
        d = self.criterion.derivative()
        for lin, norm, act in reversed(list(self._stack())):
            d = act.derivative() * d
            if norm is not None:
                d = norm.backward(d)
            d = lin.backward(d)

    def error(self, labels):
        return np.count_nonzero(self.out.argmax(1) != labels.argmax(1))

    def total_loss(self, labels):
        return np.sum(self.criterion(self.out, labels))

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        self.train_mode = True

    def eval(self):
        self.train_mode = False


def _run_epoch(mlp, X, Y, order, batch_size):
    loss, wrong = 0.0, 0
    for chunk in np.array_split(order, max(1, len(order) // batch_size)):
        mlp.zero_grads()
        mlp(X[chunk])
        mlp.backward(Y[chunk])
        mlp.step()
        loss += mlp.total_loss(Y[chunk])
        wrong += mlp.error(Y[chunk])
    return loss / len(X), wrong / len(X)


def get_training_stats(mlp, dset, nepochs, batch_size):
    (tx, ty), (vx, vy), _ = dset
    stats = np.zeros((4, nepochs))
    order = np.arange(tx.shape[0])
    for epoch in range(nepochs):
        np.random.shuffle(order)
        mlp.train()
        stats[0, epoch], stats[1, epoch] = _run_epoch(mlp, tx, ty, order, batch_size)
        mlp.eval()
        mlp(vx)
        stats[2, epoch] = mlp.total_loss(vy) / vx.shape[0]
        stats[3, epoch] = mlp.error(vy) / vx.shape[0]
    mlp.train()
    return stats[0], stats[1], stats[2], stats[3]

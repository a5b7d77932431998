import numpy as np
import sys

sys.path.append('mytorch')
from loss import *
from activation import *
from batchnorm import *
from linear import *


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
        s = [input_size] + hiddens + [output_size]
        self.linear_layers = [Linear(a, b, weight_init_fn, bias_init_fn) for a, b in zip(s, s[1:])]
        if self.bn:
            self.bn_layers = [BatchNorm(s[i + 1]) for i in range(num_bn_layers)]
        self.y = None

    def layers(self):
        bns = self.bn_layers if self.bn else []
        return [(l, bns[i] if i < len(bns) else None, a)
                for i, (l, a) in enumerate(zip(self.linear_layers, self.activations))]

    def forward(self, x):
        for l, n, a in self.layers():
            x = a(n(l(x), not self.train_mode) if n else l(x))
        self.y = x
        return x

    def zero_grads(self):
        for l, n, _ in self.layers():
            l.dW, l.db = 0 * l.dW, 0 * l.db
            if n:
                n.dgamma, n.dbeta = 0 * n.dgamma, 0 * n.dbeta

    def step(self):
        for l, n, _ in self.layers():
            l.momentum_W = self.momentum * l.momentum_W - self.lr * l.dW
            l.momentum_b = self.momentum * l.momentum_b - self.lr * l.db
            l.W, l.b = l.W + l.momentum_W, l.b + l.momentum_b
            if n:
                n.gamma, n.beta = n.gamma - self.lr * n.dgamma, n.beta - self.lr * n.dbeta

    def backward(self, labels):
        self.criterion(self.y, labels)
        g = self.criterion.derivative()
        for l, n, a in self.layers()[::-1]:
            g = g * a.derivative()
            g = l.backward(n.backward(g) if n else g)
        return g

    def error(self, labels): return int((self.y.argmax(1) != labels.argmax(1)).sum())
    def total_loss(self, labels): return self.criterion(self.y, labels).sum()
    def __call__(self, x): return self.forward(x)
    def train(self): self.train_mode = True
    def eval(self): self.train_mode = False


def get_training_stats(mlp, dset, nepochs, batch_size):
    (X, Y), (VX, VY), _ = dset
    out = [np.zeros(nepochs) for _ in range(4)]
    order = np.arange(len(X))
    for e in range(nepochs):
        np.random.shuffle(order)
        mlp.train()
        for i in range(0, len(X), batch_size):
            j = order[i:i + batch_size]
            mlp.zero_grads(); mlp(X[j]); mlp.backward(Y[j]); mlp.step()
            out[0][e] += mlp.total_loss(Y[j]) / len(X)
            out[1][e] += mlp.error(Y[j]) / len(X)
        mlp.eval()
        mlp(VX)
        out[2][e], out[3][e] = mlp.total_loss(VY) / len(VX), mlp.error(VY) / len(VX)
    return tuple(out)

import numpy as np
import os
import sys

sys.path.append('mytorch')
from loss import *
from activation import *
from batchnorm import *
from linear import *


class Block(object):
    """Linear, optional batch norm and activation of one layer."""

    def __init__(self, linear, norm, activation):
        self.linear = linear
        self.norm = norm
        self.activation = activation

    def run(self, x, training):
        z = self.linear.forward(x)
        if self.norm:
            z = self.norm.forward(z, eval=not training)
        return self.activation(z)

    def grad(self, upstream):
        g = upstream * self.activation.derivative()
        if self.norm:
            g = self.norm.backward(g)
        return self.linear.backward(g)


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
        widths = [input_size] + hiddens + [output_size]
        self.linear_layers = []
        self.bn_layers = []
        self.blocks = []
        for k in range(self.nlayers):
            lin = Linear(widths[k], widths[k + 1], weight_init_fn, bias_init_fn)
            self.linear_layers.append(lin)
            norm = None
            if k < num_bn_layers:
                norm = BatchNorm(widths[k + 1])
                self.bn_layers.append(norm)
            self.blocks.append(Block(lin, norm, activations[k]))
        self.prediction = None

    def forward(self, x):
        signal = x
        for block in self.blocks:
            signal = block.run(signal, self.train_mode)
        self.prediction = signal
        return signal

    def zero_grads(self):
        for lin in self.linear_layers:
            lin.dW.fill(0)
            lin.db.fill(0)
        for norm in self.bn_layers:
            norm.dgamma.fill(0)
            norm.dbeta.fill(0)

    def step(self):
        for lin in self.linear_layers:
            vw = self.momentum * lin.momentum_W - self.lr * lin.dW
            vb = self.momentum * lin.momentum_b - self.lr * lin.db
            lin.momentum_W, lin.momentum_b = vw, vb
            lin.W = lin.W + vw
            lin.b = lin.b + vb
        for norm in self.bn_layers:
            norm.gamma = norm.gamma - self.lr * norm.dgamma
            norm.beta = norm.beta - self.lr * norm.dbeta

    def backward(self, labels):
        self.criterion.forward(self.prediction, labels)
        upstream = self.criterion.derivative()
        for block in self.blocks[::-1]:
            upstream = block.grad(upstream)
        return upstream

    def error(self, labels):
        guesses = np.argmax(self.prediction, axis=1)
        truth = np.argmax(labels, axis=1)
        return float(np.sum(guesses != truth))

    def total_loss(self, labels):
        return float(np.sum(self.criterion(self.prediction, labels)))

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        self.train_mode = True

    def eval(self):
        self.train_mode = False


def get_training_stats(mlp, dset, nepochs, batch_size):
    train, val, test = dset
    trainx, trainy = train
    valx, valy = val
    idxs = np.arange(len(trainx))
    history = {'tl': [], 'te': [], 'vl': [], 've': []}
    n_batches = int(np.ceil(len(trainx) / batch_size))
    for e in range(nepochs):
        np.random.shuffle(idxs)
        mlp.train()
        running_loss = 0.0
        running_err = 0.0
        for b in range(n_batches):
            sel = idxs[b * batch_size:(b + 1) * batch_size]
            mlp.zero_grads()
            mlp.forward(trainx[sel])
            mlp.backward(trainy[sel])
            mlp.step()
            running_loss += mlp.total_loss(trainy[sel])
            running_err += mlp.error(trainy[sel])
        history['tl'].append(running_loss / len(trainx))
        history['te'].append(running_err / len(trainx))
        mlp.eval()
        mlp.forward(valx)
        history['vl'].append(mlp.total_loss(valy) / len(valx))
        history['ve'].append(mlp.error(valy) / len(valx))
    return tuple(np.array(history[key]) for key in ('tl', 'te', 'vl', 've'))

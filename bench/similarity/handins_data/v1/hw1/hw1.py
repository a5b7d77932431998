import numpy as np
import os
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

        self.linear_layers = []
        fan_in = input_size
        for h in hiddens:
            self.linear_layers.append(Linear(fan_in, h, weight_init_fn, bias_init_fn))
            fan_in = h
        self.linear_layers.append(Linear(fan_in, output_size, weight_init_fn, bias_init_fn))

        self.bn_layers = []
        if self.bn:
            for j in range(num_bn_layers):
                self.bn_layers.append(BatchNorm(hiddens[j]))

    def forward(self, x):
        h = x
        layer = 0
        while layer < self.nlayers:
            h = self.linear_layers[layer](h)
            if self.bn and layer < self.num_bn_layers:
                h = self.bn_layers[layer](h, not self.train_mode)
            h = self.activations[layer](h)
            layer += 1
        self.output = h
        return h

    def zero_grads(self):
        for lin in self.linear_layers:
            lin.dW = np.zeros(lin.W.shape)
            lin.db = np.zeros(lin.b.shape)
        if self.bn:
            for norm in self.bn_layers:
                norm.dgamma = np.zeros(norm.gamma.shape)
                norm.dbeta = np.zeros(norm.beta.shape)

    def step(self):
        for lin in self.linear_layers:
            if self.momentum:
                lin.momentum_W = self.momentum * lin.momentum_W - self.lr * lin.dW
                lin.momentum_b = self.momentum * lin.momentum_b - self.lr * lin.db
                lin.W += lin.momentum_W
                lin.b += lin.momentum_b
            else:
                lin.W -= self.lr * lin.dW
                lin.b -= self.lr * lin.db
        if self.bn:
            for norm in self.bn_layers:
                norm.gamma -= self.lr * norm.dgamma
                norm.beta -= self.lr * norm.dbeta

    def backward(self, labels):
        self.loss = self.criterion(self.output, labels)
        grad = self.criterion.derivative()
        layer = self.nlayers - 1
        while layer >= 0:
            grad = grad * self.activations[layer].derivative()
            if self.bn and layer < self.num_bn_layers:
                grad = self.bn_layers[layer].backward(grad)
            grad = self.linear_layers[layer].backward(grad)
            layer -= 1
        return grad

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
    train, val, test = dset
    trainx, trainy = train
    valx, valy = val
    idxs = np.arange(len(trainx))
    training_losses = []
    training_errors = []
    validation_losses = []
    validation_errors = []
    for e in range(nepochs):
        np.random.shuffle(idxs)
        mlp.train()
        epoch_loss = 0.0
        epoch_err = 0
        for b in range(0, len(trainx), batch_size):
            batch = idxs[b:b + batch_size]
            mlp.zero_grads()
            mlp.forward(trainx[batch])
            mlp.backward(trainy[batch])
            mlp.step()
            epoch_loss += mlp.total_loss(trainy[batch])
            epoch_err += mlp.error(trainy[batch])
        training_losses.append(epoch_loss / len(trainx))
        training_errors.append(epoch_err / len(trainx))
        mlp.eval()
        mlp.forward(valx)
        validation_losses.append(mlp.total_loss(valy) / len(valx))
        validation_errors.append(mlp.error(valy) / len(valx))
    return (np.array(training_losses), np.array(training_errors),
            np.array(validation_losses), np.array(validation_errors))

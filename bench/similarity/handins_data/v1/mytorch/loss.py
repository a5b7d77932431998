import numpy as np


class Criterion(object):

    def __init__(self):
        self.logits = None
        self.labels = None
        self.loss = None

    def __call__(self, x, y):
        return self.forward(x, y)

    def forward(self, x, y):
        raise NotImplemented

    def derivative(self):
        raise NotImplemented


class SoftmaxCrossEntropy(Criterion):

    def __init__(self):
        super(SoftmaxCrossEntropy, self).__init__()
        self.sm = None

    def forward(self, x, y):
        self.logits = x
        self.labels = y
        batch = x.shape[0]
        losses = np.zeros(batch)
        probs = np.zeros(x.shape)
        for i in range(batch):
            row = x[i]
            biggest = row.max()
            shifted = row - biggest
            total = np.exp(shifted).sum()
            logp = shifted - np.log(total)
            probs[i] = np.exp(logp)
            losses[i] = -(y[i] * logp).sum()
        self.sm = probs
        self.loss = losses
        return losses

    def derivative(self):
        grad = self.sm.copy()
        grad = grad - self.labels
        return grad

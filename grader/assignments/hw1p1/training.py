"""The course's training run, inside the sandbox: the hand-in's get_training_stats on MNIST.

Data comes read-only from the folder in $MLPGRADE_DATA ({train,val,test}_{data,labels}.npy,
standardised, labels one-hot). Runs under the student runtime: NumPy only, nothing of ours.
"""

import os

import numpy as np
from scenarios import IN, OUT, SEED, bias_init_fn, snap, weight_init_fn


def load(part):
    folder = os.environ["MLPGRADE_DATA"]
    return (np.load(os.path.join(folder, part + "_data.npy")),
            np.load(os.path.join(folder, part + "_labels.npy")))


def training_statistics(m, hiddens, activation, lr, momentum, batch, epochs, seed):
    """Build the course's MLP with the hand-in's classes and return its four curves."""
    dset = (load("train"), load("val"), load("test"))
    activations = [getattr(m.activation, activation)() for _ in hiddens]
    activations.append(m.activation.Identity())
    np.random.seed(SEED)
    mlp = m.hw1.MLP(IN, OUT, list(hiddens), activations, weight_init_fn, bias_init_fn,
                    m.loss.SoftmaxCrossEntropy(), lr, momentum, 0)
    np.random.seed(seed)  # the shuffles of every epoch follow from here
    stats = m.hw1.get_training_stats(mlp, dset, epochs, batch)
    names = ("training_losses", "training_errors", "validation_losses", "validation_errors")
    if not isinstance(stats, (tuple, list)) or len(stats) != 4:
        raise TypeError(f"get_training_stats returned {type(stats).__name__}, "
                        "expected a tuple of four arrays")
    return {name: snap(value) for name, value in zip(names, stats, strict=True)}

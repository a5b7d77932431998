"""The course's training run, inside the sandbox: the hand-in's get_training_stats on MNIST, and
the hand-in's own MLP trained by the course's loop (ours) on the same data, seed and epochs.

The second run is evidence that cannot be faked cheaply: curves a get_training_stats made up
(falling numbers and no training) agree with nothing this hand-in's network does when it is
actually trained, and `grader.training.evidence` flags the disagreement. Ours runs second, on a
network of its own: while get_training_stats runs, our curves do not exist yet, so it cannot
return them (a frame's locals, the heap); whatever it changes on its way out (the class, NumPy)
can only make ours disagree. Our loop measures with our own arithmetic, never the hand-in's
`total_loss` or `error` (which could return any falling numbers, in both runs alike): the training
curves are our cross-entropy and error rate of the outputs its forward gave for each batch, the
validation curves those of its layers' weights (`linear_layers[i].W`, `.b` with the rubric's
activation) on the validation set, as we compute them. Whatever its methods report, the
validation curves fall only if its weights learned. Both run in a scratch folder of the box's
size-capped /tmp as working directory: a hand-in may save its plots there as the handout suggests
(the hand-in's own folder is read-only).

Data comes read-only from the folder in $MLPGRADE_DATA ({train,val,test}_{data,labels}.npy,
standardised, labels one-hot). Runs under the student runtime: NumPy only, nothing of ours.
"""

import os
import tempfile

import numpy as np
from scenarios import IN, OUT, SEED, bias_init_fn, snap, weight_init_fn

NAMES = ("training_losses", "training_errors", "validation_losses", "validation_errors")


def load(part):
    folder = os.environ["MLPGRADE_DATA"]
    return (np.load(os.path.join(folder, part + "_data.npy")),
            np.load(os.path.join(folder, part + "_labels.npy")))


def new_mlp(m, hiddens, activation, lr, momentum):
    """The course's MLP built of the hand-in's classes, its weights from the course's seed."""
    activations = [getattr(m.activation, activation)() for _ in hiddens]
    activations.append(m.activation.Identity())
    np.random.seed(SEED)
    return m.hw1.MLP(IN, OUT, list(hiddens), activations, weight_init_fn, bias_init_fn,
                     m.loss.SoftmaxCrossEntropy(), lr, momentum, 0)


ACTIVATIONS = {
    "Identity": lambda z: z,
    "Sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "Tanh": np.tanh,
    "ReLU": lambda z: np.maximum(z, 0.0),
}


def measure(logits, labels):
    """(summed cross-entropy, error rate) of a batch's logits, computed here: what the
    handout's `total_loss` and `error` return for a correct network."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape != labels.shape:
        raise ValueError(f"the network's output has shape {logits.shape}, "
                         f"expected {labels.shape}")
    with np.errstate(all="ignore"):
        top = logits.max(axis=1, keepdims=True)
        log_softmax = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        loss = float(-(labels * log_softmax).sum())
    wrong = float(np.mean(np.argmax(logits, axis=1) != np.argmax(labels, axis=1)))
    return loss, wrong


def weights_output(mlp, x, activation):
    """The network's output on x computed here from its layers' weights (no BatchNorm in the
    training run), not by its forward."""
    layers = list(mlp.linear_layers)
    with np.errstate(all="ignore"):
        for i, layer in enumerate(layers):
            x = x @ np.asarray(layer.W, dtype=np.float64) + np.asarray(layer.b, dtype=np.float64)
            x = ACTIVATIONS[activation if i < len(layers) - 1 else "Identity"](x)
    return x


def course_loop(mlp, dset, nepochs, batch_size, activation):
    """The handout's training loop, ours (the reference's get_training_stats is the same): per
    epoch, shuffle, train on batches in that order, then evaluate on the validation set; every
    number measured by `measure`, the validation's from the weights (`weights_output`)."""
    (train_x, train_y), (val_x, val_y) = dset[0], dset[1]
    idxs = np.arange(len(train_x))
    curves = np.zeros((4, nepochs))
    for e in range(nepochs):
        np.random.shuffle(idxs)
        mlp.train()
        loss_sum, wrong = 0.0, 0.0
        for start in range(0, len(train_x), batch_size):
            batch = idxs[start:start + batch_size]
            x, y = train_x[batch], train_y[batch]
            mlp.zero_grads()
            out = mlp.forward(x)
            loss, error = measure(mlp.output if out is None else out, y)
            mlp.backward(y)
            mlp.step()
            loss_sum += loss
            wrong += error * len(batch)
        curves[0, e], curves[1, e] = loss_sum / len(train_x), wrong / len(train_x)
        mlp.eval()
        loss, error = measure(weights_output(mlp, val_x, activation), val_y)
        curves[2, e], curves[3, e] = loss / len(val_x), error
    mlp.train()
    return curves


def own_network(m, dset, hiddens, activation, lr, momentum, batch, epochs, seed):
    """The hand-in's MLP trained by `course_loop`: its four curves, or why it could not be."""
    try:
        mlp = new_mlp(m, hiddens, activation, lr, momentum)
        np.random.seed(seed)
        curves = course_loop(mlp, dset, epochs, batch, activation)
    except Exception as exc:  # noqa: BLE001 - the hand-in's network: any failure is evidence
        return {"own_error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"own_" + name: curve for name, curve in zip(NAMES, curves, strict=True)}


def training_statistics(m, hiddens, activation, lr, momentum, batch, epochs, seed):
    """The hand-in's four curves from its get_training_stats, and its network's from ours."""
    os.chdir(tempfile.mkdtemp(prefix="training-"))
    dset = (load("train"), load("val"), load("test"))
    mlp = new_mlp(m, hiddens, activation, lr, momentum)
    np.random.seed(seed)  # the shuffles of every epoch follow from here
    stats = m.hw1.get_training_stats(mlp, dset, epochs, batch)
    if not isinstance(stats, (tuple, list)) or len(stats) != 4:
        raise TypeError(f"get_training_stats returned {type(stats).__name__}, "
                        "expected a tuple of four arrays")
    reported = {name: snap(value) for name, value in zip(NAMES, stats, strict=True)}
    fresh = (load("train"), load("val"), load("test"))  # what get_training_stats left is not ours
    own = own_network(m, fresh, hiddens, activation, lr, momentum, batch, epochs, seed)
    return {**reported, **own, "seed": seed}

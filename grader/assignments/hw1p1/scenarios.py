"""The course's tests of HW1P1 as plain functions: drive the loaded modules, return named outputs.

One scenario, two uses: run on our reference (reference/handin) it makes the golden outputs; run in
the sandbox on a hand-in it makes the outputs the parent compares. Nothing here compares anything.

Every scenario takes `m`, whose attributes `activation`, `loss`, `linear`, `batchnorm`, `hw1`, `mc`
import the hand-in's modules by bare name on first use, so a broken file fails only the scenarios
that touch it. It returns {output name: value}; values are returned as the hand-in produced them
(an ndarray, or whatever else came back), copied at the moment the course's test looked at them.

A scenario with a batch size in the rubric (`[scenarios.batch_size]`) receives it as `batch_size`:
the rubric is the one place it is written.

Conventions fixed by the course (docs/hw1p1.md): `np.random.seed(11785)` immediately
before each MLP/Linear construction, weights from `np.random.randn(x, y)`, zero biases (1, x), every
MLP 784 → 10 with SoftmaxCrossEntropy, lr 0.008, ending in Identity. Inputs come from their own
RandomState so they never disturb the global stream the weight draws follow.
This file runs inside the sandbox under the student runtime: NumPy only, nothing of ours.
"""

import numpy as np

SEED = 11785
LR = 0.008
IN, OUT = 784, 10

def weight_init_fn(x, y):
    return np.random.randn(x, y)


def bias_init_fn(x):
    return np.zeros((1, x))


def snap(value):
    """A copy of an ndarray (later steps must not change what was recorded); anything else as is."""
    return value.copy() if isinstance(value, np.ndarray) else value


def batch(seed, n, features=IN):
    """Inputs (n, features) and one-hot labels (n, 10), from their own stream."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, features)
    y = np.zeros((n, OUT))
    y[np.arange(n), rng.randint(0, OUT, size=n)] = 1.0
    return x, y


def warm():
    """Called once by the runner before any test's process is forked, with no hand-in loaded:
    the NumPy calls the scenarios' inputs make, so no test pays for their first call. Private
    streams only: the global one is the hand-in's."""
    batch(0, 2)
    np.random.RandomState(0).randn(2, 3) * 3.0


# ---------------------------------------------------------------- multiple choice


def mcq(m):
    return {f"question_{i}()": getattr(m.mc, f"question_{i}")() for i in range(1, 6)}


# ---------------------------------------------------------------- activations


def _activation(m, cls_name, seed, what):
    x = np.random.RandomState(seed).randn(20, 30) * 3.0
    act = getattr(m.activation, cls_name)()
    act(x)
    if what == "state":
        return {"state": snap(act.state)}
    return {"derivative()": snap(act.derivative())}


def sigmoid_forward(m):
    return _activation(m, "Sigmoid", 101, "state")


def sigmoid_derivative(m):
    return _activation(m, "Sigmoid", 102, "derivative")


def tanh_forward(m):
    return _activation(m, "Tanh", 103, "state")


def tanh_derivative(m):
    return _activation(m, "Tanh", 104, "derivative")


def relu_forward(m):
    return _activation(m, "ReLU", 105, "state")


def relu_derivative(m):
    return _activation(m, "ReLU", 106, "derivative")


# ---------------------------------------------------------------- softmax cross-entropy


def softmax_cross_entropy_forward(m):
    x, y = batch(111, 20, OUT)
    ce = m.loss.SoftmaxCrossEntropy()
    return {"ce(x, y)": snap(ce(x * 5.0, y))}


def softmax_cross_entropy_derivative(m, batch_size):
    x, y = batch(112, batch_size, OUT)
    ce = m.loss.SoftmaxCrossEntropy()
    ce(x * 5.0, y)
    return {"ce.derivative()": snap(ce.derivative())}


# ---------------------------------------------------------------- linear layer


def _linear(m):
    np.random.seed(SEED)
    return m.linear.Linear(IN, OUT, weight_init_fn, bias_init_fn)


def linear_layer_forward(m):
    x, _ = batch(121, 20)
    return {"forward(x)": snap(_linear(m).forward(x))}


def linear_layer_backward(m, batch_size):
    x, _ = batch(122, batch_size)
    delta = np.random.RandomState(123).randn(len(x), OUT)
    layer = _linear(m)
    layer.forward(x)
    layer.backward(delta)
    return {"dW": snap(layer.dW), "db": snap(layer.db)}


# ---------------------------------------------------------------- MLPs


def make_mlp(m, hiddens, activation="Sigmoid", momentum=0.0, num_bn_layers=0):
    """The course's MLP: 784 → hiddens → 10, `activation` on hidden layers, Identity last."""
    activations = [getattr(m.activation, activation)() for _ in hiddens]
    activations.append(m.activation.Identity())
    np.random.seed(SEED)
    return m.hw1.MLP(IN, OUT, list(hiddens), activations, weight_init_fn, bias_init_fn,
                     m.loss.SoftmaxCrossEntropy(), LR, momentum, num_bn_layers)


def gradients(mlp):
    out = {}
    for i, layer in enumerate(mlp.linear_layers):
        out[f"linear_layers[{i}].dW"] = snap(layer.dW)
        out[f"linear_layers[{i}].db"] = snap(layer.db)
    return out


def parameters(mlp):
    out = {}
    for i, layer in enumerate(mlp.linear_layers):
        out[f"linear_layers[{i}].W"] = snap(layer.W)
        out[f"linear_layers[{i}].b"] = snap(layer.b)
    return out


def _forward(m, hiddens, seed):
    x, _ = batch(seed, 20)
    mlp = make_mlp(m, hiddens)
    return {"mlp.forward(x)": snap(mlp.forward(x))}


def _backward(m, hiddens, seed, batch_size):
    # As in the course: forward + backward straight after construction, no zero_grads first.
    x, y = batch(seed, batch_size)
    mlp = make_mlp(m, hiddens)
    mlp.forward(x)
    mlp.backward(y)
    return gradients(mlp)


def _train_steps(mlp, seed, steps, n):
    for k in range(steps):
        x, y = batch(seed + k, n)
        mlp.zero_grads()
        mlp.forward(x)
        mlp.backward(y)
        mlp.step()


def linear_classifier_forward(m):
    return _forward(m, [], 131)


def linear_classifier_backward(m, batch_size):
    return _backward(m, [], 132, batch_size)


def linear_classifier_step(m, batch_size):
    mlp = make_mlp(m, [])
    _train_steps(mlp, 133, 5, batch_size)
    return parameters(mlp)


def single_hidden_forward(m):
    return _forward(m, [32], 141)


def single_hidden_backward(m, batch_size):
    return _backward(m, [32], 142, batch_size)


def mystery_hidden_forward1(m):
    return _forward(m, [64, 32], 151)


def mystery_hidden_backward1(m, batch_size):
    return _backward(m, [64, 32], 152, batch_size)


def mystery_hidden_forward2(m):
    return _forward(m, [32] * 5, 161)


def mystery_hidden_backward2(m, batch_size):
    return _backward(m, [32] * 5, 162, batch_size)


def mystery_hidden_forward3(m):
    return _forward(m, [32], 171)


def mystery_hidden_backward3(m, batch_size):
    return _backward(m, [32], 172, batch_size)


# ---------------------------------------------------------------- batch norm and momentum


def batch_norm_train(m, batch_size):
    x, y = batch(181, batch_size)
    mlp = make_mlp(m, [64, 32], num_bn_layers=1)
    mlp.forward(x)
    mlp.backward(y)
    out = gradients(mlp)
    out["bn_layers[0].dbeta"] = snap(mlp.bn_layers[0].dbeta)
    out["bn_layers[0].dgamma"] = snap(mlp.bn_layers[0].dgamma)
    return out


def batch_norm_inference(m, batch_size):
    n = batch_size
    mlp = make_mlp(m, [64, 32], num_bn_layers=1)
    _train_steps(mlp, 191, 1, n)
    out = {"bn_layers[0].dbeta": snap(mlp.bn_layers[0].dbeta),
           "bn_layers[0].dgamma": snap(mlp.bn_layers[0].dgamma)}
    mlp.eval()
    for k in range(10):
        x, _ = batch(200 + k, n)
        out[f"eval: mlp.forward(batch {k + 1})"] = snap(mlp.forward(x))
    return out


def momentum(m, batch_size):
    mlp = make_mlp(m, [64, 32], momentum=0.856)
    _train_steps(mlp, 211, 5, batch_size)
    mlp.eval()
    return parameters(mlp)

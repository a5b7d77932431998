"""Our reference against oracles that are not itself: central finite differences for every
gradient, hand-computed small cases, and the running-statistics formulas."""

from __future__ import annotations

import numpy as np
import pytest

RNG = np.random.RandomState(7)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of x (in place)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def rand(*shape):
    return RNG.randn(*shape)


# ---------------------------------------------------------------- activations


def test_activations_hand_computed(ref):
    x = np.array([[-1.0, 0.0, 2.0]])
    sig = ref.activation.Sigmoid()
    assert np.allclose(sig(x), [[1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2))]])
    assert np.allclose(sig.derivative(), sig.state * (1 - sig.state))
    assert sig.derivative()[0, 1] == 0.25
    relu = ref.activation.ReLU()
    assert np.array_equal(relu(x), [[0.0, 0.0, 2.0]])
    assert np.array_equal(relu.derivative(), [[0.0, 0.0, 1.0]])  # 0 at 0, the course's rule
    tanh = ref.activation.Tanh()
    assert np.allclose(tanh(x), np.tanh(x)) and np.allclose(tanh.derivative(), 1 - np.tanh(x) ** 2)
    ident = ref.activation.Identity()
    assert ident(x) is x and ident.derivative() == 1.0


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "ReLU"])
def test_activation_derivative_matches_finite_differences(ref, name):
    x = rand(4, 5) + 0.05  # keep ReLU's inputs away from its kink at 0
    act = getattr(ref.activation, name)()
    act(x)
    analytic = act.derivative()
    for idx in np.ndindex(x.shape):
        f = lambda idx=idx: getattr(ref.activation, name)()(x)[idx]  # noqa: E731 - the function differentiated
        assert np.isclose(numeric_grad(f, x)[idx], analytic[idx], atol=1e-6)


def test_activations_store_their_output(ref):
    x = rand(3, 4)
    for name in ("Sigmoid", "Tanh", "ReLU"):
        act = getattr(ref.activation, name)()
        out = act(x)
        assert act.state is out


# ---------------------------------------------------------------- softmax cross-entropy


def test_cross_entropy_of_uniform_logits_is_log_10(ref):
    y = np.eye(10)[[3, 7]]
    loss = ref.loss.SoftmaxCrossEntropy()(np.zeros((2, 10)), y)
    assert loss.shape == (2,) and np.allclose(loss, np.log(10))


def test_cross_entropy_is_stable_for_huge_logits(ref):
    x = np.zeros((1, 10))
    x[0, 2] = 1e4
    ce = ref.loss.SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ce(x, np.eye(10)[[2]])
        d = ce.derivative()
    assert np.allclose(loss, 0.0) and np.all(np.isfinite(d))
    assert np.allclose(ce(x, np.eye(10)[[0]]), 1e4)


def test_cross_entropy_derivative_matches_finite_differences(ref):
    x, y = rand(5, 10), np.eye(10)[RNG.randint(0, 10, 5)]
    ce = ref.loss.SoftmaxCrossEntropy()
    ce(x, y)
    analytic = ce.derivative()  # per example: not divided by the batch size
    numeric = numeric_grad(lambda: ref.loss.SoftmaxCrossEntropy()(x, y).sum(), x)
    assert analytic.shape == (5, 10) and np.allclose(analytic, numeric, atol=1e-6)


# ---------------------------------------------------------------- linear


def test_linear_hand_computed_2x2(ref):
    layer = ref.linear.Linear(2, 2, lambda i, o: np.array([[1.0, 2.0], [3.0, 4.0]]),
                              lambda o: np.array([[0.5, -0.5]]))
    out = layer.forward(np.array([[1.0, 1.0], [0.0, 2.0]]))
    assert np.array_equal(out, [[4.5, 5.5], [6.5, 7.5]])
    dx = layer.backward(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert np.array_equal(layer.dW, [[0.5, 0.0], [0.5, 1.0]])  # x^T delta / 2
    assert np.array_equal(layer.db, [[0.5, 0.5]]) and layer.db.shape == (1, 2)
    assert np.array_equal(dx, [[1.0, 3.0], [2.0, 4.0]])


def test_linear_gradients_match_finite_differences(ref):
    batch = 6
    x, g = rand(batch, 4), rand(batch, 3)
    layer = ref.linear.Linear(4, 3, lambda i, o: rand(i, o), lambda o: rand(1, o))
    loss = lambda: np.sum(layer.forward(x) * g)  # noqa: E731 - the loss differentiated, dL/dout = g
    layer.forward(x)
    dx = layer.backward(g)
    assert np.allclose(layer.dW, numeric_grad(loss, layer.W) / batch, atol=1e-6)  # mean
    assert np.allclose(layer.db, numeric_grad(loss, layer.b) / batch, atol=1e-6)
    assert np.allclose(dx, numeric_grad(loss, x), atol=1e-6)


# ---------------------------------------------------------------- batch norm


def test_batchnorm_hand_computed(ref):
    bn = ref.batchnorm.BatchNorm(1)
    out = bn(np.array([[1.0], [3.0]]))
    assert np.allclose(out, [[-1.0], [1.0]], atol=1e-6)  # biased variance: var = 1
    assert np.allclose(bn.running_mean, 0.1 * 2.0) and np.allclose(bn.running_var, 0.9 + 0.1)


def test_batchnorm_running_statistics_closed_form(ref):
    bn = ref.batchnorm.BatchNorm(3, alpha=0.8)
    batches = [rand(10, 3) * (k + 1) + k for k in range(4)]
    for xb in batches:
        bn(xb)
    mean, var = np.zeros((1, 3)), np.ones((1, 3))
    for xb in batches:
        mean = 0.8 * mean + 0.2 * xb.mean(0, keepdims=True)
        var = 0.8 * var + 0.2 * xb.var(0, keepdims=True)
    assert np.allclose(bn.running_mean, mean) and np.allclose(bn.running_var, var)


def test_batchnorm_eval_uses_running_stats_and_updates_nothing(ref):
    bn = ref.batchnorm.BatchNorm(3)
    bn(rand(8, 3) + 2)
    before = (bn.running_mean.copy(), bn.running_var.copy())
    x = rand(5, 3)
    out = bn(x, eval=True)
    expected = (x - before[0]) / np.sqrt(before[1] + bn.eps)
    assert np.allclose(out, expected)
    assert np.array_equal(bn.running_mean, before[0]) and np.array_equal(bn.running_var,
                                                                         before[1])


def test_batchnorm_gradients_match_finite_differences(ref):
    x, g = rand(7, 3), rand(7, 3)
    bn = ref.batchnorm.BatchNorm(3)
    bn.gamma, bn.beta = rand(1, 3), rand(1, 3)
    loss = lambda: np.sum(ref.batchnorm.BatchNorm.forward(bn, x) * g)  # noqa: E731 - the loss differentiated
    bn.forward(x)
    dx = bn.backward(g)
    assert np.allclose(dx, numeric_grad(loss, x), atol=1e-5)
    assert np.allclose(bn.dgamma, numeric_grad(loss, bn.gamma), atol=1e-5)  # sums
    assert np.allclose(bn.dbeta, numeric_grad(loss, bn.beta), atol=1e-5)


# ---------------------------------------------------------------- MLP


def make_mlp(ref, hiddens, acts, **kw):
    np.random.seed(11785)
    activations = [getattr(ref.activation, a)() for a in acts] + [ref.activation.Identity()]
    return ref.hw1.MLP(6, 10, hiddens, activations, lambda i, o: np.random.randn(i, o) * 0.5,
                       lambda o: np.zeros((1, o)), ref.loss.SoftmaxCrossEntropy(), 0.008, **kw)


def test_mlp_gradients_match_finite_differences_of_the_mean_loss(ref):
    mlp = make_mlp(ref, [5, 4], ["Tanh", "Sigmoid"], num_bn_layers=1)
    x, y = rand(8, 6), np.eye(10)[RNG.randint(0, 10, 8)]

    def mean_loss():
        mlp.forward(x)
        return ref.loss.SoftmaxCrossEntropy()(mlp.output, y).mean()

    mlp.forward(x)
    mlp.backward(y)
    analytic = [(layer.dW.copy(), layer.db.copy()) for layer in mlp.linear_layers]
    dgamma, dbeta = mlp.bn_layers[0].dgamma.copy(), mlp.bn_layers[0].dbeta.copy()
    for layer, (dW, db) in zip(mlp.linear_layers, analytic, strict=True):
        # Linear's dW/db are means over the batch = gradients of the MEAN loss
        assert np.allclose(dW, numeric_grad(mean_loss, layer.W), atol=1e-6)
        assert np.allclose(db, numeric_grad(mean_loss, layer.b), atol=1e-6)
    # BatchNorm's dgamma/dbeta are sums of the per-example losses' gradients
    bn = mlp.bn_layers[0]
    assert np.allclose(dgamma, numeric_grad(mean_loss, bn.gamma) * 8, atol=1e-5)
    assert np.allclose(dbeta, numeric_grad(mean_loss, bn.beta) * 8, atol=1e-5)


def test_mlp_relu_gradients_match_finite_differences(ref):
    mlp = make_mlp(ref, [5], ["ReLU"])
    x, y = rand(4, 6), np.eye(10)[RNG.randint(0, 10, 4)]

    def mean_loss():
        mlp.forward(x)
        return ref.loss.SoftmaxCrossEntropy()(mlp.output, y).mean()
    mlp.forward(x)
    mlp.backward(y)
    dW = mlp.linear_layers[0].dW.copy()
    assert np.allclose(dW, numeric_grad(mean_loss, mlp.linear_layers[0].W), atol=1e-6)


def test_mlp_momentum_update_by_hand_over_two_steps(ref):
    mlp = make_mlp(ref, [], [], momentum=0.9)
    layer = mlp.linear_layers[0]
    W0 = layer.W.copy()
    g1, g2 = rand(*W0.shape), rand(*W0.shape)
    layer.dW = g1.copy()
    mlp.step()
    layer.dW = g2.copy()
    mlp.step()
    v1 = -0.008 * g1
    v2 = 0.9 * v1 - 0.008 * g2
    assert np.allclose(layer.W, W0 + v1 + v2)


def test_mlp_builds_layers_in_order_from_the_rng_stream(ref):
    mlp = make_mlp(ref, [5, 4], ["Sigmoid", "Sigmoid"])
    np.random.seed(11785)
    expected = [np.random.randn(6, 5) * 0.5, np.random.randn(5, 4) * 0.5,
                np.random.randn(4, 10) * 0.5]
    for layer, W in zip(mlp.linear_layers, expected, strict=True):
        assert np.array_equal(layer.W, W) and layer.b.shape == (1, W.shape[1])
    assert mlp.nlayers == 3 and mlp.bn_layers == []


def test_mlp_train_eval_switch_batchnorm_mode(ref):
    mlp = make_mlp(ref, [5], ["Sigmoid"], num_bn_layers=1)
    x = rand(6, 6)
    mlp.forward(x)
    running = mlp.bn_layers[0].running_mean.copy()
    mlp.eval()
    mlp.forward(rand(6, 6) + 5)
    assert np.array_equal(mlp.bn_layers[0].running_mean, running) and not mlp.train_mode


def test_get_training_stats_learns_a_separable_problem(ref):
    rng = np.random.RandomState(0)
    centers = rng.randn(10, 6) * 3

    def split(n):
        labels = rng.randint(0, 10, n)
        return centers[labels] + rng.randn(n, 6) * 0.5, np.eye(10)[labels]

    mlp = make_mlp(ref, [16], ["Sigmoid"])
    mlp.lr = 0.1
    np.random.seed(0)
    stats = ref.hw1.get_training_stats(mlp, (split(500), split(100), split(100)), 8, 50)
    assert len(stats) == 4 and all(isinstance(s, np.ndarray) and s.shape == (8,) for s in stats)
    train_loss, train_err, val_loss, val_err = stats
    assert train_loss[-1] < train_loss[0] and val_loss[-1] < val_loss[0]
    assert val_err[-1] < 0.2 and np.all((0 <= train_err) & (train_err <= 1))


def test_multiple_choice_answers(ref):
    assert [getattr(ref.mc, f"question_{i}")() for i in range(1, 6)] == list("baaac")

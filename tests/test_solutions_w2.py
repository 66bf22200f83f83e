"""The w2_gradient_descent reference solutions against independent oracles.

Oracles: per-image loops for the flattening, scikit-learn's log loss and maximum-likelihood
logistic regression, centred differences and TensorFlow autodiff for the gradients, Keras'
SGD-with-momentum and Adam optimisers, and closed forms for constant gradients.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

import solutions.w2_gradient_descent as ref
from graders.cases import all_checks
from graders.cases.trained import heldout_digits
from graders.cases.w2_gradient_descent import HELDOUT_ACCURACY_THRESHOLD
from graders.data import load_digits_binary

SHAPES = [(1, 1), (1, 7), (3, 1), (4, 9), (9, 4), (5, 5), (64, 30)]


def _problem(rng: np.random.Generator, n_x: int, m: int):
    w = rng.normal(scale=0.6, size=(n_x, 1))
    b = float(rng.normal())
    X = rng.normal(size=(n_x, m))
    Y = rng.integers(0, 2, size=(1, m)).astype(np.float64)
    return w, b, X, Y


def _layers(rng: np.random.Generator, sizes: list[int], scale: float = 1.0):
    params = {}
    for layer in range(1, len(sizes)):
        params[f"W{layer}"] = rng.normal(scale=scale, size=(sizes[layer], sizes[layer - 1]))
        params[f"b{layer}"] = rng.normal(scale=scale, size=(sizes[layer], 1))
    return params


def _d(params):
    return {f"d{k}": v for k, v in params.items()}


# ---------------------------------------------------------------------------- flatten_and_scale


@pytest.mark.parametrize("shape", [(1, 8, 8), (5, 8, 8), (3, 4, 6), (9, 3, 3), (2, 1, 5)])
def test_flatten_and_scale_puts_each_raveled_image_in_its_column(shape):
    rng = np.random.default_rng(sum(shape))
    images = rng.integers(0, 17, size=shape).astype(np.float64)
    X = ref.flatten_and_scale(images)
    assert X.shape == (shape[1] * shape[2], shape[0])
    for i, image in enumerate(images):
        np.testing.assert_array_equal(X[:, i], image.ravel() / 16)
    assert X.min() >= 0 and X.max() <= 1


# ---------------------------------------------------------------------------- initialize


@pytest.mark.parametrize("dim", [1, 2, 64, 100])
def test_initialize_with_zeros_gives_a_zero_column_and_a_float_bias(dim):
    w, b = ref.initialize_with_zeros(dim)
    assert w.shape == (dim, 1) and not w.any()
    assert type(b) is float and b == 0.0


# ---------------------------------------------------------------------------- propagate


@pytest.mark.parametrize("n_x, m", SHAPES)
def test_propagate_cost_equals_sklearn_log_loss(n_x, m):
    w, b, X, Y = _problem(np.random.default_rng(n_x * 100 + m), n_x, m)
    _, cost = ref.propagate(w, b, X, Y)
    a = expit(w.T @ X + b)[0]
    expected = log_loss(Y[0], a, labels=[0, 1])
    assert np.shape(cost) == ()
    assert float(cost) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("n_x, m", SHAPES)
def test_propagate_gradients_match_centred_differences_of_the_log_loss(n_x, m):
    w, b, X, Y = _problem(np.random.default_rng(7 + n_x * 100 + m), n_x, m)
    grads, _ = ref.propagate(w, b, X, Y)

    def loss(w_, b_):
        return log_loss(Y[0], expit(w_.T @ X + b_)[0], labels=[0, 1])

    eps = 1e-6
    numeric_w = np.zeros_like(w)
    for i in range(n_x):
        step = np.zeros_like(w)
        step[i, 0] = eps
        numeric_w[i, 0] = (loss(w + step, b) - loss(w - step, b)) / (2 * eps)
    numeric_b = (loss(w, b + eps) - loss(w, b - eps)) / (2 * eps)
    assert grads["dw"].shape == (n_x, 1) and np.shape(grads["db"]) == ()
    np.testing.assert_allclose(grads["dw"], numeric_w, rtol=1e-6, atol=1e-8)
    assert float(grads["db"]) == pytest.approx(numeric_b, rel=1e-6, abs=1e-8)


def test_propagate_gradients_match_tensorflow_autodiff():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(11)
    for n_x, m in [(4, 9), (9, 4), (64, 30)]:
        w, b, X, Y = _problem(rng, n_x, m)
        grads, cost = ref.propagate(w, b, X, Y)
        w_t = tf.Variable(w)
        b_t = tf.Variable(b, dtype=tf.float64)
        with tf.GradientTape() as tape:
            logits = tf.matmul(tf.transpose(w_t), X) + b_t
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=Y, logits=logits))
        dw, db = tape.gradient(loss, [w_t, b_t])
        assert float(cost) == pytest.approx(float(loss), rel=1e-10)
        np.testing.assert_allclose(grads["dw"], dw.numpy(), rtol=1e-9, atol=1e-12)
        assert float(grads["db"]) == pytest.approx(float(db), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------- optimize


def test_optimize_converges_to_sklearns_maximum_likelihood_fit():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 300))
    p = expit(np.array([[1.0, -2.0, 0.5]]) @ X + 0.3)
    Y = (rng.uniform(size=(1, 300)) < p).astype(np.float64)  # noisy: not separable
    params, _, costs = ref.optimize(np.zeros((3, 1)), 0.0, X, Y, 5000, 1.0)
    clf = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X.T, Y[0])
    np.testing.assert_allclose(params["w"][:, 0], clf.coef_[0], rtol=1e-6, atol=1e-8)
    assert float(params["b"]) == pytest.approx(clf.intercept_[0], rel=1e-6, abs=1e-8)
    assert len(costs) == 50


@pytest.mark.parametrize("iterations", [1, 99, 100, 101, 250, 300])
def test_optimize_records_the_cost_before_iterations_0_100_200(iterations):
    w, b, X, Y = _problem(np.random.default_rng(iterations), 4, 10)
    _, _, costs = ref.optimize(w, b, X, Y, iterations, 0.05)
    assert len(costs) == math.ceil(iterations / 100)
    # costs[0] is the cost at the start; with a small learning rate the cost decreases.
    assert float(costs[0]) == pytest.approx(log_loss(Y[0], expit(w.T @ X + b)[0]), rel=1e-10)
    assert all(float(a) > float(c) for a, c in zip(costs, costs[1:], strict=False))


def test_optimize_returns_the_last_gradients_and_leaves_its_inputs_alone():
    w, b, X, Y = _problem(np.random.default_rng(5), 3, 8)
    w_before = w.copy()
    params, grads, _ = ref.optimize(w, b, X, Y, 20, 0.1)
    np.testing.assert_array_equal(w, w_before)
    # The returned grads are those at the parameters before the last step.
    before_last = ref.optimize(w, b, X, Y, 19, 0.1)[0]
    expected, _ = ref.propagate(before_last["w"], before_last["b"], X, Y)
    np.testing.assert_allclose(grads["dw"], expected["dw"], rtol=1e-12)
    np.testing.assert_allclose(params["w"], before_last["w"] - 0.1 * expected["dw"], rtol=1e-12)


# ---------------------------------------------------------------------------- predict


@pytest.mark.parametrize("n_x, m", SHAPES)
def test_predict_thresholds_the_probability_strictly_at_one_half(n_x, m):
    w, b, X, _ = _problem(np.random.default_rng(50 + n_x + m), n_x, m)
    pred = ref.predict(w, b, X)
    assert pred.shape == (1, m)
    np.testing.assert_array_equal(pred, (w.T @ X + b > 0).astype(float))


def test_predict_gives_zero_at_exactly_one_half():
    pred = ref.predict(np.array([[1.0], [-1.0]]), 0.0, np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]))
    np.testing.assert_array_equal(pred, [[0.0, 1.0, 0.0]])


# ---------------------------------------------------------------------------- model


def _digits():
    train_x, train_y, test_x, test_y, _ = load_digits_binary()
    return (ref.flatten_and_scale(train_x), train_y, ref.flatten_and_scale(test_x), test_y)


def test_model_predictions_agree_with_sklearns_fit_on_the_same_data():
    X_train, Y_train, X_test, Y_test = _digits()
    d = ref.model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5)
    assert d["w"].shape == (64, 1)
    assert d["Y_prediction_train"].shape == Y_train.shape
    assert d["Y_prediction_test"].shape == Y_test.shape
    assert len(d["costs"]) == 20 and (d["learning_rate"], d["num_iterations"]) == (0.5, 2000)
    test_acc = np.mean(d["Y_prediction_test"] == Y_test)
    assert 0.9 <= test_acc < 1.0
    # An independent, strongly regularised fit on the same data predicts almost the same.
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(X_train.T, Y_train[0])
    assert np.mean(clf.predict(X_test.T) == d["Y_prediction_test"][0]) >= 0.95


@pytest.mark.parametrize("case", all_checks()["model_heldout_accuracy"].cases())
def test_reference_model_passes_the_heldout_threshold_with_margin(case):
    X_train, Y_train, X_test, Y_test = _digits()
    d = ref.model(X_train, Y_train, X_test, Y_test, case["num_iterations"], case["learning_rate"])
    images, labels = heldout_digits(ref).heldout_digits_binary()
    accuracy = np.mean(ref.predict(d["w"], d["b"], ref.flatten_and_scale(images)) == labels)
    assert accuracy >= HELDOUT_ACCURACY_THRESHOLD + 0.04


# ---------------------------------------------------------------------------- momentum


def test_update_with_momentum_matches_keras_sgd_with_momentum():
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(21)
    beta, rate = 0.9, 0.05
    params = _layers(rng, [4, 3, 2])
    start = copy.deepcopy(params)
    variables = {k: tf.Variable(v.copy()) for k, v in params.items()}
    # Keras: u = beta u - lr' g; p += u. With lr' = lr (1 - beta) and u = -lr v it is ours.
    opt = keras.optimizers.SGD(learning_rate=rate * (1 - beta), momentum=beta)
    v = {k: np.zeros_like(g) for k, g in _d(params).items()}
    for _ in range(5):
        grads = _d(_layers(rng, [4, 3, 2]))
        params, v = ref.update_with_momentum(params, grads, v, beta, rate)
        opt.apply_gradients([(tf.constant(grads[f"d{k}"]), variables[k]) for k in variables])
    # Keras keeps its learning rate in float32: compare the displacements, to 1e-6.
    for key, var in variables.items():
        np.testing.assert_allclose(params[key] - start[key], var.numpy() - start[key], rtol=1e-6)


def test_update_with_momentum_velocity_has_the_closed_form_for_a_constant_gradient():
    rng = np.random.default_rng(22)
    beta = 0.8
    params = _layers(rng, [3, 2, 1])
    grads = _d(_layers(rng, [3, 2, 1]))
    v = {k: np.zeros_like(g) for k, g in grads.items()}
    for _ in range(6):
        params, v = ref.update_with_momentum(params, grads, v, beta, 0.1)
    for key, g in grads.items():
        np.testing.assert_allclose(v[key], (1 - beta**6) * g, rtol=1e-12)


def test_update_with_momentum_with_beta_zero_is_gradient_descent():
    rng = np.random.default_rng(23)
    params = _layers(rng, [5, 4, 3, 1])
    grads = _d(_layers(rng, [5, 4, 3, 1]))
    v = _d(_layers(rng, [5, 4, 3, 1]))
    new, _ = ref.update_with_momentum(copy.deepcopy(params), grads, v, 0.0, 0.3)
    for key, value in params.items():
        np.testing.assert_allclose(new[key], value - 0.3 * grads[f"d{key}"], rtol=1e-12)


# ---------------------------------------------------------------------------- Adam


def test_update_with_adam_matches_keras_adam_over_several_steps():
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(31)
    params = _layers(rng, [4, 3, 2])
    start = copy.deepcopy(params)
    variables = {k: tf.Variable(v.copy()) for k, v in params.items()}
    # Keras folds the bias correction into the step size and adds its epsilon to sqrt(s)
    # uncorrected: the same rule as ours when epsilon is negligible.
    opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-14)
    v = {k: np.zeros_like(g) for k, g in _d(params).items()}
    s = copy.deepcopy(v)
    for t in range(1, 8):
        grads = _d(_layers(rng, [4, 3, 2]))
        params, v, s, _, _ = ref.update_with_adam(params, grads, v, s, t, 0.01, 0.8, 0.99, 1e-14)
        opt.apply_gradients([(tf.constant(grads[f"d{k}"]), variables[k]) for k in variables])
    # Keras keeps its learning rate in float32: compare the displacements, to 1e-6.
    for key, var in variables.items():
        np.testing.assert_allclose(params[key] - start[key], var.numpy() - start[key], rtol=1e-6)


@pytest.mark.parametrize("t", [1, 2, 10, 1000])
def test_update_with_adam_bias_correction_recovers_a_constant_gradient(t):
    rng = np.random.default_rng(t)
    grads = _d(_layers(rng, [3, 4, 2]))
    params = _layers(rng, [3, 4, 2])
    v = {k: np.zeros_like(g) for k, g in grads.items()}
    s = copy.deepcopy(v)
    for step in range(1, t + 1):
        before = copy.deepcopy(params)
        params, v, s, v_corr, s_corr = ref.update_with_adam(params, grads, v, s, step, 0.01)
    for key, g in grads.items():
        np.testing.assert_allclose(v_corr[key], g, rtol=1e-9)
        np.testing.assert_allclose(s_corr[key], g**2, rtol=1e-9)
        expected = before[key[1:]] - 0.01 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(params[key[1:]], expected, rtol=1e-9)


def test_update_with_adam_adds_epsilon_outside_the_square_root():
    rng = np.random.default_rng(41)
    grads = _d(_layers(rng, [3, 2], scale=1e-5))
    params = _layers(rng, [3, 2])
    zeros = {k: np.zeros_like(g) for k, g in grads.items()}
    new, *_ = ref.update_with_adam(
        copy.deepcopy(params),
        grads,
        zeros,
        copy.deepcopy(zeros),
        1,
        learning_rate=0.1,
        epsilon=1e-2,
    )
    for key, g in grads.items():
        step = params[key[1:]] - new[key[1:]]
        np.testing.assert_allclose(step, 0.1 * g / (np.abs(g) + 1e-2), rtol=1e-9)

"""Mutants (plausible wrong answers) and valid variants for w2_gradient_descent.

Functions that call other graded functions (``optimize`` calls ``propagate``; ``model`` calls
``initialize_with_zeros``, ``optimize`` and ``predict``) use the reference ones, as a
student's would use their own correct ones.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.special import expit

from solutions.w2_gradient_descent import (
    initialize_with_zeros,
    optimize,
    predict,
    propagate,
    sigmoid,
)
from tests.mutants import mutant, variant

ASSIGNMENT = "w2_gradient_descent"


# ---------------------------------------------------------------------------- flatten_and_scale


@mutant("flatten_and_scale", "reshape to (h*w, m) without the transpose")
def flatten_no_transpose(images):
    return images.reshape(-1, images.shape[0]) / 16.0


@mutant("flatten_and_scale", "one image per row, not per column")
def flatten_rows(images):
    return images.reshape(images.shape[0], -1) / 16.0


@mutant("flatten_and_scale", "not scaled")
def flatten_unscaled(images):
    return images.reshape(images.shape[0], -1).T


@mutant("flatten_and_scale", "scaled by 1/255 as for photos")
def flatten_255(images):
    return images.reshape(images.shape[0], -1).T / 255.0


@mutant("flatten_and_scale", "column-major pixels (images.T.reshape)")
def flatten_column_major(images):
    return images.T.reshape(-1, images.shape[0]) / 16.0


@mutant("flatten_and_scale", "integer division by 16")
def flatten_floor(images):
    return images.reshape(images.shape[0], -1).T // 16


@variant("flatten_and_scale", "loop over images, ravel into columns")
def flatten_loop(images):
    m = images.shape[0]
    out = np.zeros((images[0].size, m))
    for i in range(m):
        out[:, i] = images[i].ravel() / 16
    return out


@variant("flatten_and_scale", "np.stack of raveled images, divided as float32")
def flatten_stack_float32(images):
    return (np.stack([img.ravel() for img in images], axis=1) / 16).astype(np.float32)


# ---------------------------------------------------------------------------- initialize_with_zeros


@mutant("initialize_with_zeros", "w of shape (dim,)")
def zeros_flat(dim):
    return np.zeros(dim), 0.0


@mutant("initialize_with_zeros", "w of shape (1, dim)")
def zeros_row(dim):
    return np.zeros((1, dim)), 0.0


@mutant("initialize_with_zeros", "small random weights")
def zeros_random(dim):
    return np.random.default_rng(0).normal(scale=0.01, size=(dim, 1)), 0.0


@mutant("initialize_with_zeros", "b as an array of shape (1, 1)")
def zeros_b_array(dim):
    return np.zeros((dim, 1)), np.zeros((1, 1))


@mutant("initialize_with_zeros", "w of shape (dim, dim)")
def zeros_square(dim):
    return np.zeros((dim, dim)), 0.0


@variant("initialize_with_zeros", "float32 zeros")
def zeros_float32(dim):
    return np.zeros((dim, 1), dtype=np.float32), 0.0


@variant("initialize_with_zeros", "np.full and float(0)")
def zeros_full(dim):
    return np.full([dim, 1], 0.0), float(0)


# ---------------------------------------------------------------------------- propagate


def _forward(w, b, X):
    return sigmoid(np.dot(w.T, X) + b)


@mutant("propagate", "cost summed, not averaged over m")
def propagate_cost_sum(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    return {"dw": X @ (A - Y).T / m, "db": np.sum(A - Y) / m}, np.squeeze(cost)


@mutant("propagate", "gradients without 1/m")
def propagate_grad_no_m(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    return {"dw": X @ (A - Y).T, "db": np.sum(A - Y)}, np.squeeze(cost)


@mutant("propagate", "cost without the minus sign")
def propagate_cost_sign(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    return {"dw": X @ (A - Y).T / m, "db": np.sum(A - Y) / m}, np.squeeze(cost)


@mutant("propagate", "gradient of Y - A instead of A - Y")
def propagate_grad_sign(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    return {"dw": X @ (Y - A).T / m, "db": np.sum(Y - A) / m}, np.squeeze(cost)


@mutant("propagate", "cost missing the (1 - Y) log(1 - A) term")
def propagate_half_cost(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A)) / m
    return {"dw": X @ (A - Y).T / m, "db": np.sum(A - Y) / m}, np.squeeze(cost)


@mutant("propagate", "db kept as a (1, 1) array (keepdims)")
def propagate_db_array(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    db = np.sum(A - Y, axis=1, keepdims=True) / m
    return {"dw": X @ (A - Y).T / m, "db": db}, np.squeeze(cost)


@mutant("propagate", "dw as an elementwise product summed without keepdims")
def propagate_dw_no_keepdims(w, b, X, Y):
    m = X.shape[1]
    A = _forward(w, b, X)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.sum(X * (A - Y), axis=1) / m
    return {"dw": dw, "db": np.sum(A - Y) / m}, np.squeeze(cost)


@mutant("propagate", "X.T w instead of w.T X")
def propagate_wrong_product(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(X.T, w) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    return {"dw": X @ (A - Y).T / m, "db": np.sum(A - Y) / m}, np.squeeze(cost)


@variant("propagate", "a loop over the examples")
def propagate_loop(w, b, X, Y):
    n_x, m = X.shape
    dw = np.zeros((n_x, 1))
    db = 0.0
    cost = 0.0
    for i in range(m):
        z = float(w[:, 0] @ X[:, i]) + b
        a = 1 / (1 + np.exp(-z))
        y = float(Y[0, i])
        cost -= y * np.log(a) + (1 - y) * np.log(1 - a)
        dw[:, 0] += X[:, i] * (a - y)
        db += a - y
    return {"dw": dw / m, "db": db / m}, cost / m


@variant("propagate", "scipy expit and a log-sum-exp cost with np.mean")
def propagate_stable(w, b, X, Y):
    Z = w.T @ X + b
    A = expit(Z)
    cost = np.mean(Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z))
    return {"dw": X @ (A - Y).T / X.shape[1], "db": np.mean(A - Y)}, float(cost)


# ---------------------------------------------------------------------------- optimize


@mutant("optimize", "gradient ascent (+ instead of -)")
def optimize_ascent(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    with np.errstate(all="ignore"):  # ascent drives the cost to log(0); that is the point
        for i in range(num_iterations):
            grads, cost = propagate(w, b, X, Y)
            w = w + learning_rate * grads["dw"]
            b = b + learning_rate * grads["db"]
            if i % 100 == 0:
                costs.append(cost)
    return {"w": w, "b": b}, grads, costs


@mutant("optimize", "cost recorded at every iteration")
def optimize_every_cost(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for _ in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
        costs.append(cost)
    return {"w": w, "b": b}, grads, costs


@mutant("optimize", "b never updated")
def optimize_no_b(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs


@mutant("optimize", "iterations counted from 1 (cost of iteration 0 not recorded)")
def optimize_from_one(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(1, num_iterations + 1):
        grads, cost = propagate(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs


@mutant("optimize", "learning rate applied to w only")
def optimize_b_no_rate(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        b = b - grads["db"]
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs


@variant("optimize", "in-place updates on deep copies")
def optimize_inplace(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w -= learning_rate * grads["dw"]
        b -= learning_rate * grads["db"]
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {cost}")
    return {"w": w, "b": b}, grads, costs


@variant("optimize", "while loop, costs as Python floats")
def optimize_while(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    i = 0
    while i < num_iterations:
        grads, cost = propagate(w, b, X, Y)
        if not i % 100:
            costs.append(float(cost))
        w, b = w - learning_rate * grads["dw"], b - learning_rate * grads["db"]
        i += 1
    return {"w": w, "b": b}, grads, costs


# ---------------------------------------------------------------------------- predict


@mutant("predict", "A >= 0.5 (a probability of exactly 0.5 predicted as 1)")
def predict_ge(w, b, X):
    return (sigmoid(w.T @ X + b) >= 0.5).astype(float)


@mutant("predict", "the linear part w.T X + b thresholded at 0.5")
def predict_linear_half(w, b, X):
    return (w.T @ X + b > 0.5).astype(float)


@mutant("predict", "returns the probabilities, not labels")
def predict_probabilities(w, b, X):
    return sigmoid(w.T @ X + b)


@mutant("predict", "labels of shape (m,)")
def predict_flat(w, b, X):
    return (sigmoid(w.T @ X + b) > 0.5).astype(float).ravel()


@mutant("predict", "comparison reversed (A < 0.5)")
def predict_reversed(w, b, X):
    return (sigmoid(w.T @ X + b) < 0.5).astype(float)


@variant("predict", "a loop with if A[0, i] > 0.5")
def predict_loop(w, b, X):
    m = X.shape[1]
    Y_prediction = np.zeros((1, m))
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    for i in range(A.shape[1]):
        if A[0, i] > 0.5:
            Y_prediction[0, i] = 1
        else:
            Y_prediction[0, i] = 0
    return Y_prediction


@variant("predict", "the sign of w.T X + b, as integers")
def predict_sign(w, b, X):
    return (w.T @ X + b > 0).astype(int)


@variant("predict", "np.round of the probabilities (0.5 rounds to 0)")
def predict_round(w, b, X):
    return np.round(sigmoid(w.T @ X + b))


# ---------------------------------------------------------------------------- model


def _model_dict(w, b, costs, X_train, X_test, learning_rate, num_iterations):
    return {
        "costs": costs,
        "Y_prediction_test": predict(w, b, X_test),
        "Y_prediction_train": predict(w, b, X_train),
        "w": w,
        "b": b,
        "learning_rate": learning_rate,
        "num_iterations": num_iterations,
    }


@mutant("model", "test predictions made on the training set")
def model_test_on_train(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate)
    d = _model_dict(params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations)
    d["Y_prediction_test"] = predict(params["w"], params["b"], X_train)
    return d


@mutant("model", "learning rate hard-coded to 0.5")
def model_fixed_rate(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations, 0.5)
    return _model_dict(
        params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations
    )


@mutant("model", "num_iterations not passed to optimize (its default 100 is used)")
def model_default_iterations(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_train.shape[0])
    params, _, costs = optimize(w, b, X_train, Y_train, learning_rate=learning_rate)
    return _model_dict(
        params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations
    )


@mutant("model", "predicts with the initial zeros, not the trained parameters")
def model_untrained(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_train.shape[0])
    _, _, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate)
    return _model_dict(w, b, costs, X_train, X_test, learning_rate, num_iterations)


@mutant("model", "initialised with the number of examples instead of features")
def model_wrong_dim(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_train.shape[1])
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate)
    return _model_dict(
        params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations
    )


@mutant("model", "trained on the test set")
def model_trained_on_test(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(X_test.shape[0])
    params, _, costs = optimize(w, b, X_test, Y_test, num_iterations, learning_rate)
    return _model_dict(
        params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations
    )


@variant("model", "keyword arguments, extra keys in the dictionary")
def model_keywords(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    w, b = initialize_with_zeros(dim=X_train.shape[0])
    params, grads, costs = optimize(
        w,
        b,
        X_train,
        Y_train,
        num_iterations=num_iterations,
        learning_rate=learning_rate,
        print_cost=print_cost,
    )
    d = _model_dict(params["w"], params["b"], costs, X_train, X_test, learning_rate, num_iterations)
    d["train_accuracy"] = float(np.mean(d["Y_prediction_train"] == Y_train))
    d["grads"] = grads
    return d


# ---------------------------------------------------------------------------- momentum


def _momentum(
    parameters,
    grads,
    v,
    beta,
    learning_rate,
    *,
    swap=False,
    use_grad=False,
    old_v=False,
    layers_off=0,
    scale_grad=True,
):
    L = len(parameters) // 2
    for layer in range(1, L + 1 - layers_off):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            if old_v:
                parameters[f"{name}{layer}"] = parameters[f"{name}{layer}"] - learning_rate * v[key]
            g = grads[key]
            if swap:
                v[key] = (1 - beta) * v[key] + beta * g
            else:
                v[key] = beta * v[key] + ((1 - beta) * g if scale_grad else g)
            step = g if use_grad else v[key]
            if not old_v:
                parameters[f"{name}{layer}"] = parameters[f"{name}{layer}"] - learning_rate * step
    return parameters, v


@mutant("update_with_momentum", "beta and 1 - beta swapped")
def momentum_swapped(parameters, grads, v, beta, learning_rate):
    return _momentum(parameters, grads, v, beta, learning_rate, swap=True)


@mutant("update_with_momentum", "parameters updated with the gradient, not the velocity")
def momentum_grad_step(parameters, grads, v, beta, learning_rate):
    return _momentum(parameters, grads, v, beta, learning_rate, use_grad=True)


@mutant("update_with_momentum", "parameters updated with the old velocity")
def momentum_old_v(parameters, grads, v, beta, learning_rate):
    return _momentum(parameters, grads, v, beta, learning_rate, old_v=True)


@mutant("update_with_momentum", "range(1, L): the last layer is left out")
def momentum_last_layer(parameters, grads, v, beta, learning_rate):
    return _momentum(parameters, grads, v, beta, learning_rate, layers_off=1)


@mutant("update_with_momentum", "v = beta v + g (no 1 - beta)")
def momentum_no_damping(parameters, grads, v, beta, learning_rate):
    return _momentum(parameters, grads, v, beta, learning_rate, scale_grad=False)


@variant("update_with_momentum", "loop over the keys of grads, new dicts")
def momentum_by_keys(parameters, grads, v, beta, learning_rate):
    new_params, new_v = dict(parameters), {}
    for key, g in grads.items():
        new_v[key] = beta * v[key] + (1 - beta) * g
        new_params[key[1:]] = parameters[key[1:]] - learning_rate * new_v[key]
    return new_params, new_v


@variant("update_with_momentum", "in-place numpy updates")
def momentum_inplace(parameters, grads, v, beta, learning_rate):
    L = len(parameters) // 2
    for layer in range(L):
        for name in ("W", "b"):
            key = f"d{name}{layer + 1}"
            v[key] *= beta
            v[key] += (1 - beta) * grads[key]
            parameters[f"{name}{layer + 1}"] -= learning_rate * v[key]
    return parameters, v


@variant("update_with_momentum", "arrays cast to float32")
def momentum_float32(parameters, grads, v, beta, learning_rate):
    L = len(parameters) // 2
    for layer in range(1, L + 1):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            v[key] = beta * v[key].astype(np.float32) + (1 - beta) * grads[key].astype(np.float32)
            param = parameters[f"{name}{layer}"].astype(np.float32)
            parameters[f"{name}{layer}"] = param - learning_rate * v[key]
    return parameters, v


# ---------------------------------------------------------------------------- Adam


def _adam(
    parameters,
    grads,
    v,
    s,
    t,
    learning_rate=0.01,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    *,
    correct=True,
    eps_inside=False,
    power_of_complement=False,
    no_square=False,
    uncorrected_step=False,
    swap_betas=False,
    store_corrected=False,
):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    b1, b2 = (beta2, beta1) if swap_betas else (beta1, beta2)
    for layer in range(1, L + 1):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            g = grads[key]
            v[key] = b1 * v[key] + (1 - b1) * g
            s[key] = b2 * s[key] + (1 - b2) * (g if no_square else g**2)
            if not correct:
                c1, c2 = 1.0, 1.0
            elif power_of_complement:
                c1, c2 = (1 - b1) ** t, (1 - b2) ** t
            else:
                c1, c2 = 1 - b1**t, 1 - b2**t
            v_corrected[key] = v[key] / c1
            s_corrected[key] = s[key] / c2
            if store_corrected:
                v[key], s[key] = v_corrected[key], s_corrected[key]
            num = v[key] if uncorrected_step else v_corrected[key]
            den = (
                np.sqrt(s_corrected[key] + epsilon)
                if eps_inside
                else np.sqrt(s_corrected[key]) + epsilon
            )
            parameters[f"{name}{layer}"] = parameters[f"{name}{layer}"] - learning_rate * num / den
    return parameters, v, s, v_corrected, s_corrected


def _adam_mutant(label, **flags):
    @mutant("update_with_adam", label)
    def impl(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
        with np.errstate(invalid="ignore"):  # sqrt of a negative s when g is not squared
            return _adam(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon, **flags)

    return impl


@variant("update_with_adam", "loop over the keys of grads, np.power and np.divide")
def adam_by_keys(
    parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8
):
    v_corrected, s_corrected = {}, {}
    for key, g in grads.items():
        v[key] = beta1 * v[key] + (1 - beta1) * g
        s[key] = beta2 * s[key] + (1 - beta2) * np.power(g, 2)
        v_corrected[key] = np.divide(v[key], 1 - np.power(beta1, t))
        s_corrected[key] = np.divide(s[key], 1 - np.power(beta2, t))
        step = np.divide(v_corrected[key], np.sqrt(s_corrected[key]) + epsilon)
        parameters[key[1:]] = parameters[key[1:]] - learning_rate * step
    return parameters, v, s, v_corrected, s_corrected


@variant("update_with_adam", "arrays cast to float32 (hyperparameters stay Python floats)")
def adam_float32(
    parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8
):
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for layer in range(1, L + 1):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            g = grads[key].astype(np.float32)
            v[key] = beta1 * v[key].astype(np.float32) + (1 - beta1) * g
            s[key] = beta2 * s[key].astype(np.float32) + (1 - beta2) * np.square(g)
            v_corrected[key] = v[key] / (1 - beta1**t)
            s_corrected[key] = s[key] / (1 - beta2**t)
            param = parameters[f"{name}{layer}"].astype(np.float32)
            parameters[f"{name}{layer}"] = param - learning_rate * v_corrected[key] / (
                np.sqrt(s_corrected[key]) + epsilon
            )
    return parameters, v, s, v_corrected, s_corrected


IMPLEMENTATIONS = [
    flatten_no_transpose,
    flatten_rows,
    flatten_unscaled,
    flatten_255,
    flatten_column_major,
    flatten_floor,
    flatten_loop,
    flatten_stack_float32,
    zeros_flat,
    zeros_row,
    zeros_random,
    zeros_b_array,
    zeros_square,
    zeros_float32,
    zeros_full,
    propagate_cost_sum,
    propagate_grad_no_m,
    propagate_cost_sign,
    propagate_grad_sign,
    propagate_half_cost,
    propagate_db_array,
    propagate_dw_no_keepdims,
    propagate_wrong_product,
    propagate_loop,
    propagate_stable,
    optimize_ascent,
    optimize_every_cost,
    optimize_no_b,
    optimize_from_one,
    optimize_b_no_rate,
    optimize_inplace,
    optimize_while,
    predict_ge,
    predict_linear_half,
    predict_probabilities,
    predict_flat,
    predict_reversed,
    predict_loop,
    predict_sign,
    predict_round,
    model_test_on_train,
    model_fixed_rate,
    model_default_iterations,
    model_untrained,
    model_wrong_dim,
    model_trained_on_test,
    model_keywords,
    momentum_swapped,
    momentum_grad_step,
    momentum_old_v,
    momentum_last_layer,
    momentum_no_damping,
    momentum_by_keys,
    momentum_inplace,
    momentum_float32,
    _adam_mutant("no bias correction", correct=False),
    _adam_mutant("epsilon inside the square root", eps_inside=True),
    _adam_mutant("bias correction (1 - beta)**t instead of 1 - beta**t", power_of_complement=True),
    _adam_mutant("s accumulates g instead of g**2", no_square=True),
    _adam_mutant("step uses the uncorrected v", uncorrected_step=True),
    _adam_mutant("beta1 and beta2 swapped", swap_betas=True),
    _adam_mutant("corrected values stored back into v and s", store_corrected=True),
    adam_by_keys,
    adam_float32,
]

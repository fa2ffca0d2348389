"""Training: Trask's published numbers, every matrix recomputed from its operands, gradients
against finite differences, the memory budget, and divergence."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from deckgen.core.train import ACTIVATIONS, initial_weights, train

TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
TRASK_Y = np.array([[0, 1, 1, 0]]).T
# DESIGN.md, "Reference numbers"
TRASK_MAE = [0.4964100319, 0.0085845257, 0.0057894599, 0.0046291768, 0.0039587653, 0.0035101226]
TRASK_OUT = [0.00260572, 0.99672209, 0.99701711, 0.00386759]
TRASK_31_OUT = [0.00966449, 0.00786506, 0.99358898, 0.99211957]
TRASK_W1_START = [-0.16595599, 0.44064899, -0.99977125, -0.39533485]


@pytest.fixture(scope="module")
def trask():
    return train(TRASK_X, TRASK_Y, [3, 4, 1], iterations=60000, seed=1)


def data(n_in, n_out, rows=6, seed=0):
    rs = np.random.RandomState(seed)
    return rs.uniform(-1, 1, (rows, n_in)), rs.randint(0, 2, (rows, n_out)).astype(float)


def quiet_train(*args, **kwargs):
    """train() with every warning recorded; asserts there were none."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = train(*args, **kwargs)
    assert [str(w.message) for w in caught] == []
    return trace


# -- Trask's numbers -------------------------------------------------------------------------


def test_initial_weights_are_trasks():
    w1, w2 = initial_weights([3, 4, 1], seed=1)
    assert w1.shape == (3, 4) and w2.shape == (4, 1)
    np.testing.assert_allclose(w1[0], TRASK_W1_START, rtol=0, atol=5e-9)


def test_trask_341_mae_checkpoints(trask):
    np.testing.assert_array_equal(trask.get("W1", 0), initial_weights([3, 4, 1], 1)[0])
    mae = trask.series("mae")
    assert len(mae) == 60001
    np.testing.assert_allclose(mae[0:60000:10000], TRASK_MAE, rtol=0, atol=6e-11)


def test_trask_341_predictions_are_the_forward_pass_of_iteration_T_minus_1(trask):
    # Trask prints l2 after his loop: the forward pass of the last training iteration, T-1.
    np.testing.assert_allclose(trask.get("a2", 59999).ravel(), TRASK_OUT, rtol=0, atol=5e-9)
    # a2@T is the forward pass of the trained weights, one update later: close, not his digits.
    assert np.abs(trask.get("a2", 60000).ravel() - TRASK_OUT).max() > 5e-9


def test_trask_31_predictions():
    trace = train(TRASK_X, [0, 0, 1, 1], [3, 1], iterations=10000, seed=1)
    np.testing.assert_allclose(trace.get("a1", 9999).ravel(), TRASK_31_OUT, rtol=0, atol=5e-9)
    np.testing.assert_allclose(trace.get("W1", 0).ravel(), initial_weights([3, 1], 1)[0].ravel())


def test_bit_for_bit_with_trasks_11_lines(trask):
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, 4)) - 1
    syn1 = 2 * np.random.random((4, 1)) - 1
    for j in range(60000):
        l1 = 1 / (1 + np.exp(-(np.dot(TRASK_X, syn0))))
        l2 = 1 / (1 + np.exp(-(np.dot(l1, syn1))))
        l2_delta = (TRASK_Y - l2) * (l2 * (1 - l2))
        l1_delta = l2_delta.dot(syn1.T) * (l1 * (1 - l1))
        syn1 += l1.T.dot(l2_delta)
        syn0 += TRASK_X.T.dot(l1_delta)
    np.testing.assert_array_equal(trask.get("a2", 59999), l2)
    np.testing.assert_array_equal(trask.get("W1", 60000), syn0)
    np.testing.assert_array_equal(trask.get("W2", 60000), syn1)


# -- every matrix from its operands ----------------------------------------------------------

DERIV = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a**2, "relu": lambda a: (a > 0).astype(float)}
APPLY = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}


def recompute(trace, name, t):
    """``name`` at ``t`` worked out again from its operands, driven by ``trace.op``."""
    op, args = trace.op(name)
    if op == "update":
        prev, change = (trace.get(n, t - 1) for n in args)
        return prev + change
    x = [trace.get(n, t) for n in args]
    lr = trace.learning_rate
    if op == "matmul":
        return x[0] @ x[1]
    if op == "matmul_add":
        return x[0] @ x[1] + x[2]
    if op in APPLY:
        return APPLY[op](x[0])
    if op == "sub":
        return x[0] - x[1]
    if op == "half_sum_sq":
        return np.array([[0.5 * np.sum(x[0] ** 2)]])
    if op == "mean_abs":
        return np.array([[np.mean(np.abs(x[0]))]])
    if op == "mul_deriv":
        return x[0] * DERIV[trace.op(args[1])[0]](x[1])
    if op == "matmul_T":
        return x[0] @ x[1].T
    if op == "scaled_outer":
        return lr * x[0].T @ x[1]
    if op == "scaled_colsum":
        return lr * x[0].sum(axis=0, keepdims=True)
    raise AssertionError(f"unknown op {op!r} for {name}")


NETS = [[3, 1], [3, 4, 1], [2, 5, 3, 2]]


@pytest.mark.parametrize("layers", NETS, ids=lambda v: "-".join(map(str, v)))
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
def test_every_matrix_recomputes_from_its_operands(layers, activation, bias):
    X, y = data(layers[0], layers[-1])
    T = 40
    trace = quiet_train(X, y, layers, activation=activation, bias=bias, learning_rate=0.7, iterations=T, seed=3)
    assert trace.complete and trace.stopped_at is None and trace.kept == tuple(range(T + 1))
    checked = 0
    for t in (0, 1, 17, T - 1, T):
        for name in trace.names():
            op, args = trace.op(name)
            if op == "input" or not trace.has(name, t) or (op == "update" and t == 0):
                continue
            got = trace.get(name, t)
            assert got.ndim == 2 and got.dtype == np.float64
            np.testing.assert_allclose(got, recompute(trace, name, t), rtol=1e-12, atol=1e-14, err_msg=f"{name}@{t}")
            checked += 1
    assert checked >= 3 * (len(trace.names()) - 2)


def test_forward_only_at_T():
    X, y = data(3, 1)
    trace = train(X, y, [3, 4, 1], bias=True, iterations=5)
    for name in ("W1", "b1", "W2", "b2", "z1", "a1", "z2", "a2", "e2", "loss", "mae"):
        assert trace.has(name, 5), name
    for name in ("d2", "e1", "d1", "dW1", "dW2", "db1", "db2"):
        assert trace.has(name, 4) and not trace.has(name, 5), name
        with pytest.raises(KeyError, match="forward pass only"):
            trace.get(name, 5)
    assert trace.last == 5 and len(trace.series("loss")) == 6


@pytest.mark.parametrize("bias", [False, True])
def test_parameters_move_by_exactly_their_update(bias):
    X, y = data(3, 2)
    trace = train(X, y, [3, 4, 2], activation="tanh", bias=bias, learning_rate=0.3, iterations=50)
    for t in range(50):
        for k in (1, 2):
            pairs = [("W", "dW")] + ([("b", "db")] if bias else [])
            for p, dp in pairs:
                np.testing.assert_array_equal(trace.get(f"{p}{k}", t + 1), trace.get(f"{p}{k}", t) + trace.get(f"{dp}{k}", t))


# -- gradients against finite differences ----------------------------------------------------


def loss_of(params, X, y, layers, activation, bias):
    L = len(layers) - 1
    a = X
    for k in range(L):
        z = a @ params[f"W{k + 1}"] + (params[f"b{k + 1}"] if bias else 0)
        a = APPLY["sigmoid" if k == L - 1 else activation](z)
    return 0.5 * np.sum((y - a) ** 2)


@pytest.mark.parametrize(
    "layers, activation, bias",
    [([3, 1], "sigmoid", False), ([3, 4, 1], "sigmoid", True), ([3, 4, 1], "tanh", True), ([2, 5, 3, 2], "relu", True), ([4, 3, 3], "tanh", False)],
)
def test_updates_are_minus_eta_times_the_loss_gradient(layers, activation, bias):
    X, y = data(layers[0], layers[-1], rows=5, seed=7)
    lr = 0.5
    trace = train(X, y, layers, activation=activation, bias=bias, learning_rate=lr, iterations=12, seed=5)
    eps = 1e-6
    for t in (0, 11):
        params = {n: trace.get(n, t).copy() for n in trace.names() if trace.op(n)[0] == "update"}
        for name, value in params.items():
            numeric = np.zeros_like(value)
            for idx in np.ndindex(value.shape):
                keep = value[idx]
                value[idx] = keep + eps
                up = loss_of(params, X, y, layers, activation, bias)
                value[idx] = keep - eps
                down = loss_of(params, X, y, layers, activation, bias)
                value[idx] = keep
                numeric[idx] = (up - down) / (2 * eps)
            np.testing.assert_allclose(trace.get("d" + name, t), -lr * numeric, rtol=1e-5, atol=1e-8, err_msg=f"d{name}@{t}")
            np.testing.assert_allclose(trace.value("loss", t), loss_of(params, X, y, layers, activation, bias), rtol=1e-12)


# -- memory budget ---------------------------------------------------------------------------


def test_a_tiny_budget_keeps_explain_checkpoints_and_the_end():
    X, y = data(3, 1)
    full = train(X, y, [3, 4, 1], iterations=35, explain=(0, 3), checkpoints=10)
    part = train(X, y, [3, 4, 1], iterations=35, explain=(0, 3), checkpoints=10, memory_budget=1)
    assert full.complete and full.kept == tuple(range(36))
    assert not part.complete and part.kept == (0, 1, 3, 4, 10, 20, 30, 34, 35)  # explained t with t+1
    np.testing.assert_array_equal(part.series("loss"), full.series("loss"))
    np.testing.assert_array_equal(part.series("mae"), full.series("mae"))
    assert len(part.series("mae")) == 36 and part.has("loss", 17) and part.value("mae", 17) == full.value("mae", 17)
    for t in part.kept:
        for name in part.names():
            assert part.has(name, t) == full.has(name, t)
            if part.has(name, t):
                np.testing.assert_array_equal(part.get(name, t), full.get(name, t))
    assert not part.has("z1", 5)
    with pytest.raises(KeyError, match="z1 at iteration 5 is not kept"):
        part.get("z1", 5)
    assert part.get("X", 5).shape == (6, 3)  # inputs are the same at every iteration


def test_checkpoints_as_a_list_and_an_exact_budget():
    X, y = data(3, 1)
    part = train(X, y, [3, 4, 1], iterations=20, explain=(), checkpoints=[5, 7], memory_budget=0)
    assert part.kept == (5, 7, 19, 20)
    sizes = {"W1": 12, "W2": 4, "z1": 24, "a1": 24, "z2": 6, "a2": 6, "e2": 6, "d2": 6, "e1": 24, "d1": 24, "dW2": 4, "dW1": 12}
    assert set(sizes) == set(part.names()) - {"X", "y", "loss", "mae"}
    per_iteration = 8 * sum(sizes.values())
    assert train(X, y, [3, 4, 1], iterations=20, memory_budget=21 * per_iteration).complete
    assert not train(X, y, [3, 4, 1], iterations=20, memory_budget=21 * per_iteration - 1).complete


# -- divergence ------------------------------------------------------------------------------


def late_blowup(**kwargs):
    """A relu unit that is off (a1 = 0), huge output weights and output biases climbing out of
    saturation: once the deltas sum past 1.8, e1 = d2 . W2^T overflows, about 1500 iterations in."""
    m = 16
    return quiet_train(
        [[1.0]], [[1.0] * m], [1, 1, m], activation="relu", bias=True, weights=[[[-1.0]], [[1e308] * m]],
        biases=[[0.0], [-5.0] * m], learning_rate=0.1, iterations=3000, **kwargs,
    )  # fmt: skip


def test_huge_learning_rate_stops_without_warnings():
    trace = quiet_train(TRASK_X, TRASK_Y, [3, 4, 1], activation="relu", learning_rate=1e300, iterations=100)
    assert trace.stopped_at == 1 and trace.last == 0
    assert trace.kept == (0, 1)
    assert [n for n in trace.names() if trace.has(n, 1)] == ["X", "y", "W1", "W2", "z1", "a1"]
    with np.errstate(all="ignore"):
        assert not np.isfinite(recompute(trace, "z2", 1)).all()
    assert len(trace.series("loss")) == 1 and np.isfinite(trace.series("loss")).all()
    with pytest.raises(KeyError, match="stopped at iteration 1"):
        trace.get("a2", 1)


def test_late_divergence_is_found_exactly_whatever_is_kept():
    ref = late_blowup()
    s = ref.stopped_at
    assert ref.complete and 1000 < s < 2000 and ref.last == s
    assert ref.has("d2", s) and not ref.has("e1", s)  # e1 = d2 . W2^T is where it overflows
    assert np.sum(ref.get("d2", s)) > np.finfo(float).max / 1e308 >= np.sum(ref.get("d2", s - 1))
    assert np.isfinite(ref.series("loss")).all() and len(ref.series("loss")) == s + 1
    for name in ref.names():
        for t in (0, s - 1, s):
            if ref.has(name, t):
                assert np.isfinite(ref.get(name, t)).all()
    for chunk in (1, 3, 7, 1024):
        for budget in (256 * 2**20, 0):
            trace = late_blowup(memory_budget=budget, explain=(5,), checkpoints=500, chunk=chunk)
            assert (trace.stopped_at, trace.last) == (s, s)
            assert budget == 0 or trace.kept == tuple(range(s + 1))
            assert budget or trace.kept == (0, 5, 6, 500, 1000, 1500, s - 1, s)
            np.testing.assert_array_equal(trace.series("loss"), ref.series("loss"))
            for t in (0, 5, 499, 500, 1000, 1500, s - 1, s):
                for name in ref.names():
                    assert trace.has(name, t) == (ref.has(name, t) and (t in trace.kept or name in ("X", "y", "loss", "mae")))
                    if trace.has(name, t):
                        np.testing.assert_array_equal(trace.get(name, t), ref.get(name, t))


def test_an_overflowing_update_stops_at_the_next_iteration():
    # z = 1.7e308 - 1.7e308 = 0, so the unit is not saturated; the update pushes W past the largest float.
    trace = quiet_train([[1.0, 1.0]], [[1.0]], [2, 1], weights=[[[1.7e308], [-1.7e308]]], learning_rate=1e308, iterations=10)
    assert (trace.stopped_at, trace.last, trace.kept) == (1, 0, (0,))
    assert trace.has("dW1", 0) and not trace.has("W1", 1)


def test_an_overflowing_update_at_iteration_0():
    # 100 rows all pulling the same way: a1^T . d2 is about 5, times 1e308.
    X, y = np.tile(TRASK_X, (25, 1)), np.ones((100, 1))
    trace = quiet_train(X, y, [3, 4, 1], learning_rate=1e308, iterations=10)
    assert (trace.stopped_at, trace.last, trace.kept) == (0, 0, (0,))
    assert trace.has("d1", 0) and trace.has("mae", 0) and not trace.has("dW2", 0) and not trace.has("dW1", 0)


def test_divergence_in_the_final_forward_pass():
    trace = quiet_train(TRASK_X, TRASK_Y, [3, 4, 1], activation="relu", learning_rate=1e300, iterations=1)
    assert (trace.stopped_at, trace.last, trace.kept) == (1, 0, (0, 1))
    assert trace.has("dW1", 0) and trace.has("a1", 1) and not trace.has("z2", 1)


# -- inputs ----------------------------------------------------------------------------------


def test_explicit_weights_and_biases():
    X, y = data(2, 2)
    w = [np.full((2, 2), 0.1), np.full((2, 2), -0.2)]
    trace = train(X, y, [2, 2, 2], weights=w, bias=True, biases=[[0.35, 0.35], [0.6, 0.6]], iterations=3)
    np.testing.assert_array_equal(trace.get("W2", 0), w[1])
    np.testing.assert_array_equal(trace.get("b1", 0), [[0.35, 0.35]])
    zero = train(X, y, [2, 2, 2], bias=True, iterations=3)
    np.testing.assert_array_equal(zero.get("b2", 0), [[0.0, 0.0]])
    assert "b1" not in train(X, y, [2, 2, 2], iterations=3).names()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layers=[4, 1]), "X: expected a N x 4 matrix"),
        (dict(layers=[3, 2]), "y: expected a 4 x 2 matrix"),
        (dict(layers=[3, 1], activation="gelu"), "activation must be one of"),
        (dict(layers=[3, 1], weights=[np.zeros((3, 2))]), "W1: expected a 3 x 1 matrix"),
        (dict(layers=[3, 1], biases=[[0.0]]), "bias is off"),
        (dict(layers=[3, 1], bias=True, biases=[[0.0, 1.0]]), "b1: expected a 1 x 1 matrix"),
        (dict(layers=[3, 1], iterations=10, explain=[11]), "explain: iterations must lie in 0..10"),
        (dict(layers=[3, 1], learning_rate=float("nan")), "learning_rate must be finite"),
        (dict(layers=[3, 1], checkpoints=0), "the step must be >= 1"),
        (dict(layers=[3, 1], weights=[np.full((3, 1), np.inf)]), "W1: contains nan or infinity"),
    ],
)
def test_bad_inputs_are_reported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(TRASK_X, TRASK_Y, **kwargs)


def test_training_imports_no_rendering_libraries():
    code = "import sys, deckgen.core.train, deckgen.core.trace; print(sorted({'jinja2', 'matplotlib', 'click'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Output functions, losses and mini-batches, checked against a network written here from the formulas.

The reference below imports nothing from deckgen.core: it is the arithmetic of
DESIGN.md ("Trace names"), one iteration at a time, with plain numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from deckgen.commands.cli import main
from deckgen.core.trace import load_trace
from deckgen.core.train import train

# -- the reference network -------------------------------------------------------------------


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


HIDDEN = {"sigmoid": (_sigmoid, lambda a: a * (1 - a)), "tanh": (np.tanh, lambda a: 1 - a * a),
          "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float))}


def _softmax(z):
    x = np.exp(z - z.max(axis=1, keepdims=True))
    return x / x.sum(axis=1, keepdims=True)


OUTPUT = {"sigmoid": _sigmoid, "softmax": _softmax, "linear": lambda z: z.copy()}
TINY = np.finfo(float).tiny


def ref_loss(output, loss, y, a):
    if loss == "squared":
        return 0.5 * np.sum((y - a) ** 2)
    if output == "softmax":
        return -np.sum(y * np.log(np.maximum(a, TINY)))
    return -np.sum(y * np.log(np.maximum(a, TINY)) + (1 - y) * np.log(np.maximum(1 - a, TINY)))


def ref_rows(t, size, n, T):
    if size is None or t >= T:
        return np.arange(n)
    per_epoch = -(-n // size)
    start = (t % per_epoch) * size
    return np.arange(start, min(start + size, n))


def ref_forward(params, X, L, hidden, output, bias):
    out, a = {}, X
    for k in range(1, L + 1):
        z = a @ params[f"W{k}"] + (params[f"b{k}"] if bias else 0.0)
        a = OUTPUT[output](z) if k == L else HIDDEN[hidden][0](z)
        out[f"z{k}"], out[f"a{k}"] = z, a
    return out


def ref_step(params, Xb, yb, *, hidden, output, loss, lr, bias, forward_only=False):
    """Every matrix of one iteration from the parameters it starts with, and the parameters after it."""
    L = sum(1 for n in params if n.startswith("W"))
    rec = {"X": Xb, "y": yb, **{n: v.copy() for n, v in params.items()}}
    rec.update(ref_forward(params, Xb, L, hidden, output, bias))
    a = rec[f"a{L}"]
    e = yb - a
    rec[f"e{L}"] = e
    rec["loss"] = np.array([[ref_loss(output, loss, yb, a)]])
    rec["mae"] = np.array([[np.mean(np.abs(e))]])
    if forward_only:
        return rec, params
    rec[f"d{L}"] = e * a * (1 - a) if (output, loss) == ("sigmoid", "squared") else e.copy()
    for k in range(L - 1, 0, -1):
        rec[f"e{k}"] = rec[f"d{k + 1}"] @ params[f"W{k + 1}"].T
        rec[f"d{k}"] = rec[f"e{k}"] * HIDDEN[hidden][1](rec[f"a{k}"])
    for k in range(L, 0, -1):
        src = Xb if k == 1 else rec[f"a{k - 1}"]
        rec[f"dW{k}"] = lr * src.T @ rec[f"d{k}"]
        if bias:
            rec[f"db{k}"] = lr * rec[f"d{k}"].sum(axis=0, keepdims=True)
    after = {n: v + rec[f"d{n}"] for n, v in params.items()}
    return rec, after


def reference(X, y, weights, *, hidden, output, loss, lr, T, bias, batch):
    """Every matrix of every iteration 0..T as a dict per iteration, from the formulas."""
    params = {f"W{k}": np.array(w, dtype=float) for k, w in enumerate(weights, 1)}
    if bias:
        params.update({f"b{k}": np.zeros((1, w.shape[1])) for k, w in enumerate(weights, 1)})
    steps = []
    for t in range(T + 1):
        rows = ref_rows(t, batch, len(X), T)
        rec, params = ref_step(params, X[rows], y[rows], hidden=hidden, output=output, loss=loss, lr=lr,
                               bias=bias, forward_only=t == T)
        steps.append(rec)
    return steps


# -- data ----------------------------------------------------------------------------------------


def problem(output, layers, rows=7, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.uniform(-1, 1, (rows, layers[0]))
    n = layers[-1]
    if output == "softmax":
        y = np.eye(n)[rs.randint(0, n, rows)]
    elif output == "linear":
        y = rs.normal(0, 2, (rows, n))          # numbers in their own units, not squashed
    else:
        y = rs.randint(0, 2, (rows, n)).astype(float)
    weights = [rs.uniform(-1, 1, (a, b)) for a, b in zip(layers[:-1], layers[1:])]
    return X, y, weights


MODES = [  # output, loss, batch_size, hidden, layers, bias
    ("softmax", "cross_entropy", None, "sigmoid", [3, 4, 3], True),
    ("softmax", "cross_entropy", 3, "tanh", [3, 5, 3], True),
    ("sigmoid", "cross_entropy", None, "sigmoid", [3, 4, 2], False),
    ("sigmoid", "cross_entropy", 2, "relu", [3, 4, 1], True),
    ("linear", "squared", None, "tanh", [3, 4, 2], True),
    ("linear", "squared", 4, "sigmoid", [2, 3, 3, 1], True),
    ("sigmoid", "squared", 3, "sigmoid", [3, 4, 1], False),
    ("sigmoid", "squared", 1, "tanh", [3, 2, 2], True),
]
IDS = [f"{o}-{l}-b{b}-{h}" for o, l, b, h, _, _ in MODES]
T = 23     # 7 rows in batches of 3: 3 per epoch, so T is mid-epoch and the last batch (1 row) recurs


def run(mode, **extra):
    output, loss, batch, hidden, layers, bias = mode
    X, y, weights = problem(output, layers)
    lr = 0.1 if output == "linear" else 0.5
    kwargs = dict(activation=hidden, output=output, loss=loss, batch_size=batch, learning_rate=lr,
                  iterations=T, weights=weights, bias=bias, checkpoints=5, explain=[2])
    kwargs.update(extra)
    trace = train(X, y, layers, **kwargs)
    ref = reference(X, y, weights, hidden=hidden, output=output, loss=loss, lr=lr, T=T, bias=bias, batch=batch)
    return trace, ref


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_every_matrix_matches_the_reference_network(mode):
    """Each iteration recomputed from the parameters the trace starts it with: every matrix to 1e-12."""
    output, loss, batch, hidden, layers, bias = mode
    trace, ref = run(mode)
    assert trace.complete and trace.stopped_at is None
    assert (trace.output, trace.loss, trace.batch_size) == (output, loss, batch)
    X, y = np.asarray(trace.inputs["X"]), np.asarray(trace.inputs["y"])
    checked = 0
    for t in range(T + 1):
        rows = ref_rows(t, batch, len(X), T)
        params = {n: trace.get(n, t) for n in trace.names() if trace.op(n)[0] == "update"}
        want, after = ref_step(params, X[rows], y[rows], hidden=hidden, output=output, loss=loss,
                               lr=trace.learning_rate, bias=bias, forward_only=t == T)
        assert set(want) == {n for n in trace.names() if trace.has(n, t)}, t
        for name, value in want.items():
            np.testing.assert_allclose(trace.get(name, t), value, rtol=1e-12, atol=1e-13, err_msg=f"{name}@{t}")
            checked += 1
        if t < T:
            for name, value in after.items():      # the update the trace applies is the one computed
                np.testing.assert_allclose(trace.get(name, t + 1), value, rtol=1e-12, atol=1e-13)
    assert checked > (T + 1) * 10
    # and the whole run, started from the same weights, follows the same path
    for t in (1, T // 2, T):
        for name in ("a%d" % (len(layers) - 1), "W1", "loss"):
            np.testing.assert_allclose(trace.get(name, t), ref[t][name], rtol=1e-8, atol=1e-10, err_msg=f"{name}@{t}")


@pytest.mark.parametrize("mode", MODES, ids=IDS)
def test_a_run_over_its_memory_budget_keeps_the_same_numbers(mode):
    full, _ = run(mode)
    kept, _ = run(mode, memory_budget=1, chunk=4)
    assert kept.kind == "budget" and full.kind == "full"
    np.testing.assert_array_equal(kept.series("loss"), full.series("loss"))
    np.testing.assert_array_equal(kept.series("mae"), full.series("mae"))
    for t in kept.kept:
        for name in kept.names():
            if kept.has(name, t):
                np.testing.assert_array_equal(kept.get(name, t), full.get(name, t), err_msg=f"{name}@{t}")


def test_batches_are_consecutive_chunks_and_the_last_forward_pass_uses_every_row():
    mode = ("softmax", "cross_entropy", 3, "sigmoid", [3, 4, 3], True)
    trace, _ = run(mode)
    X = np.asarray(trace.inputs["X"])
    seen = [list(trace.batch_rows(t)) for t in range(6)]
    assert seen == [[0, 1, 2], [3, 4, 5], [6], [0, 1, 2], [3, 4, 5], [6]]
    for t in range(T):
        rows = trace.batch_rows(t)
        np.testing.assert_array_equal(trace.get("X", t), X[rows.start:rows.stop])
        assert trace.get("a2", t).shape == (len(rows), 3) and trace.get("d1", t).shape == (len(rows), 4)
    assert list(trace.batch_rows(T)) == list(range(7))
    assert trace.get("a2", T).shape == (7, 3) and trace.get("X", T).shape == (7, 3)
    np.testing.assert_allclose(trace.get("a2", T).sum(axis=1), 1.0, rtol=0, atol=1e-12)   # softmax rows


def test_a_batch_as_large_as_the_data_is_no_batch_at_all():
    X, y, weights = problem("sigmoid", [3, 4, 1])
    plain = train(X, y, [3, 4, 1], iterations=30, weights=weights)
    for size in (7, 50):
        same = train(X, y, [3, 4, 1], iterations=30, weights=weights, batch_size=size)
        assert same.batch_size is None
        np.testing.assert_array_equal(same.series("loss"), plain.series("loss"))
        np.testing.assert_array_equal(same.get("W1", 30), plain.get("W1", 30))


@pytest.mark.parametrize("mode", MODES[:2] + MODES[5:6], ids=IDS[:2] + IDS[5:6])
def test_saved_and_light_traces_keep_output_loss_and_batches(mode, tmp_path):
    trace, ref = run(mode)
    light = trace.subset([0, 2, 3, T - 1, T], light=True)
    light.save(tmp_path)
    back = load_trace(tmp_path)
    assert (back.output, back.loss, back.batch_size) == (trace.output, trace.loss, trace.batch_size)
    for t in back.kept:
        assert list(back.batch_rows(t)) == list(trace.batch_rows(t))
        for name in back.names():
            if back.has(name, t):
                np.testing.assert_array_equal(back.get(name, t), trace.get(name, t), err_msg=f"{name}@{t}")
    assert back.formula("loss") == trace.formula("loss")


# -- gradients against finite differences ----------------------------------------------------

FD_MODES = [(o, l, b, h, lay, bias) for o, l, _, h, lay, bias in MODES[::2] for b in (None, 2)] + MODES[1::2]


@pytest.mark.parametrize("mode", FD_MODES, ids=[f"{o}-{l}-b{b}-{h}" for o, l, b, h, _, _ in FD_MODES])
def test_updates_are_minus_eta_times_the_gradient_of_the_iterations_loss(mode):
    output, loss, batch, hidden, layers, bias = mode
    trace, _ = run(mode)
    lr, L, eps = trace.learning_rate, len(layers) - 1, 1e-6
    for t in (0, 4, T - 1):
        X, y = trace.get("X", t), trace.get("y", t)          # that iteration's batch
        params = {n: trace.get(n, t).copy() for n in trace.names() if trace.op(n)[0] == "update"}

        def loss_at():
            a = ref_forward(params, X, L, hidden, output, bias)[f"a{L}"]
            return ref_loss(output, loss, y, a)

        np.testing.assert_allclose(loss_at(), trace.value("loss", t), rtol=1e-12)
        for name, value in params.items():
            numeric = np.zeros_like(value)
            for idx in np.ndindex(value.shape):
                keep = value[idx]
                value[idx] = keep + eps
                up = loss_at()
                value[idx] = keep - eps
                down = loss_at()
                value[idx] = keep
                numeric[idx] = (up - down) / (2 * eps)
            change = trace.get(f"d{name}", t)
            np.testing.assert_allclose(change, -lr * numeric, rtol=1e-5, atol=1e-8, err_msg=f"d{name}@{t}")


def test_cross_entropy_stays_finite_when_an_output_saturates():
    X = np.array([[50.0], [-50.0]])
    y = np.array([[0.0], [1.0]])                   # confidently wrong: a rounds to exactly 1 and 0
    with np.errstate(all="raise"):
        trace = train(X, y, [1, 1], weights=[[[40.0]]], output="sigmoid", loss="cross_entropy", iterations=1,
                      learning_rate=1e-9)
    assert trace.get("a1", 0)[0, 0] == 1.0 and trace.get("a1", 0)[1, 0] == 0.0
    loss = trace.value("loss", 0)
    assert np.isfinite(loss) and loss == pytest.approx(2 * -np.log(TINY))
    assert trace.stopped_at is None


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sets, words", [
    (["network.output=softmax"], ['network.output = "softmax"', 'training.loss = "squared"', '"cross_entropy"']),
    (["network.output=linear", "training.loss=cross_entropy"],
     ['training.loss = "cross_entropy"', 'network.output = "linear"', 'training.loss = "squared"']),
    (["network.output=softmax", "training.loss=cross_entropy", "network.layers=[3,4,1]"],
     ["softmax output needs 2 or more output units", "network.layers"]),
    (["network.output=softmax", "training.loss=cross_entropy"], ["at least 2 output units", "1 target column"]),
    (["network.output=softmax", "training.loss=cross_entropy", "data.dataset=xor",
      "data.targets=[[0,1],[1,0.5]]", "data.inputs=[[0],[1]]"], None),
    (["training.batch_size=0"], ["training.batch_size", "at least 1"]),
])
def test_pairs_that_do_not_go_together_are_one_line_and_exit_2(sets, words, tmp_path, capsys):
    args = [a for s in sets for a in ("--set", s)]
    if words is None:      # literal targets that are not one-hot: say so
        args = [a for s in sets if not s.startswith("data.dataset") for a in ("--set", s)]
        words = ["add up to 1", "one-hot"]
    code = main(["build", "-q", "-o", str(tmp_path / "d"), "--set", "training.iterations=10", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deckgen: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "d").exists()


def test_a_deck_in_each_new_mode_builds_and_saves_its_mode(tmp_path):
    cases = {
        "softmax": ["network.output=softmax", "training.loss=cross_entropy", "data.inputs=[[0,0],[0,1],[1,0],[1,1]]",
                    "data.targets=[[1,0],[0,1],[0,1],[1,0]]"],
        "linear": ["network.output=linear", "training.learning_rate=0.1"],
        "batches": ["training.batch_size=3", "training.loss=cross_entropy"],
    }
    for name, sets in cases.items():
        out = tmp_path / name
        args = [a for s in ["training.iterations=200", "deck.checkpoints=100", *sets] for a in ("--set", s)]
        assert main(["build", "-q", "-o", str(out), *args]) == 0, name
        trace = load_trace(out)
        assert trace.output == ("softmax" if name == "softmax" else "linear" if name == "linear" else "sigmoid")
        assert trace.batch_size == (3 if name == "batches" else None)
        assert "softmax" in (out / "index.html").read_text(encoding="utf-8") or name != "softmax"


# -- what reads the run ------------------------------------------------------------------------------


def test_a_noisy_batch_series_is_diagnosed_by_epoch_and_predictions_come_from_every_row():
    from deckgen.core.diagnose import diagnose
    from deckgen.core.kept import final_iteration

    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    trace = train(X, y, [3, 4, 1], batch_size=1, iterations=20000, seed=1)
    mae = trace.series("mae")
    assert np.max(mae[:2000]) > mae[0] * 1.01            # one row at a time: the series jumps about
    assert diagnose(trace)["kind"] == "converged"
    assert final_iteration(trace) == 20000 and trace.get("a2", 20000).shape == (4, 1)


def test_a_linear_output_is_stuck_only_relative_to_its_targets_range():
    from deckgen.core.diagnose import diagnose

    rs = np.random.RandomState(3)
    X = rs.uniform(0, 1, (40, 1))
    y = 20 * X + rs.normal(0, 0.5, (40, 1))             # a line plus noise no fit can remove
    trace = train(X, y, [1, 1], output="linear", bias=True, learning_rate=0.01, iterations=3000)
    assert trace.series("mae")[-1] > 0.1                   # above the threshold for outputs in 0..1
    assert diagnose(trace)["kind"] == "converged"


def test_the_cache_key_changes_with_output_loss_and_batch_size():
    from deckgen.data import load_dataset, resolve_layers
    from deckgen.pipeline import load
    from deckgen.run.traces import trace_key

    def key(*sets):
        config = load(None, ["training.iterations=100", *sets])
        dataset = load_dataset(config)
        return trace_key(config, dataset, resolve_layers(config, dataset))

    keys = {key(), key("training.loss=cross_entropy"), key("network.output=linear"), key("training.batch_size=2")}
    assert len(keys) == 4
    assert key("training.batch_size=2") == key("training.batch_size=2")


def test_the_chain_rule_and_the_nudge_use_the_runs_loss_on_its_batch():
    from deckgen.core.gradients import NUDGE, factors, loss_with

    for mode in (MODES[1], MODES[3], MODES[5]):
        trace, _ = run(mode)
        L = len(trace.layers) - 1
        for t in (0, 4):
            assert loss_with(trace, t, 1, 0, 0) == pytest.approx(trace.value("loss", t), rel=1e-12)
            for k in (1, L):
                per_example = factors(trace, t, k, 0, 0)
                assert len(per_example) == len(trace.batch_rows(t))
                total = sum(f.product for f in per_example)
                assert total == pytest.approx(-trace.value(f"dW{k}", t, 0, 0) / trace.learning_rate, rel=1e-9)
                slope = (loss_with(trace, t, k, 0, 0, NUDGE) - loss_with(trace, t, k, 0, 0, -NUDGE)) / (2 * NUDGE)
                assert slope == pytest.approx(total, rel=1e-4, abs=1e-9)
                assert all(f.fused for f in per_example) == (k == L and trace.loss == "cross_entropy")


def test_classes_are_the_largest_softmax_output_and_a_linear_output_has_none():
    from deckgen.core.learned import decisions

    a = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    assert list(decisions("softmax", a)) == [1, 0]
    assert list(decisions("sigmoid", np.array([[0.7], [0.2]]))) == [1, 0]
    assert decisions("linear", np.array([[3.5]])) is None

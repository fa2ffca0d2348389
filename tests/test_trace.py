"""The Trace: names and ops, read access, and save/load (exact and byte-for-byte stable)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from deckgen.core.trace import Trace, describe, load_trace, pipeline
from deckgen.core.train import ACTIVATIONS, train

X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([[0, 1, 1, 0]], dtype=float).T


@pytest.fixture(scope="module")
def tiny() -> Trace:
    return train(X, Y, [3, 4, 1], iterations=30, seed=1)


def traces():
    """A handful of different runs: complete, partial, with biases, deeper, stopped."""
    rs = np.random.RandomState(4)
    Xr, yr = rs.uniform(-1, 1, (5, 2)), rs.randint(0, 2, (5, 2)).astype(float)
    return {
        "complete": train(X, Y, [3, 4, 1], iterations=30, seed=1),
        "partial": train(X, Y, [3, 4, 1], iterations=30, checkpoints=7, explain=(2,), memory_budget=0),
        "bias-relu": train(Xr, yr, [2, 5, 3, 2], activation="relu", bias=True, learning_rate=0.5, iterations=20),
        "no-hidden": train(X, Y, [3, 1], iterations=10),
        "stopped": train(X, Y, [3, 4, 1], activation="relu", learning_rate=1e300, iterations=10),
    }


# -- names, ops, formulas --------------------------------------------------------------------


def test_names_follow_the_pipeline(tiny):
    assert tiny.names() == ["X", "y", "W1", "W2", "z1", "a1", "z2", "a2", "e2", "loss", "mae", "d2", "e1", "d1", "dW2", "dW1"]
    assert pipeline([2, 3, 1], bias=True) == [
        "X", "y", "W1", "b1", "W2", "b2", "z1", "a1", "z2", "a2", "e2", "loss", "mae", "d2", "e1", "d1", "dW2", "db2", "dW1", "db1",
    ]  # fmt: skip


def test_ops_and_formulas(tiny):
    assert tiny.op("z1") == ("matmul", ("X", "W1"))
    assert tiny.op("a1") == ("sigmoid", ("z1",))
    assert tiny.op("e2") == ("sub", ("y", "a2"))
    assert tiny.op("d2") == ("mul_deriv", ("e2", "a2"))
    assert tiny.op("e1") == ("matmul_T", ("d2", "W2"))
    assert tiny.op("dW2") == ("scaled_outer", ("a1", "d2"))
    assert tiny.op("dW1") == ("scaled_outer", ("X", "d1"))
    assert tiny.op("W1") == ("update", ("W1", "dW1"))
    assert tiny.op("loss") == ("half_sum_sq", ("e2",))
    assert tiny.formula("z1") == r"z_{1} = X \cdot W_{1}"
    assert tiny.formula("z2") == r"z_{2} = a_{1} \cdot W_{2}"
    assert tiny.formula("dW2") == r"\Delta W_{2} = \eta \, a_{1}^{\top} \cdot \delta_{2}"
    assert tiny.formula("e1") == r"e_{1} = \delta_{2} \cdot W_{2}^{\top}"
    assert tiny.formula("d2") == r"\delta_{2} = e_{2} \odot a_{2} \odot (1 - a_{2})"
    biased = describe([3, 4, 1], "tanh", bias=True)
    assert biased["z1"][:2] == ("matmul_add", ("X", "W1", "b1"))
    assert biased["z1"][2] == r"z_{1} = X \cdot W_{1} + b_{1}"
    assert biased["a1"][2] == r"a_{1} = \tanh(z_{1})" and biased["a2"][0] == "sigmoid"
    assert biased["db1"][:2] == ("scaled_colsum", ("d1",))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("layers", [[3, 1], [3, 4, 1], [2, 5, 3, 2]])
def test_every_operand_is_a_recorded_name(layers, activation, bias):
    table = describe(layers, activation, bias)
    assert list(table) == pipeline(layers, bias)
    for name, (op, args, tex) in table.items():
        assert set(args) <= set(table), name
        assert tex and (op == "input" or "=" in tex or r"\leftarrow" in tex), name


def test_formulas_are_latex_that_converts_to_mathml():
    latex2mathml = pytest.importorskip("latex2mathml.converter")
    for activation in ACTIVATIONS:
        for name, (_, _, tex) in describe([2, 3, 3, 1], activation, bias=True).items():
            assert "<math" in latex2mathml.convert(tex), name


# -- reading ---------------------------------------------------------------------------------


def test_get_is_two_dimensional_and_read_only(tiny):
    assert tiny.get("X", 0).shape == (4, 3) and tiny.get("X", 17) is tiny.get("X", 0)
    assert tiny.get("loss", 3).shape == (1, 1) and tiny.get("mae", 30).shape == (1, 1)
    assert tiny.get("W2", 5).shape == (4, 1) and tiny.get("e1", 5).shape == (4, 4)
    assert tiny.value("loss", 3) == pytest.approx(0.5 * np.sum(tiny.get("e2", 3) ** 2))
    assert tiny.value("W1", 0, 0, 1) == tiny.get("W1", 0)[0, 1]
    assert isinstance(tiny.value("a2", 2, 3), float)
    with pytest.raises(ValueError):
        tiny.get("W1", 0)[0, 0] = 1.0
    with pytest.raises(ValueError):
        tiny.series("loss")[0] = 1.0
    with pytest.raises(AttributeError):
        tiny.iterations = 5  # frozen


def test_missing_matrices_raise_clear_key_errors(tiny):
    with pytest.raises(KeyError, match="no matrix named 'q'"):
        tiny.get("q", 0)
    with pytest.raises(KeyError, match="covers iterations 0..30"):
        tiny.get("W1", 31)
    with pytest.raises(KeyError, match="only 'loss' and 'mae'"):
        tiny.series("W1")
    assert not tiny.has("W1", 31) and not tiny.has("W1", -1) and not tiny.has("nope", 0)
    assert tiny.last == 30 and tiny.end == 30 and len(tiny.series("mae")) == 31
    assert "kept=31 iterations" in repr(tiny)


# -- disk ------------------------------------------------------------------------------------


def assert_same(a: Trace, b: Trace):
    for attr in ("layers", "activation", "bias", "learning_rate", "iterations", "stopped_at", "kept", "complete",
                 "kind", "last"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert a.names() == b.names()
    for name in a.names():
        assert a.op(name) == b.op(name) and a.formula(name) == b.formula(name)
        for t in range(a.end + 2):
            assert a.has(name, t) == b.has(name, t), (name, t)
            if a.has(name, t):
                got, want = b.get(name, t), a.get(name, t)
                assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (name, t)
    for name in ("loss", "mae"):
        assert a.series(name).tobytes() == b.series(name).tobytes()


@pytest.mark.parametrize("kind", ["complete", "partial", "bias-relu", "no-hidden", "stopped"])
def test_save_load_round_trip_is_exact(tmp_path, kind):
    trace = traces()[kind]
    trace.save(tmp_path / "a")
    loaded = load_trace(tmp_path / "a")
    assert_same(trace, loaded)
    assert_same(trace, load_trace(tmp_path / "a" / "trace.npz"))
    assert_same(trace, load_trace(tmp_path / "a" / "trace.json"))
    # Saving is deterministic: twice, and again from the loaded copy, gives the same bytes.
    trace.save(tmp_path / "b")
    loaded.save(tmp_path / "c")
    for name in ("trace.npz", "trace.json"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name


def test_files_are_plain_npz_and_a_readable_manifest(tmp_path):
    trace = traces()["partial"]
    trace.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.json", "trace.npz"]
    with zipfile.ZipFile(tmp_path / "trace.npz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with np.load(tmp_path / "trace.npz") as npz:
        assert npz["z1"].shape == (len(trace.kept), 4, 4)
        assert npz["dW1"].shape == (len(trace.kept) - 1, 3, 4)  # no update at the last iteration
        assert npz["loss"].shape == (31,)
    meta = json.loads((tmp_path / "trace.json").read_text())
    assert meta["layers"] == [3, 4, 1] and meta["names"] == trace.names()
    assert meta["kept"] == [[0, 0], [2, 3], [7, 7], [14, 14], [21, 21], [28, 30]]
    assert meta["shapes"]["z1"] == [4, 4] and meta["ops"]["z1"] == ["matmul", ["X", "W1"]]
    assert meta["formulas"]["dW2"] == trace.formula("dW2")
    assert meta["stopped_at"] is None and meta["complete"] is False and "deckgen" in meta
    assert meta["kind"] == "budget"     # the run itself kept only these, to fit its memory budget


# -- the deck folder's copy: light by default, full on request ---------------------------------


def deck_copy(trace: Trace, *overrides: str) -> Trace:
    from deckgen.core.kept import for_deck
    from deckgen.config import load_config

    return for_deck(trace, load_config(None, [f"training.iterations={trace.iterations}", *overrides]))


def test_a_light_trace_keeps_the_shown_iterations_and_every_error(tmp_path):
    full = train(X, Y, [3, 4, 1], iterations=30, seed=1)
    light = deck_copy(full, "deck.explain=[2]", "deck.checkpoints=7")
    assert full.kind == "full" and light.kind == "light" and not light.complete
    # explained 2 and the 3 its update makes, checkpoints every 7, T-1 and T
    assert light.kept == (0, 2, 3, 7, 14, 21, 28, 29, 30)
    for name in light.names():
        for t in light.kept:
            if full.has(name, t):
                assert light.get(name, t).tobytes() == full.get(name, t).tobytes(), (name, t)
    assert not light.has("W1", 5) and full.has("W1", 5)
    with pytest.raises(KeyError, match="deck's light trace.*deck.full_trace = true"):
        light.get("W1", 5)
    assert light.series("mae").tobytes() == full.series("mae").tobytes() and len(light.series("loss")) == 31
    light.save(tmp_path / "light")
    meta = json.loads((tmp_path / "light" / "trace.json").read_text())
    assert meta["kind"] == "light" and meta["complete"] is False
    assert_same(light, load_trace(tmp_path / "light"))


def test_load_trace_reads_both_kinds_and_says_which(tmp_path):
    full = train(X, Y, [3, 4, 1], iterations=30, seed=1)
    deck_copy(full).save(tmp_path / "light")
    deck_copy(full, "deck.full_trace=true").save(tmp_path / "full")
    light, whole = load_trace(tmp_path / "light"), load_trace(tmp_path / "full")
    assert light.kind == "light" and light.kept == (0, 1, 29, 30)
    assert whole.kind == "full" and whole.complete and whole.kept == tuple(range(31))
    assert_same(full, whole)
    assert (tmp_path / "light" / "trace.npz").stat().st_size < (tmp_path / "full" / "trace.npz").stat().st_size / 3
    assert "kind='light'" in repr(light)


def test_a_stopped_run_keeps_its_last_iterations_in_the_light_copy():
    # a relu unit that is off and huge output weights: e1 overflows about 1500 iterations in
    m = 16
    with np.errstate(all="ignore"):
        full = train([[1.0]], [[1.0] * m], [1, 1, m], activation="relu", bias=True, weights=[[[-1.0]], [[1e308] * m]],
                     biases=[[0.0], [-5.0] * m], learning_rate=0.1, iterations=3000)
    assert full.complete and full.stopped_at is not None and full.stopped_at > 1000
    light = deck_copy(full, "deck.checkpoints=500", "deck.explain=[0]")
    s = full.stopped_at
    assert light.kind == "light" and light.stopped_at == s and light.kept == (0, 1, 500, 1000, 1500, s - 1, s)
    for t in (s - 1, s):     # the deck's final predictions, and whatever was finite at the stop
        for name in light.names():
            assert light.has(name, t) == full.has(name, t), (name, t)


def test_a_trace_that_keeps_no_more_than_the_deck_shows_is_saved_as_it_is():
    budget = traces()["partial"]
    assert deck_copy(budget, "deck.explain=[2]", "deck.checkpoints=7") is budget
    short = train(X, Y, [3, 4, 1], iterations=3, seed=1)
    assert deck_copy(short, "deck.explain=[0]", "deck.checkpoints=1") is short     # every iteration is shown

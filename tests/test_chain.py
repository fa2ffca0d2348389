"""The chain-rule slides: Mazur's published numbers, and every gradient checked by finite differences."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import deckgen
from deckgen.core.gradients import factors, loss_with
from deckgen.data import load_dataset, resolve_layers
from deckgen.errors import ConfigError
from deckgen.run.traces import train_for
from deckgen.story import build_story

REPO = Path(__file__).resolve().parent.parent


def trace_of(path=None, overrides=()):
    config = deckgen.load_config(path, list(overrides))
    data = load_dataset(config)
    return config, data, train_for(config, data, resolve_layers(config, data))


def slide_text(html: str, slide_id: str) -> str:
    section = re.search(rf'<section id="{slide_id}".*?</section>', html, re.S).group(0)
    return re.sub(r"<[^>]+>", "", section)


def test_mazurs_chain_rule_numbers_are_on_the_slides(tmp_path):
    """w5 = W2[0,0]: 0.74136507 × 0.186815602 × 0.593269992 = 0.082167041; w1 = W1[0,0]: 0.036350306 ×
    0.241300709 × 0.05 = 0.000438568 (Mazur, "A Step by Step Backpropagation Example")."""
    config = deckgen.load_config(REPO / "decks" / "mazur.toml", ["training.iterations=3", "deck.checkpoints=1"])
    result = deckgen.build(config, tmp_path / "mazur")
    html = (result.out / "index.html").read_text(encoding="utf-8")
    w5 = slide_text(html, "t0-chain-W2-0-0")
    for published in ("0.741365070", "0.186815602", "0.593269992", "0.082167041"):
        assert published in w5, published
    w1 = slide_text(html, "t0-chain-W1-0-0")
    for published in ("0.036350306", "0.241300709", "0.050000000", "0.000438568"):
        assert published in w1, published
    trace = deckgen.load_trace(result.out)
    assert trace.value("W2", 1, 0, 0) == pytest.approx(0.35891648, abs=5e-9)    # w5+
    assert trace.value("W1", 1, 0, 0) == pytest.approx(0.149780716, abs=5e-10)  # w1+
    assert trace.value("loss", 0) == pytest.approx(0.298371109, abs=5e-10)      # E_total


@pytest.mark.parametrize("overrides", [
    [],
    ["network.activation=\"tanh\""],
    ["network.activation=\"relu\"", "network.bias=true"],
    ["network.layers=[3, 1]"],
    ["network.layers=[3, 5, 3, 1]", "network.bias=true"],
])
def test_every_weights_gradient_matches_finite_differences(overrides):
    config, _, trace = trace_of(None, ["training.iterations=5", "deck.checkpoints=5", *overrides])
    t, h = 2, 1e-6
    L = len(trace.layers) - 1
    for k in range(1, L + 1):
        rows, cols = trace.get(f"W{k}", t).shape
        for i in range(rows):
            for j in range(cols):
                chain = sum(f.product for f in factors(trace, t, k, i, j))
                numeric = (loss_with(trace, t, k, i, j, h) - loss_with(trace, t, k, i, j, -h)) / (2 * h)
                from_trace = -trace.value(f"dW{k}", t, i, j) / trace.learning_rate
                assert chain == pytest.approx(from_trace, rel=1e-9, abs=1e-12)
                assert chain == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_the_default_talk_follows_the_last_and_the_first_layer(tmp_path):
    config, data, trace = trace_of(None, ["training.iterations=20", "deck.checkpoints=10"])
    ids = [s.id for s in build_story(config, data, trace).slides]
    chain = [i for i in ids if "-chain-" in i]
    assert chain == ["t0-chain-W2-0-0", "t0-chain-W1-0-0"]
    assert ids.index(chain[-1]) + 2 == ids.index("t0-update-W1")     # then gradient descent, then the updates
    assert ids[ids.index(chain[-1]) + 1] == "t0-descent"
    config, data, trace = trace_of(None, ["training.iterations=20", "deck.checkpoints=10", "deck.chain_rule=[]"])
    assert not [s for s in build_story(config, data, trace).slides if "-chain-" in s.id]


def test_a_weight_outside_the_network_is_one_clear_error():
    config, data, trace = trace_of(None, ["training.iterations=20", "deck.checkpoints=10",
                                          'deck.chain_rule=["W3:0,0", "W1:5,0"]'])
    with pytest.raises(ConfigError) as info:
        build_story(config, data, trace)
    assert info.value.messages == [
        "--set deck.chain_rule: W3:0,0: the network has weight matrices W1 to W2 — pick one of those",
        "--set deck.chain_rule: W1:5,0: W1 is 3 × 4 — pick a row below 3 and a column below 4"]
    with pytest.raises(ConfigError, match=r"deck.chain_rule: \"W2\" does not name a weight"):
        deckgen.load_config(None, ['deck.chain_rule=["W2"]'])

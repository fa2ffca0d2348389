"""The slides of softmax, cross-entropy and linear outputs: worked cells recomputed here, the chain rule
checked by nudging a weight in a network written here, and the words checked against each run."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import deckgen
from deckgen.commands.new import output_for, summarize_csv
from deckgen.story.views import parse_number, show

from deckhelp import parse_address, trace_numbers
from test_words import slides_of

REPO = Path(__file__).resolve().parent.parent
SHORT = ["training.iterations=300", "deck.checkpoints=100"]


def _build(tmp_path, deck, *overrides):
    config = deckgen.load_config(REPO / "decks" / deck if deck else None, [*SHORT, *overrides])
    result = deckgen.build(config, tmp_path / "deck")
    html = (result.out / "index.html").read_text(encoding="utf-8")
    return config, html, deckgen.load_trace(result.out)


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("iris"), "iris.toml")


@pytest.fixture(scope="module")
def sigmoid_ce(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("bce"), None, 'training.loss="cross_entropy"')


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("penguins"), "penguins.toml")


def _section(html: str, sid: str) -> str:
    return re.search(rf'<section id="{re.escape(sid)}".*?</section>', html, re.S).group(0)


def _cells(fragment: str) -> list[tuple[str, str]]:
    """``(data-trace, text)`` of the numbers in a fragment, in order."""
    return re.findall(r'data-trace="([^"]+)"[^>]*>([^<]*)<', fragment)


@pytest.mark.parametrize("which", ["iris", "sigmoid_ce", "penguins"])
def test_every_trace_number_matches(which, request):
    config, html, trace = request.getfixturevalue(which)
    numbers = trace_numbers(html, config.deck.precision)
    assert len(numbers) > 200
    for address, text, decimals in numbers:
        name, t, row, col = parse_address(address)
        assert text == show(trace.value(name, t, row, col), decimals), address


def test_the_softmax_table_recomputes_exp_sum_and_division(iris):
    _, html, trace = iris
    table = _section(html, "t0-softmax2")
    z, a = np.asarray(trace.get("z2", 0)), np.asarray(trace.get("a2", 0))
    bodies = re.findall(r"<tbody>(.*?)</tbody>", table, re.S)
    assert len(bodies) == 2
    for body in bodies:
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        zs = _cells(rows[0])
        r = parse_address(zs[0][0])[2]
        exps = [c for c in re.findall(r"<td>([^<]*)</td>", rows[1])]
        expected = np.exp(z[r])                           # small sums: no shift needed
        for j in range(3):
            assert abs(parse_number(exps[j]) - expected[j]) <= 0.0011 * max(1.0, expected[j]), (r, j)
        assert abs(parse_number(exps[3]) - expected.sum()) <= 0.0011 * expected.sum()
        outs = _cells(rows[2])
        assert [parse_address(x)[0] for x, _ in outs] == ["a2"] * 3
        for j, (_, text) in enumerate(outs):
            assert abs(parse_number(text) - expected[j] / expected.sum()) < 0.0006
        assert abs(a[r].sum() - 1.0) < 1e-12 and re.search(r"<td>1\.000</td>", rows[2])


def test_each_softmax_worked_cell_is_exp_over_the_row_sum(iris):
    _, html, trace = iris
    steps = re.findall(r'<p class="fragment current-visible step"[^>]*>(.*?)</p>', _section(html, "t0-a2"), re.S)
    assert steps
    for step in steps:
        cells = _cells(step)
        zs = [parse_number(t) for a, t in cells if a.startswith("z2@")]
        assert len(zs) == 4                              # exp(z_c) / (exp(z_0) + exp(z_1) + exp(z_2))
        text = re.sub(r"<[^>]+>", "", step)
        quotient = re.search(r"\) = ([\d.]+) / ([\d.]+) [=≈]", text)
        exp_c, total = float(quotient.group(1)), float(quotient.group(2))
        assert abs(exp_c - math.exp(zs[0])) < 0.002 and abs(total - sum(math.exp(v) for v in zs[1:])) < 0.005
        name, t, r, c = parse_address(cells[-1][0])
        assert name == "a2" and abs(exp_c / total - trace.value("a2", t, r, c)) < 0.002


def _loss(trace, t, k, i, j, nudge):
    """The run's loss with ``W{k}[i, j]`` nudged, from a forward pass written here."""
    a = np.array(trace.get("X", t), dtype=float)
    L = len(trace.layers) - 1
    for layer in range(1, L + 1):
        W = np.array(trace.get(f"W{layer}", t), dtype=float)
        if layer == k:
            W[i, j] += nudge
        z = a @ W + (np.asarray(trace.get(f"b{layer}", t)) if trace.bias else 0.0)
        if layer < L or trace.output == "sigmoid":
            a = 1 / (1 + np.exp(-z))
        elif trace.output == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = z
    y = np.asarray(trace.get("y", t))
    if trace.loss == "squared":
        return 0.5 * np.sum((y - a) ** 2)
    if trace.output == "softmax":
        return -np.sum(y * np.log(a))
    return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))


@pytest.mark.parametrize("which", ["iris", "sigmoid_ce", "penguins"])
def test_the_chain_rule_sums_are_finite_differences(which, request):
    _, html, trace = request.getfixturevalue(which)
    chains = re.findall(r'<section id="t0-chain-W(\d+)-(\d+)-(\d+)".*?</section>', html, re.S)
    assert chains
    for k, i, j in chains:
        k, i, j = int(k), int(i), int(j)
        section = _section(html, f"t0-chain-W{k}-{i}-{j}")
        total = float(re.search(r"<strong>([^<]+)</strong>", section).group(1).replace("\u2212", "-"))
        h = 1e-6
        slope = (_loss(trace, 0, k, i, j, h) - _loss(trace, 0, k, i, j, -h)) / (2 * h)
        assert abs(total - slope) <= 0.006 * abs(slope) + 1e-4, (k, i, j, total, slope)


def test_why_the_delta_is_the_error_shows_a_minus_y(iris, sigmoid_ce):
    for _, html, trace in (iris, sigmoid_ce):
        section = _section(html, "t0-why-d2")
        text = re.sub(r"<[^>]+>", " ", section)
        cells = dict((parse_address(a)[0], (a, t)) for a, t in _cells(section))
        name, t, r, j = parse_address(cells["a2"][0])
        a, y = trace.value("a2", t, r, j), trace.value("y", t, r, j)
        assert show(a - y, 3).replace("\u2212", "-") in text.replace("\u2212", "-")
        assert trace.value("d2", t, r, j) == trace.value("e2", t, r, j) == y - a


def test_no_cross_entropy_deck_speaks_of_squared_errors(iris, sigmoid_ce):
    for _, html, _ in (iris, sigmoid_ce):
        for sid, (shown, notes) in slides_of(html).items():
            assert "squared" not in shown + notes, sid
            assert "\u00bd\u03a3e\u00b2" not in shown + notes, sid
            assert "sigmoid gives exactly" not in shown, sid
        assert "ℒ = −Σ" in slides_of(html)["curve"][1]


def test_the_output_delta_slide_says_delta_is_the_error(iris, penguins):
    iris_d2 = slides_of(iris[1])["t0-d2"]
    assert "slope" not in iris_d2[0] and "cancel" in iris_d2[1]
    assert "· 1" in slides_of(penguins[1])["t0-d2"][0]
    assert "t0-slope2" not in slides_of(iris[1]) and "t0-f2" not in slides_of(iris[1])


def test_a_linear_deck_shows_predictions_in_the_csv_units(penguins):
    _, html, trace = penguins
    slides = slides_of(html)
    masses = {line.split(",")[-1] for line in (REPO / "decks/data/penguins.csv").read_text().splitlines()[1:]}
    results = slides["results"][0]
    listed = re.findall(r"(\d+) (\d+) (\d+) [\d.]+", results)     # row, true grams, predicted grams, network output
    assert listed and all(true in masses for _, true, _ in listed)
    assert "body_mass_g" in slides["predictions"][0] and "In body_mass_g" in slides["t0-e2"][0]
    assert "turned back into its own units" in slides["data"][0]
    assert "sigmoid" not in slides["data"][0]
    assert "exactly 0 or 1" not in slides["predictions"][1]


def test_a_diverging_softmax_run_still_builds_and_speaks_truly(tmp_path):
    _, html, _ = _build(tmp_path, "iris.toml", "training.learning_rate=100", "deck.try_cures=false")
    slides = slides_of(html)
    kind = next(k for k in ("stuck", "overshot", "diverged") if k in slides)
    assert "sigmoid gives exactly" not in slides[kind][0]
    assert "learned" in slides and "squared" not in " ".join(s + n for s, n in slides.values())


@pytest.mark.parametrize("csv,target,output,loss", [
    ("iris.csv", "species", "softmax", "cross_entropy"),
    ("penguins.csv", "body_mass_g", "linear", "squared"),
])
def test_new_picks_the_output_by_the_kind_of_target(csv, target, output, loss):
    chosen = output_for(summarize_csv(REPO / "decks/data" / csv, (target,)))
    assert chosen[:2] == (output, loss)


def test_new_picks_sigmoid_for_two_classes(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("x,label\n1,yes\n2,no\n3,yes\n4,no\n", encoding="utf-8")
    assert output_for(summarize_csv(path, ("label",)))[:2] == ("sigmoid", "squared")

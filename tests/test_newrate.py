"""``deckgen new`` chooses its learning rate by training what ``build`` of the written file trains: the run the
deck shows converges steadily, and the comment beside the rate quotes the deck's own numbers."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from deckgen.commands.new import Choices, csv_deck, new_deck, output_for, summarize_csv
from deckgen.commands.picks import RISES, Rate, judge, rate_ladder, smooth_rate
from deckgen.core.trace import load_trace
from deckgen.pipeline import build, load

DATA = Path(__file__).resolve().parent / "data"
RATE_LINE = re.compile(r"^learning_rate = \S+ +# tried by `deckgen new`: the error fell from (\S+) to (\S+) "
                       r"in ([\d,]+) iterations", re.M)
TITLE_NOTE = re.compile(r"bring the mean absolute error (?:on the [0-9,]+ training rows )?from ([0-9.]+) down to ([0-9.]+?)\.(?:\s|<)")


@pytest.mark.parametrize("csv, target, output, outputs", [
    ("penguins-gaps.csv", "body_mass_g", "linear", 1),       # a number, with gaps in the inputs: rows dropped
    ("penguins-gaps.csv", "species", "softmax", 3),           # three classes
    ("cancer-wide.csv", "diagnosis", "sigmoid", 2),           # thirty columns, two classes
])
def test_the_deck_new_writes_converges_steadily_and_its_comment_quotes_the_deck(tmp_path, csv, target, output,
                                                                                outputs):
    shutil.copy(DATA / csv, tmp_path / csv)
    path = new_deck("d", data=tmp_path / csv, target=(target,), folder=tmp_path / "decks")
    text = path.read_text(encoding="utf-8")
    table = tomllib.loads(text)
    assert table["network"]["output"] == output
    if csv.startswith("penguins"):
        assert table["data"]["missing"] == "drop"
    quoted = RATE_LINE.search(text)
    assert quoted, text
    result = build(load(path), tmp_path / "out")
    assert result.diagnosis["kind"] == "converged"
    trace = load_trace(tmp_path / "out")
    assert trace.layers[-1] == outputs
    loss = trace.series("loss")
    assert len(loss) == table["training"]["iterations"] + 1 == int(quoted.group(3).replace(",", "")) + 1
    assert np.sum(np.diff(loss) > 0) <= RISES * (len(loss) - 1)       # the loss falls, nearly always
    assert loss.max() <= 1.05 * loss[0]                                # and never climbs above where it started
    assert not np.any(np.diff(loss[-50:]) > 0)                         # steadily at the end
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    shown = TITLE_NOTE.search(html)
    assert shown and shown.groups() == quoted.groups()[:2]          # the deck's numbers, as the deck writes them


def test_two_text_classes_are_said_to_have_the_two_outputs_the_network_has(tmp_path):
    data = tmp_path / "two.csv"
    data.write_text("x,label\n1,yes\n2,no\n3,yes\n4,no\n", encoding="utf-8")
    assert "two outputs between 0 and 1, one for each" in output_for(summarize_csv(data, ("label",)))[2]
    numbers = tmp_path / "bits.csv"
    numbers.write_text("x,bit\n1,0\n2,1\n3,0\n4,1\n", encoding="utf-8")
    assert "one output between 0 and 1" in output_for(summarize_csv(numbers, ("bit",)))[2]


def _loss(kind: str, n: int = 4000) -> np.ndarray:
    t = np.arange(n + 1, dtype=float)
    smooth = 50 * np.exp(-t / 500) + 1
    if kind == "smooth":
        return smooth
    if kind == "flipping":        # settles into flipping between two values every iteration
        return smooth + np.where(t % 2 == 0, 0.0, 0.2) * (t > n - 500)
    if kind == "spike":           # climbs far above its start first, then comes down smoothly
        return np.concatenate([[50.0, 400.0, 900.0], smooth[3:]])
    raise ValueError(kind)


def test_a_run_that_ends_flipping_or_climbs_first_is_not_accepted():
    mae = np.linspace(0.6, 0.05, 4001)
    assert judge(0.01, 4000, "converged", "0.600", "0.050", mae, _loss("smooth")).accepted
    flipping = judge(0.01, 4000, "converged", "0.600", "0.050", mae, _loss("flipping"))
    assert flipping.unsteady and not flipping.accepted and flipping.late_rises
    spike = judge(0.01, 4000, "converged", "0.600", "0.050", mae, _loss("spike"))
    assert spike.unsteady and not spike.accepted and "18.0 times" in spike.trouble()
    barely = judge(0.01, 4000, "converged", "0.600", "0.400", np.linspace(0.6, 0.4, 4001), _loss("smooth"))
    assert not barely.unsteady and not barely.accepted              # steady, but the error did not halve


def _fake(outcomes: dict[tuple[float, int], str], calls: list):
    """A trial whose runs go as ``outcomes`` says: "steady" converges, "slow" does not halve the error."""
    def trial(rate: float, iterations: int) -> Rate:
        calls.append((rate, iterations))
        how = outcomes.get((rate, iterations), "flipping")
        end = {"slow": 0.4}.get(how, 0.05)
        mae = np.linspace(0.6, end, iterations + 1)
        return judge(rate, iterations, "converged", "0.600", f"{end:.3f}", mae,
                     _loss("smooth" if how in ("steady", "slow") else how, iterations))
    return trial


def test_the_largest_steady_rate_wins_and_larger_ones_are_named():
    calls: list = []
    run = smooth_rate(_fake({(0.02, 4000): "steady", (0.01, 4000): "steady"}, calls), 0.1, 0.0001)
    assert calls == [(0.1, 4000), (0.05, 4000), (0.03, 4000), (0.02, 4000)]
    assert run.accepted and run.learning_rate == 0.02 and run.steadier.learning_rate == 0.03


def test_a_steady_but_slow_rate_gets_more_iterations_before_a_smaller_one():
    calls: list = []
    run = smooth_rate(_fake({(0.05, 4000): "slow", (0.05, 10000): "steady"}, calls), 0.1, 0.0001)
    assert calls == [(0.1, 4000), (0.05, 4000), (0.05, 10000)]
    assert run.accepted and run.iterations == 10000
    text = csv_deck("d", "d.csv", summarize_csv(DATA / "cancer-wide.csv", ("diagnosis",)), Choices(rate=run))
    assert "\niterations = 10000\n" in text and "\ncheckpoints = 2500 " in text
    assert "the error fell from 0.600 to 0.050 in 10,000 iterations" in text


def test_when_nothing_converges_the_best_run_is_written_with_what_went_wrong():
    calls: list = []
    run = smooth_rate(_fake({(0.05, b): "slow" for b in (4000, 10000, 20000)}, calls), 0.1, 0.0001)
    assert calls == [(0.1, 4000), (0.05, 4000), (0.05, 10000), (0.05, 20000)]
    assert not run.accepted and run.learning_rate == 0.05
    text = csv_deck("d", "d.csv", summarize_csv(DATA / "cancer-wide.csv", ("diagnosis",)), Choices(rate=run))
    assert "the best `deckgen new` found: the error went from 0.600 to 0.400" in text
    assert "tried by" not in text


def test_the_rates_tried_run_from_the_top_down_in_round_steps():
    assert rate_ladder(0.05, 0.0005) == [0.05, 0.03, 0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 0.0005]

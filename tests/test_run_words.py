"""Sentences that were true of some runs only, now chosen by facts of their own run: file rows, the error's
units and rows, how many iterations are worked out, Mazur's page, the curve's own course, what Trask prints."""

from __future__ import annotations

import re

import numpy as np

from test_words import REPO, build


def _labels(text: str) -> list[str]:
    return re.findall(r"example (\d+):", text)


def test_the_loss_slide_names_its_examples_by_the_rows_the_tables_show(tmp_path):
    """Penguins drops a row with gaps before row 100: its position in X is 99, its label stays 100."""
    slides, trace = build(tmp_path, "penguins", REPO / "decks" / "penguins.toml", ["data.rows=[100, 200]"])
    assert _labels(slides["t0-loss"][0]) == ["100", "200"]
    assert "row 100:" in slides["t0-e2"][0] and "row 99" not in slides["t0-e2"][0]


def test_a_scaled_target_gives_the_error_in_its_own_units(tmp_path):
    slides, trace = build(tmp_path, "penguins", REPO / "decks" / "penguins.toml")
    notes = slides["t0-descent"][1]
    assert "in the units of the outputs" not in notes
    low, high = 2700, 6300                      # body_mass_g in decks/data/penguins.csv
    grams = float(trace.value("mae", 0)) * (high - low)
    shown = re.search(r"is ([\d.]+) in body_mass_g itself", notes)
    assert shown and abs(float(shown.group(1)) - grams) < 0.1
    assert "pressed into" not in slides["t0-a2"][1] and "scaled to 0–1 for training" in slides["t0-a2"][1]
    assert "sigmoid hidden &middot; linear output" in slides["title"][0]
    assert re.search(r"is now [\d.]+ \([\d.]+ at the start\)", slides["predictions"][1])


def test_mazurs_deck_names_his_page_and_reproduces_its_numbers(tmp_path):
    slides, trace = build(tmp_path, "mazur", REPO / "decks" / "mazur.toml")
    title = slides["title"][1]
    assert "Mazur" in title and "E_total = 0.298371109" in title and "0.358916480" in title
    assert abs(float(trace.value("W2", 1, 0, 0)) - 0.35891648) < 1e-8       # w5 after one step, as on his page
    for sid in ("data", "weights-0"):
        assert "deck file" not in slides[sid][0] and "Mazur" in slides[sid][0]
    assert "One example (one row)" in slides["data"][0]
    assert "of the 2 outputs of the one example" in slides["t0-descent"][1]
    # not Mazur's once a number of his setup changes
    other, _ = build(tmp_path, "other", REPO / "decks" / "mazur.toml", ["training.learning_rate=0.4"])
    assert "Mazur" not in " ".join(text + notes for text, notes in other.values())


def test_mini_batches_say_how_many_iterations_are_worked_out_and_which_rows_each_error_is_on(tmp_path):
    slides, trace = build(tmp_path, "mb", REPO / "decks" / "minibatch.toml")
    title = slides["title"][1]
    assert "2 full training iterations by hand" in title
    assert "on the first batch of 2 rows" in title and "over every row" in title
    assert "after the last update (iteration 300)" in slides["predictions"][0]
    assert "last training iteration" not in slides["predictions"][0]


def test_the_end_slide_keeps_the_trace_file_to_the_notes(tmp_path):
    slides, _ = build(tmp_path, "trask", None)
    text, notes = slides["end"]
    assert "trace.npz" not in text and "trace.npz beside it" in notes


def test_a_curve_that_does_not_only_fall_is_described_as_it_runs(tmp_path):
    slides, trace = build(tmp_path, "fast", REPO / "decks" / "too-fast.toml", ["training.iterations=2000"])
    notes = slides["curve"][1]
    assert "straight downward slope" not in notes
    top = int(np.argmax(trace.series("mae")[1:2000]) + 1)
    assert "rises to its highest" in notes and f"at iteration {top:,}" in notes and "stays at exactly" in notes
    learned = slides["learned"][1]
    assert "the output is constant" in learned or "output is constant" in learned
    assert "the next slide shows why" not in learned and "the slides after the error curve showed why" in learned


def test_a_constant_input_in_the_formula_is_named_as_the_bias(tmp_path):
    slides, trace = build(tmp_path, "two", REPO / "decks" / "trask-2layer.toml")
    text = slides["learned"][0]
    assert "x3 is always 1, so" in text and "acts as the bias" in text
    assert "Not shown: x3" not in text


def test_trask_is_quoted_only_with_what_his_programs_print(tmp_path):
    slides, _ = build(tmp_path, "trask", None, ["training.iterations=10001", "deck.checkpoints=10000"])
    notes = slides["checkpoint-10000"][1]
    assert "Error after" not in notes and "\u201cError:\u201d" in notes
    assert "Trask" not in slides["predictions"][1]             # his 3-layer program prints no outputs at the end
    two, _ = build(tmp_path, "two", REPO / "decks" / "trask-2layer.toml", ["training.iterations=10000"])
    assert "Output After Training:" in two["predictions"][1]


def test_held_out_rows_put_every_quoted_error_on_the_training_rows(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,c,unused,y"] + [f"{x:.3f},{z:.3f},{w:.3f},1,{'yes' if x + z > 1 else 'no'}"
                                 for x, z, w in rng.random((50, 3))]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    deck = tmp_path / "d.toml"
    deck.write_text('[data]\ncsv = "d.csv"\ntarget = ["y"]\nfeatures = ["a", "b", "c"]\ntest_fraction = 0.2\n')
    slides, trace = build(tmp_path, "csv", deck)
    n = trace.shape("X")[0]
    assert f"on the {n} training rows" in slides["title"][1]
    assert f"on the {n} training rows" in slides["checkpoint-100"][1]
    assert f"on the {n} training rows" in slides["curve"][0]
    assert f"the {n} training rows, the 3 chosen columns and the target, values as in the file" in slides["data-raw"][0]

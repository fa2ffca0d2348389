"""Sentences read from the run's own numbers: which batch rows a checkpoint's error is on, where a plateau starts
and what it does, which quantity rose, how early the error's fall came, what Mazur's page goes on to, which rows
the units line names, and which example rows stand for each class when not all fit."""

from __future__ import annotations

import re

import numpy as np

from deckgen.core.diagnose import diagnose
from deckgen.story.rows import file_row, pick, spans, spread
from deckgen.story.talk import article
from test_words import REPO, build


def test_each_checkpoint_names_the_batch_rows_its_error_is_on(tmp_path):
    slides, trace = build(tmp_path, "mb", REPO / "decks" / "minibatch.toml", ["deck.checkpoints=[0, 100, 299]"])
    rows = {t: spans(file_row((), i) for i in trace.batch_rows(t)) for t in (0, 100, 299)}
    assert rows[0] == rows[100] != rows[299]           # batch = t mod 2: 0 and 100 on the same rows, 299 not
    text, notes = slides["checkpoint-299"]
    for t in (0, 100, 299):
        assert re.search(rf"{t:,} {re.escape(rows[t])} ", text)
    assert "rows differ from checkpoint to checkpoint" not in notes
    assert f"trained on rows {rows[299]} and iteration 100 on rows {rows[100]}" in notes
    assert f"both on rows {rows[100]}" in slides["checkpoint-100"][1]


def test_checkpoint_notes_say_what_changed_since_the_one_before(tmp_path):
    slides, trace = build(tmp_path, "trask", None, ["training.iterations=2000", "deck.checkpoints=1000"])
    notes = slides["checkpoint-1000"][1]
    before, after = trace.value("mae", 0), trace.value("mae", 1000)
    assert f"by {abs(after - before) / before * 100:.0f}%" in notes
    assert ("fell from" in notes) == (after < before)
    assert "At iteration 1,000 the mean absolute error is" not in notes


def test_mazurs_page_goes_on_but_never_trains_the_biases(tmp_path):
    slides, trace = build(tmp_path, "mazur", REPO / "decks" / "mazur.toml")
    notes = slides["title"][1]
    assert "stops after" not in notes
    assert "0.291027924" in notes and "0.0000351085" in notes
    assert f"after the first step is {trace.value('loss', 1):.9f}" in notes
    assert "ŷ1 ŷ2" in slides["t0-z2"][0] and "ŷ1 ŷ2" in slides["t0-a2"][0] and "y1 y2" in slides["t0-e2"][0]
    assert "Run the same example through" in slides["t0-step"][1]
    assert "prediction for its one example" in slides["t0-a2"][1]


def test_an_overshot_plateau_starts_where_the_error_stays_exactly(tmp_path):
    slides, trace = build(tmp_path, "fast", REPO / "decks" / "too-fast.toml", ["training.iterations=2000"])
    mae = np.asarray(trace.series("mae"))
    start = int(np.nonzero(mae != mae[-1])[0][-1] + 1)
    assert diagnose(trace)["iteration"] == start and mae[start - 1] != mae[-1]
    assert f"from iteration {start:,} on stays at exactly" in slides["curve"][1]
    assert f"From iteration {start:,} on it is stuck at exactly" in slides["overshot"][0]
    # which quantity went up, counted from the trace
    ups = int(np.sum(np.diff(mae) > 1e-9 * np.abs(mae[:-1])))
    assert f"the mean absolute error went up on {ups} steps" in slides["overshot"][0]
    if mae[1] < mae[0] and trace.value("loss", 1) > trace.value("loss", 0):
        assert "The mean absolute error fell" in slides["t0-step"][0]
    assert "none is a guess" not in slides["overshot"][1] and "slope is exactly 0" in slides["overshot"][1]
    assert "Every output is exactly 1 in floating point" in slides["predictions"][1]
    assert re.search(r'the slide .Training overshot. says why', slides["why-xor"][1])


def test_a_stuck_run_quotes_how_little_reaches_the_hidden_weights(tmp_path):
    slides, trace = build(tmp_path, "stuck", REPO / "decks" / "xor-stuck.toml", ["training.iterations=20000"])
    text = slides["stuck"][0]
    assert "barely reach the weights" not in text
    t = trace.last - 1
    d1 = np.abs(np.asarray(trace.get("d1", t)))
    quoted = re.search(r"hidden deltas no larger than ([\d.]+)×10⁻([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    assert quoted and d1.max() > 0
    value = float(quoted.group(1)) * 10.0 ** -int(quoted.group(2).translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")))
    assert value <= 1e-3 and abs(value - d1[[1, 3]].max()) / value < 0.05
    assert re.search(r"falls by only [\d.]+ in [\d,]+ iterations", text)
    assert re.search(r'the slide .Training got stuck. says why', slides["why-xor"][1])


def test_the_curve_says_by_when_most_of_the_fall_came(tmp_path):
    slides, trace = build(tmp_path, "trask", None, ["training.iterations=2000", "deck.checkpoints=1000"])
    mae = np.asarray(trace.series("mae"))[: trace.last]
    at = int(np.argmax(mae <= mae[0] - 0.9 * (mae[0] - mae[-1])))
    assert f"90% of it happens by iteration {at:,}" in slides["curve"][1]
    assert "straight downward slope" not in slides["curve"][1]
    assert f"90% of the error’s fall came by iteration {at:,}" in slides["end"][1].replace("'", "’")


def test_the_mini_batch_curve_compares_epoch_means(tmp_path):
    slides, _ = build(tmp_path, "mb", REPO / "decks" / "minibatch.toml")
    text = slides["curve"][0]
    assert "Mean per epoch from" in text and "after the final update" in text and "over all 4 rows" in text
    assert "at iteration 0 to" not in text


def test_the_units_line_names_the_rows_the_matrices_show(tmp_path):
    slides, _ = build(tmp_path, "penguins", REPO / "decks" / "penguins.toml", ["data.rows=[10, 100, 200, 300]"])
    text = slides["predictions"][0]
    line = text[text.index("In body_mass_g:"):]
    named = re.findall(r"row (\d+):", line)
    matrix = text[text.rindex("a 2 "):text.index("Predictions of")]
    shown = re.findall(r"(?:^|\s)(\d+) −?\d\.\d+", matrix)
    assert named and named == shown[: len(named)]


def test_example_rows_that_do_not_all_fit_cover_each_class_first():
    assert spread([0, 1, 50, 51, 100, 101], 3, (0, 0, 1, 1, 2, 2)) == [0, 50, 100]
    assert spread([0, 1, 50, 51, 100, 101], 4, (0, 0, 1, 1, 2, 2)) == [0, 1, 50, 100]
    assert pick(150, 3, (0, 1, 50, 51, 100, 101), (0, 0, 1, 1, 2, 2)) == [0, None, 50, None, 100, None]
    assert pick(150, 3, (0, 1, 50, 51, 100, 101)) == [0, 1, None, 101, None]     # no classes: as before


def test_the_article_goes_by_the_numbers_sound():
    assert [article(n) for n in (8, 11, 18, 80, 800, 11000, 1, 3, 110, 180, 18000)] == \
        ["An", "An", "An", "An", "An", "An", "A", "A", "A", "A", "An"]


def test_audience_slides_keep_keys_and_seeds_to_the_notes(tmp_path):
    slides, _ = build(tmp_path, "trask2", REPO / "decks" / "trask-2layer.toml")
    assert "Press" not in slides["title"][0] and "Esc" in slides["title"][1]
    assert "seed" not in slides["weights-0"][0] and "seed 1" in slides["weights-0"][1]
    assert "y y 4" not in slides["data"][0] and "l0 4 × 3" in slides["data"][0]

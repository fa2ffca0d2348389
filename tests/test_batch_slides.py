"""Mini-batches on the slides: rows labelled with the data's row numbers, the batch each explained iteration
used, the error curve's mean per epoch, and words that fit the batch."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from deckgen.config import load_config
from deckgen.core.trace import load_trace
from deckgen.data import load_dataset, resolve_layers
from deckgen.render.figures import mae_curve
from deckgen.run.traces import train_for
from deckgen.story import build_story
from deckgen.story.views import MatrixView, parse_number

from deckhelp import build_deck, parse_address, trace_cells

DATA = Path(__file__).resolve().parent / "data"
IRIS = Path(__file__).resolve().parent.parent / "decks" / "data" / "iris.csv"


def story_of(config):
    data = load_dataset(config)
    trace = train_for(config, data, resolve_layers(config, data))
    return data, trace, build_story(config, data, trace)


def penguins(tmp_path, extra: str = ""):
    """Penguins with gaps dropped, a fifth held out and batches of 8: positions in X are not file rows."""
    shutil.copy(DATA / "penguins-gaps.csv", tmp_path / "p.csv")
    (tmp_path / "deck.toml").write_text(
        '[data]\ncsv = "p.csv"\ntarget = ["species"]\nfeatures = ["bill_length_mm", "flipper_length_mm"]\n'
        'missing = "drop"\ntest_fraction = 0.2\n' + extra +
        '[network]\nlayers = ["auto", 3, "auto"]\n[training]\nlearning_rate = 0.1\niterations = 40\nbatch_size = 8\n'
        '[deck]\nexplain = [0, 1, 2]\ncheckpoints = 10\n', encoding="utf-8")
    return load_config(tmp_path / "deck.toml")


def labelled_rows(story):
    """``(slide id, matrix, label, row index)`` of every labelled row of a matrix with one row per example."""
    for slide in story.slides:
        for m in slide.matrices:
            if not isinstance(m, MatrixView) or not m.row_labels or m.transposed:
                continue
            for row in m.body:
                cells = [c for c in row.cells if c is not None]
                if cells:
                    yield slide.id, m, row.label, parse_address(cells[0].trace)[2]


def test_rows_are_labelled_with_the_files_row_numbers_while_data_trace_indexes_the_matrix(tmp_path):
    data, trace, story = story_of(penguins(tmp_path))
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as f:
        file = list(csv.DictReader(f))
    seen, differ = 0, 0
    for slide_id, m, label, r in labelled_rows(story):
        t = m.iteration
        rows = trace.batch_rows(t)
        assert 0 <= r < len(rows) == trace.get(m.name, t).shape[0], (slide_id, m.name)   # the matrix's own index
        assert label == str(data.file_rows[rows.start + r]), (slide_id, m.name, r)
        if m.name == "X":   # and the labelled file row really holds that row's raw values
            raw = data.raw[rows.start + r]
            assert raw[0] == file[int(label)]["bill_length_mm"] and raw[1] == file[int(label)]["flipper_length_mm"]
        seen += 1
        differ += label != str(rows.start + r)
    assert seen > 50 and differ > 10


def test_worked_cells_chain_rule_and_neuron_name_their_file_row(tmp_path):
    data, trace, story = story_of(penguins(tmp_path))
    slides = {s.id: s for s in story.slides}
    start = trace.batch_rows(1).start
    for w in slides["t1-z1"].worked:
        r = int(w.target.partition(":")[2].partition(",")[0])
        assert w.where.startswith(f"row {data.file_rows[start + r]}, ")
    chain = next(s for s in story.slides if "-chain-" in s.id)
    assert [row["label"] for row in chain.ctx["rows"]] == [str(data.file_rows[i]) for i in range(len(chain.ctx["rows"]))]
    assert slides["one-neuron"].ctx["example"] == str(data.file_rows[0])


def test_data_rows_show_the_batchs_rows_or_its_first(tmp_path):
    config = load_config(None, [f'data.csv="{IRIS}"', 'data.target=["species"]', "data.rows=[0,1,50,51,100,101]",
                                "network.layers=[4,3,3]", "training.iterations=40", "training.batch_size=16",
                                "deck.explain=[1,3]", "deck.checkpoints=20"])
    _, trace, story = story_of(config)
    labels = {}
    for slide_id, m, label, _ in labelled_rows(story):
        if m.name == "X":
            labels.setdefault(slide_id, []).append(label)
    assert labels["data"] == ["0", "1", "50", "51", "100", "101"]     # the whole data: X at T
    assert labels["t3-z1"] == ["50", "51"]                             # batch 4 is rows 48-63
    assert labels["t1-z1"][:3] == ["16", "17", "18"]                   # none of them in rows 16-31: its first rows
    divider = next(s for s in story.slides if s.id == "t3").ctx["batch"]
    assert (divider["rows"], divider["batch"], divider["batches"], divider["epoch"]) == ("48\u201363", "4", "10", "1")


@pytest.fixture(scope="module")
def minibatch(tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "minibatch"
    cfg, _ = build_deck(out, Path(__file__).resolve().parent.parent / "decks" / "minibatch.toml")
    return cfg, (out / "index.html").read_text(encoding="utf-8"), load_trace(out), out


def section(html: str, slide_id: str) -> str:
    return re.search(rf'<section id="{slide_id}".*?</section>', html, re.S).group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_explained_iteration_names_its_batchs_rows(minibatch):
    _, html, trace, _ = minibatch
    assert "rows 0, 1 (batch 1 of 2, epoch 1)" in text_of(section(html, "t0"))
    assert "rows 2, 3 (batch 2 of 2, epoch 1)" in text_of(section(html, "t1"))
    assert "noisier" in section(html, "t1")
    z1 = section(html, "t1-z1")
    assert re.findall(r'<th scope="row">(?:<span class="name">)?(\d+)(?:</span>)?</th>', z1) == ["2", "3"] * 2      # X and z1, rows 2 and 3 of the data
    for address, _ in trace_cells(z1):     # every number of iteration 1 is of its two rows
        name, t, row, _ = parse_address(address)
        if name in ("X", "z1"):
            assert t == 1 and row in (0, 1)


def test_words_count_the_batch_not_the_data(minibatch):
    _, html, _, _ = minibatch
    for slide_id in ("t0-dW1", "t0-dW2", "t1-dW1"):
        notes = text_of(section(html, slide_id))
        assert "over the 2 examples of this batch" in notes and "all examples" not in notes
    data_notes = text_of(section(html, "data"))
    assert "mini-batch of 2 rows" in data_notes and "It sees all examples at once" not in data_notes
    assert "Trask's program prints" not in html      # his program trains on every row
    heading = section(html, "checkpoint-5000")
    assert "Batch rows" in heading and "<td>0, 1</td>" in heading     # each error names the rows it is on


def test_the_step_slide_measures_the_same_batch_after_the_update(minibatch):
    _, html, trace, _ = minibatch
    step = section(html, "t1-step")
    X, y = trace.get("X", 1), trace.get("y", 1)
    h = 1 / (1 + np.exp(-(X @ trace.get("W1", 2))))              # an independent forward pass of rows 2 and 3
    a = 1 / (1 + np.exp(-(h @ trace.get("W2", 2))))
    cells = re.findall(r"<td>([^<]*)</td>", step)
    assert [parse_number(c) for c in cells] == pytest.approx([0.5 * np.sum((y - a) ** 2), np.mean(np.abs(y - a))], rel=5e-3)
    assert "loss@2" not in step and "its batch again" in step


def test_the_curve_has_the_mean_per_epoch_with_batches_and_not_without(minibatch, tmp_path):
    _, html, trace, out = minibatch
    svg = (out / "figures" / "mae.svg").read_text(encoding="utf-8")
    assert "<!-- mean over each epoch -->" in svg and "<!-- each iteration (on its batch) -->" in svg
    curve = text_of(section(html, "curve"))
    assert "mean over each epoch" in curve and "noisy" in curve
    means = trace.series("mae")[:20000].reshape(-1, 2).mean(axis=1)
    assert f"from {means[0]:.3f} (first epoch) to " in curve
    plain = load_config(None, ["training.iterations=50", "deck.checkpoints=10"])
    data = load_dataset(plain)
    mae_curve(train_for(plain, data, resolve_layers(plain, data)), {"checkpoints": [0, 10]}, tmp_path / "m.svg")
    assert "epoch" not in (tmp_path / "m.svg").read_text(encoding="utf-8")


def test_the_trouble_slide_counts_epochs_not_noisy_batch_steps(tmp_path):
    out = tmp_path / "fast"
    build_deck(out, Path(__file__).resolve().parent.parent / "decks" / "too-fast.toml", "training.batch_size=2")
    html = (out / "index.html").read_text(encoding="utf-8")
    trouble = text_of(section(html, "overshot"))
    assert re.search(r"averaged over each epoch .* rose on \d+ epochs?, the first in the epoch right after iteration", trouble)
    assert "on 1 step" not in trouble and " steps, the first" not in trouble

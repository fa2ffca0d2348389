"""Real data, honestly: gaps dropped or filled on purpose, rows held out that training never sees, and
results slides whose numbers are recomputed here from the trace. ``deckgen new`` then ``build`` on real files."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from deckgen.config import load_config
from deckgen.data import load_dataset, resolve_layers
from deckgen.run.traces import train_for
from deckgen.story import build_story

DATA = Path(__file__).resolve().parent / "data"


def deckgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deckgen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def real(tmp_path) -> Path:
    for name in ("cancer-wide.csv", "penguins-gaps.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def write_deck(folder: Path, body: str) -> Path:
    path = folder / "deck.toml"
    path.write_text(body, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- new, then build, through the CLI

def test_new_then_build_on_a_wide_real_csv(real):
    made = deckgen("new", "cancer", "--data", "cancer-wide.csv", "--target", "diagnosis", cwd=real)
    assert made.returncode == 0, made.stderr
    text = (real / "decks" / "cancer.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)["data"]
    assert len(table["features"]) == 4 and table["test_fraction"] == 0.2
    assert "The other 26:" in text                       # the rest listed, to train on them too
    built = deckgen("build", "decks/cancer.toml", "-o", "out", cwd=real)
    assert built.returncode == 0, built.stderr
    html = (real / "out" / "index.html").read_text(encoding="utf-8")
    assert "on the 96 training rows" in html and "on the 24 held-out test rows" in html
    assert "24 held out for testing" in built.stdout


def test_new_on_a_csv_with_gaps_writes_a_deck_that_builds_and_names_them(real):
    made = deckgen("new", "peng", "--data", "penguins-gaps.csv", "--target", "species", cwd=real)
    assert made.returncode == 0, made.stderr
    text = (real / "decks" / "peng.toml").read_text(encoding="utf-8")
    assert "# Columns with gaps (empty or NA cells): bill_length_mm" in text
    assert tomllib.loads(text)["data"]["missing"] == "drop"
    built = deckgen("build", "decks/peng.toml", "-o", "out", cwd=real)
    assert built.returncode == 0, built.stderr
    assert "with a gap left out" in built.stdout
    # the same deck without the key: build stops, each line one problem that names the key
    failed = deckgen("build", "decks/peng.toml", "-o", "out2", "--set", 'data.missing="error"', cwd=real)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert lines[0].startswith("deckgen: error: ") and "penguins-gaps.csv:5:" in lines[0]
    assert 'data.missing = "drop"' in lines[0]


# --------------------------------------------------------------------------- data.missing

GAPS = "a,b,y\n1,10,0\n,20,1\n3,NA,0\n5,40,1\n7,50,0\n"


def test_drop_leaves_out_every_row_with_a_gap(tmp_path):
    (tmp_path / "g.csv").write_text(GAPS, encoding="utf-8")
    config = load_config(write_deck(tmp_path, '[data]\ncsv = "g.csv"\ntarget = ["y"]\nmissing = "drop"\nscale = "none"\n'))
    data = load_dataset(config)
    assert data.dropped == 2 and data.file_rows == (0, 3, 4)
    assert data.X.tolist() == [[1, 10], [5, 40], [7, 50]]


def test_mean_fills_a_number_gap_with_the_mean_of_the_training_rows(tmp_path):
    (tmp_path / "g.csv").write_text(GAPS, encoding="utf-8")
    config = load_config(write_deck(tmp_path, '[data]\ncsv = "g.csv"\ntarget = ["y"]\nmissing = "mean"\nscale = "none"\n'))
    data = load_dataset(config)
    assert data.dropped == 0 and data.filled == 2
    assert data.X[1, 0] == pytest.approx(np.mean([1, 3, 5, 7]))
    assert data.X[2, 1] == pytest.approx(np.mean([10, 20, 40, 50]))
    held = load_dataset(config.with_overrides({"data.test_fraction": 0.4}))        # means of training rows only
    rows = dict(zip(held.file_rows, held.X[:, 0]))
    known = [v for r, v in zip(held.file_rows, held.X[:, 0]) if r != 1]
    if 1 in rows:
        assert rows[1] == pytest.approx(np.mean(known))


# --------------------------------------------------------------------------- data.test_fraction

def cancer_config(folder: Path, extra: str = "") -> Path:
    shutil.copy(DATA / "cancer-wide.csv", folder / "c.csv")
    return write_deck(folder, '[data]\ncsv = "c.csv"\ntarget = ["diagnosis"]\n'
                      'features = ["worst radius", "worst concave points", "mean concave points", "worst perimeter"]\n'
                      'test_fraction = 0.2\n[training]\nlearning_rate = 0.05\niterations = 600\n'
                      '[deck]\ncheckpoints = 300\n' + extra)


def test_held_out_rows_are_never_in_training_and_the_split_is_seed_stable(tmp_path):
    config = load_config(cancer_config(tmp_path))
    data = load_dataset(config)
    assert data.n_test == 24 and data.n_examples == 96
    assert not set(data.file_rows) & set(data.file_rows_test)
    assert sorted(data.file_rows + data.file_rows_test) == list(range(120))
    train_rows = {tuple(r) for r in data.X}
    assert not any(tuple(r) in train_rows for r in data.X_test)
    again = load_dataset(load_config(cancer_config(tmp_path)))
    assert again.file_rows_test == data.file_rows_test
    other = load_dataset(config.with_overrides({"training.seed": 2}))
    assert other.file_rows_test != data.file_rows_test


def test_a_held_out_row_cannot_be_shown(tmp_path):
    from deckgen.errors import ConfigError

    config = load_config(cancer_config(tmp_path))
    test_row = load_dataset(config).file_rows_test[0]
    with pytest.raises(ConfigError, match=f"row {test_row} is held out for testing"):
        load_dataset(config.with_overrides({"data.rows": [test_row]}))


def story_of(config):
    data = load_dataset(config)
    trace = train_for(config, data, resolve_layers(config, data))
    return data, trace, build_story(config, data, trace)


def test_accuracies_and_confusion_tables_are_the_traces(tmp_path):
    config = load_config(cancer_config(tmp_path))
    data, trace, story = story_of(config)
    t = trace.heldout_at
    assert t == trace.iterations
    slide = next(s for s in story.slides if s.template == "slides/confusion.html")
    for table, (out, target) in zip(slide.ctx["tables"], (("a2", "y"), ("atest", "ytest"))):
        a, y = trace.get(out, t), trace.get(target, t)
        right = int(np.sum(a.argmax(axis=1) == y.argmax(axis=1)))
        assert table["right"] == str(right) and table["rows_text"] == str(len(y))
        assert table["accuracy"] == f"{right / len(y) * 100:.1f}%"
        counts = [[int(c["text"]) for c in row["cells"]] for row in table["body"]]
        assert sum(map(sum, counts)) == len(y) and sum(counts[i][i] for i in range(len(counts))) == right
    # the forward pass on the held-out rows is the network's own: on the training rows it gives a2 bit for bit
    from deckgen.core.forward import forward
    assert np.array_equal(forward(trace, trace.get("X", t), t), trace.get("a2", t))
    mistakes = next((s for s in story.slides if s.template == "slides/mistakes.html"), None)
    if mistakes is not None:
        raw = {r: row for r, row in zip(data.file_rows_test, data.raw_test)}
        raw.update(zip(data.file_rows, data.raw))
        for row in mistakes.ctx["rows"]:
            assert row["inputs"] == raw[int(row["label"])][:4]          # as in the file, not scaled


def test_the_light_trace_keeps_the_held_out_rows(tmp_path):
    from deckgen import build, load_trace

    config = load_config(cancer_config(tmp_path))
    build(config, tmp_path / "out")
    trace = load_trace(tmp_path / "out")
    assert trace.kind == "light" and trace.get("atest", trace.heldout_at).shape == (24, 2)
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    for cell in re.findall(r'data-trace="atest@(\d+):(\d+),(\d+)">([^<]+)<', html):
        t, r, c, text = int(cell[0]), int(cell[1]), int(cell[2]), cell[3]
        assert text == f"{trace.value('atest', t, r, c):.3f}"


def test_a_number_target_is_shown_in_its_own_units(tmp_path):
    shutil.copy(DATA / "penguins-gaps.csv", tmp_path / "p.csv")
    config = load_config(write_deck(tmp_path, '[data]\ncsv = "p.csv"\ntarget = ["body_mass_g"]\n'
                                    'features = ["flipper_length_mm", "bill_length_mm"]\nmissing = "drop"\n'
                                    'test_fraction = 0.2\n[training]\nlearning_rate = 0.05\niterations = 300\n'
                                    '[deck]\ncheckpoints = 100\n'))
    data, trace, story = story_of(config)
    slide = next(s for s in story.slides if s.template == "slides/results.html")
    assert slide.ctx["name"] == "body_mass_g" and slide.ctx["set_words"] == "held-out test rows"
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as f:
        masses = [row["body_mass_g"] for row in csv.DictReader(f)]
    for row in slide.ctx["rows"]:
        assert row["true"] == masses[int(row["label"])]
        r, t = int(row["output"].trace.split(":")[1].split(",")[0]), trace.heldout_at
        lo, hi = data.target_range[0]
        assert float(row["predicted"]) == pytest.approx(lo + trace.value("atest", t, r, 0) * (hi - lo), abs=0.5)

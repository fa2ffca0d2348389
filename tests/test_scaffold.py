"""deckgen new: a commented deck file, inferred from the data, that builds as it stands."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.pipeline import build
from deckgen.commands.cli import cli
from deckgen.config import load_config
from deckgen.data import load_dataset, resolve_layers
from deckgen.run.traces import train_for
from deckgen.story import build_story
from deckgen.resources import decks_dir
from deckgen.commands.new import learning_rate_for, new_deck, summarize_csv

FAST = ["training.iterations=200", "deck.checkpoints=100"]


@pytest.fixture
def iris(tmp_path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(decks_dir() / "data" / "iris.csv", data / "iris.csv")
    return data / "iris.csv"


def test_new_without_data_is_the_builtin_talk_and_builds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new", "talk"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "decks" / "talk.toml"
    text = path.read_text(encoding="utf-8")
    assert "Wrote decks/talk.toml" in result.output
    table = tomllib.loads(text)
    assert table["data"]["dataset"] == "trask" and table["network"]["layers"] == [3, 4, 1]
    assert sum(1 for line in text.splitlines() if "#" in line) >= 15           # fully commented
    build(load_config(path, FAST), tmp_path / "out")
    assert (tmp_path / "out" / "index.html").is_file()


def test_new_from_a_csv_infers_target_layers_and_rate_and_builds(tmp_path, iris, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new", "flowers", "--data", "data/iris.csv", "--target", "species"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "decks" / "flowers.toml"
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    assert table["data"]["csv"] == "../data/iris.csv"                  # relative to the deck file
    assert table["data"]["target"] == ["species"]
    assert table["network"]["layers"][0] == "auto" and table["network"]["layers"][-1] == "auto"
    text = path.read_text(encoding="utf-8")
    assert "tried by `deckgen new`: the error fell" in text            # a rate trained until it converged
    assert table["data"]["test_fraction"] == 0.2
    config = load_config(path, FAST)
    data = load_dataset(config)
    shown = data.y[list(data.rows)].argmax(axis=1)
    assert len(table["data"]["rows"]) <= 4 and len(set(shown)) == 3     # a row of each species, all training rows
    result = build(config, tmp_path / "out")
    assert result.slides > 10


def test_the_target_defaults_to_the_last_column(iris):
    summary = summarize_csv(iris)
    assert summary.target == ("species",) and summary.classes == ("setosa", "versicolor", "virginica")
    assert summary.features == ("sepal_length", "sepal_width", "petal_length", "petal_width")


def test_an_existing_file_is_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "mine.toml").write_text("# my own\n")
    result = CliRunner().invoke(cli, ["new", "mine"])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert (tmp_path / "decks" / "mine.toml").read_text() == "# my own\n"


@pytest.mark.parametrize("args, message", [
    (["new", "x", "--data", "data/iris.csv", "--target", "specie"], "did you mean 'species'"),
    (["new", "x", "--data", "data/none.csv"], "file not found"),
    (["new", "x", "--target", "species"], "--target needs --data"),
    (["new", "../escape"], "not a usable deck name"),
    (["new", "talk.toml"], "use 'talk'"),
])
def test_mistakes_are_reported_in_one_line(args, message, tmp_path, iris, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deckgen: error: ") and message in lines[0], result.output
    assert " — " in lines[0]
    assert not (tmp_path / "decks" / "x.toml").exists()


def test_learning_rate_shrinks_with_more_rows():
    assert learning_rate_for(4) == 1.0
    assert learning_rate_for(150) == 0.05
    assert learning_rate_for(5000) == 0.002


def test_semicolon_csv_and_numeric_target(tmp_path):
    data = tmp_path / "m.csv"
    data.write_text("a;b;y\n1;2;0\n3;4;1\n5;6;1\n", encoding="utf-8")
    path = new_deck("m", data=data, folder=tmp_path / "decks")
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    assert table["data"]["target"] == ["y"]
    assert "0 or 1: one output, trained towards each row's 0 or 1" in path.read_text(encoding="utf-8")
    config = load_config(path, FAST)
    assert build(config, tmp_path / "out").slides > 10


@pytest.mark.parametrize("csv, target, title, note", [
    ("age,smoker,passed\n30,yes,yes\n40,no,no\n50,yes,no\n", ["passed"],
     "passed: yes or no? A network learns from 2 columns", "text: one output per value (yes, no)"),
    ("a,b,y\n1,2,1\n3,4,0\n5,6,1\n", ["y"], "y: 0 or 1? A network learns from 2 columns",
     "0 or 1: one output, trained towards each row's 0 or 1"),
    ("a,b,grade\n1,2,2\n3,4,1\n5,6,2\n", ["grade"], "grade: 1 or 2? A network learns from 2 columns",
     "1 or 2: one output, scaled so that 1 is 0 and 2 is 1"),
    ("a,b,kind\n1,2,cat\n3,4,dog\n5,6,bird\n", ["kind"], "Which kind? A network learns from 2 columns",
     "text: one output per value (cat, dog, bird)"),
    ("a,b,price\n1,2,3.5\n3,4,10\n5,6,7\n", ["price"], "Predicting price: a network learns from 2 columns",
     "numbers: one output, scaled to 0–1 for training; predictions shown in the column's units"),
    ("a,b,p\n1,2,0.25\n3,4,0.5\n5,6,0.75\n", ["p"], "Predicting p: a network learns from 2 columns",
     "numbers from 0 to 1 already: one output"),
    ("a,b,c\n1,x,3\n3,y,4\n5,x,5\n", ["b", "c"], "Predicting b and c: a network learns from 1 column",
     "one output per number column (scaled to 0–1), one per value of b"),
])
def test_the_title_and_target_note_suit_the_kind_of_target(tmp_path, csv, target, title, note):
    data = tmp_path / "d.csv"
    data.write_text(csv, encoding="utf-8")
    path = new_deck("d", data=data, target=tuple(target), folder=tmp_path / "decks")
    text = path.read_text(encoding="utf-8")
    assert tomllib.loads(text)["title"] == title
    assert f"# {note}" in text
    assert "(3 rows, 3 columns)" in text
    # the file works as it stands: it loads, trains and makes slides (rendering them is the
    # same for every kind of target, and the full builds above and below cover it)
    config = load_config(path, FAST)
    data = load_dataset(config)
    trace = train_for(config, data, resolve_layers(config, data))
    assert len(build_story(config, data, trace).slides) > 10


def test_a_one_row_file_stops_new_with_the_error_build_would_give(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.csv").write_text("a,y\n1,0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["new", "one", "--data", "one.csv"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "the same value, 0, in every row" in lines[0], result.output
    assert not (tmp_path / "decks" / "one.toml").exists()          # no deck that would not build


# --------------------------------------------------------------------------- new reads a CSV as build does

def new_and_build(tmp_path: Path, csv: bytes, monkeypatch):
    """``deckgen new`` from ``csv``, then the deck it wrote loaded by build's own loader."""
    from deckgen.data import load_dataset

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_bytes(csv)
    result = CliRunner().invoke(cli, ["new", "t", "--data", "d.csv"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "decks" / "t.toml").read_text(encoding="utf-8")
    tomllib.loads(text)                       # every file new writes parses
    return text, load_dataset(load_config(tmp_path / "decks" / "t.toml"))


def test_a_del_character_in_a_column_name_still_gives_a_deck_that_parses(tmp_path, monkeypatch):
    text, data = new_and_build(tmp_path, "a\x7fb,c,y\n1,2,p\n3,4,q\n5,6,p\n".encode(), monkeypatch)
    assert "a\\u007fb" in text
    assert data.feature_names[0] == "a\x7fb"


def test_a_pipe_separated_csv_is_read_the_same_by_new_and_build(tmp_path, monkeypatch):
    text, data = new_and_build(tmp_path, b"a|b|y\n1|2|0\n3|4|1\n5|6|1\n", monkeypatch)
    assert 'target = ["y"]' in text
    assert data.feature_names == ("a", "b") and data.X.shape == (3, 2)


def test_a_quoted_newline_in_a_class_name_stays_one_class(tmp_path, monkeypatch):
    text, data = new_and_build(tmp_path, b'a,y\n1,"cat\nx"\n2,dog\n3,"cat\nx"\n', monkeypatch)
    assert "cat\\nx, dog" in text           # escaped in the comment, which cannot break a line
    assert "catx" not in text
    assert data.class_names == ("cat\nx", "dog")


@pytest.mark.parametrize("csv, where", [
    (b"a,y\n1,2\n3\n", "d.csv:3: this row has 1 field but the header has 2"),
    (b'a,y\n1,"open\n', "d.csv:2:3: this quoted field is never closed"),
    (b"\xff\xfe", "d.csv: the file is UTF-16 text"),
    (b"a,y\n", "d.csv:1: the file has a header line but no data rows"),
])
def test_new_reports_data_errors_with_their_place_and_what_to_do(tmp_path, monkeypatch, csv, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_bytes(csv)
    result = CliRunner().invoke(cli, ["new", "t", "--data", "d.csv"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and " — " in lines[0], result.output
    assert not (tmp_path / "decks" / "t.toml").exists()

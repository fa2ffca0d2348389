"""deckgen new: a commented deck file, inferred from the data, that builds as it stands."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.build import build
from deckgen.cli import cli
from deckgen.config import load_config
from deckgen.resources import decks_dir
from deckgen.scaffold import learning_rate_for, new_deck, summarize_csv

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
    assert table["training"]["learning_rate"] == 0.05                  # 150 rows
    assert set(table["data"]["rows"]) == {0, 1, 50, 51, 100, 101}     # two of each species
    config = load_config(path, FAST)
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
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deckgen: error: ") and message in lines[0], result.output
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
    assert "scaled to 0–1, the range of the sigmoid output" in path.read_text(encoding="utf-8")
    config = load_config(path, FAST)
    assert build(config, tmp_path / "out").slides > 10

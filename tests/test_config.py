"""Deck config: reading, ``--set`` overrides, and validation that reports every problem at once."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import deckgen
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deckgen.config import FIELDS, Config, load_config, parse_override, validate
from deckgen.errors import ConfigError, DeckgenError

REPO = Path(__file__).resolve().parent.parent
LOCATION = re.compile(r"^(--set [\w.]+|[^:]+(:\d+(:\d+)?)?): .+ — .+$")


def write(tmp_path: Path, text: str, name: str = "deck.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path, overrides=()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, list(overrides))
    return info.value.messages


def test_the_shipped_decks_are_valid():
    for path in sorted((REPO / "decks").glob("*.toml")):
        config = load_config(path)
        assert config.name == path.stem
        assert config.source == path.resolve()


def test_defaults_and_overrides(tmp_path):
    path = write(tmp_path, '[training]\nlearning_rate = 0.5\n')
    config = load_config(path, ["training.iterations=100", "deck.theme=black", "network.layers=[3, 8, 1]"])
    assert config.training.learning_rate == 0.5
    assert config.training.iterations == 100
    assert config.deck.theme == "black"
    assert config.network.layers == (3, 8, 1)
    assert config.data.dataset == "trask"


def test_where_names_the_line_or_the_override(tmp_path):
    path = write(tmp_path, 'title = "t"\n\n[training]\nseed = 2\nlearning_rate = 0.5\n')
    config = load_config(path, ["training.iterations=10"])
    assert config.where("training.learning_rate") == f"{path}:5"
    assert config.where("training.iterations") == "--set training.iterations"
    assert config.where("deck.theme") == str(path)


def test_lines_are_found_for_dotted_and_inline_keys(tmp_path):
    path = write(tmp_path, 'training.seed = "x"\nnetwork = { layers = 5 }\n')
    got = errors_of(path)
    assert any(m.startswith(f"{path}:1: training.seed:") for m in got), got
    assert any(m.startswith(f"{path}:2: network.layers:") for m in got), got


def test_finding_a_line_is_linear_in_the_length_of_a_line(tmp_path):
    # lines inside a multi-line string are looked at too; a pattern that backtracked over their
    # blanks would take hours on these
    blanks = " " * 300_000
    path = write(tmp_path, f'title = """\na{blanks}b\n[{blanks}x\n[[ a{blanks}]] junk\n"""\n[training]\nseed = "x"\n')
    got = errors_of(path)
    assert any(m.startswith(f"{path}:7: training.seed:") for m in got), got


def test_table_headers_and_keys_are_found_with_blanks_quotes_and_comments(tmp_path):
    path = write(tmp_path, '[ "training" ]  # the run\n seed = "x"\n[[ deck.extra ]]\n')
    got = errors_of(path)
    assert any(m.startswith(f"{path}:2: training.seed:") for m in got), got


def test_every_problem_is_reported_at_once_each_in_the_same_form(tmp_path):
    path = write(tmp_path, "\n".join([
        'titel = "x"',
        "[network]",
        'layers = [3, "auto", 1]',
        'activation = "softmax"',
        "[training]",
        "learning_rate = -1",
        "iterations = 0",
        "memory_budget_mb = 0",
        "[deck]",
        "precision = 20",
        "explain = [-1]",
        "checkpoints = 0",
        'theme = 3',
        "[whatever]",
        "x = 1",
    ]) + "\n")
    got = errors_of(path, ["training.seed=-4"])
    assert len(got) == 12, got
    for message in got:
        assert LOCATION.match(message), message
    assert f"{path}:1: unknown key 'titel' (did you mean 'title'?)" in got[0]
    assert any("unknown section [whatever]" in m and f"{path}:14:" in m for m in got)
    assert any(m.startswith("--set training.seed: -4 is out of range") for m in got)


@pytest.mark.parametrize("text, fragment", [
    ("[training]\niterations = 5\n[deck]\nexplain = [5]\n", "deck.explain: iteration 5 is past the end"),
    ("[training]\niterations = 5\n[deck]\ncheckpoints = [2, 9]\n", "deck.checkpoints: iteration 9 is past the end"),
    ("[data]\ninputs = [[0, 1]]\n", "data.inputs and data.targets go together"),
    ("[data]\ninputs = [[0, 1], [1, 0]]\ntargets = [[1]]\n", "data.targets has 1 row but data.inputs has 2"),
    ("[data]\ninputs = [[0, 1], [1, 1]]\ntargets = [[1], [0]]\ndataset = \"xor\"\n", "data.dataset and data.inputs both given"),
    ('[data]\ntarget = ["y"]\n', "data.target only applies to CSV data"),
    ('[data]\nscale = "standard"\n', "data.scale only applies to CSV data"),
    ("[network]\nlayers = [2, 3]\nweights = [[[1, 2, 3]], [[1]]]\n", "has 2 matrices but layers [2, 3] need 1"),
    ("[network]\nlayers = [2, 3]\nweights = [[[1, 2], [3, 4]]]\n", "has shapes 2x2 but layers [2, 3] need 2x3"),
    ('[network]\nlayers = ["auto", 2, 1]\nweights = [[[1, 2]], [[1], [2], [3]]]\n',
     "has shapes 1x2, 3x1 but layers ['auto', 2, 1] need ?x2, 2x1 (? is a width taken from the data)"),
    ("[network]\nbias = true\nlayers = [2, 3, 1]\nbiases = [[0, 0], [0]]\n", "network.biases has lengths [2, 1]"),
    ("[network]\nweights = [[[1, 2], [3]]]\n", "row 2 has 1 value, row 1 has 2"),
    ("[network]\nlayers = [3]\n", "at least two layer sizes"),
    ('[network]\nlayers = [3, "auto", 1]\n', 'layer 1 size \'auto\' is not allowed'),
    ("[data]\ncsv = \"\"\ntarget = [\"y\"]\n", "'' is not a usable path"),
    ('[deck]\ncompare = [{ "training.learnin_rate" = 0.1 }]\n', "variant 1: unknown key 'training.learnin_rate'"),
    ('[deck]\ncompare = [{ "training.learning_rate" = -1 }]\n', "variant 1: training.learning_rate: -1"),
    ("data = 3\n", "data: expected a table, got 3"),
])
def test_cross_key_and_shape_checks(tmp_path, text, fragment):
    got = errors_of(write(tmp_path, text))
    assert any(fragment in m for m in got), got
    assert all(LOCATION.match(m) for m in got), got


def test_toml_syntax_errors_give_line_and_column(tmp_path):
    path = write(tmp_path, '[training]\nseed = 1\nlearning_rate = [1,\n')
    (message,) = errors_of(path)
    assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: TOML syntax error: .+ — fix the syntax there$", message)


def test_missing_and_unreadable_deck_files(tmp_path):
    (message,) = errors_of(tmp_path / "nope.toml")
    assert message.startswith(f"{tmp_path / 'nope.toml'}: file not found — ")
    (message,) = errors_of(tmp_path)
    assert "cannot read the file (IsADirectoryError)" in message
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b'title = "caf\xe9"\n')
    (message,) = errors_of(bad)
    assert message.startswith(f"{bad}:1:13: not UTF-8 text")


def test_bad_overrides_join_the_report(tmp_path):
    path = write(tmp_path, "[training]\nlearning_rate = 0\n")
    got = errors_of(path, ["nonsense", "training.seed=[1,", "deck.explain=[0]"])
    assert got[0].startswith("--set nonsense: expected KEY=VALUE")
    assert got[1].startswith("--set training.seed=[1,: ")
    assert any("training.learning_rate: 0 must be a positive number" in m for m in got)


@pytest.mark.parametrize("text, message", [
    ("[training]\niterations = 1.5\n", "deck.toml:2: training.iterations: expected a whole number, got 1.5 — "),
    ('[training]\nlearning_rate = "fast"\n', 'training.learning_rate: expected a number, got "fast" — '),
    ("[network]\nbias = 1\n", "network.bias: expected true or false, got 1 — "),
    ("title = [1, 2]\n", "title: expected a string, got [1, 2] — "),
])
def test_a_wrong_type_names_the_value_given(tmp_path, text, message):
    (got,) = errors_of(write(tmp_path, text))
    assert message in got, got


def test_a_bad_set_value_names_its_key_once(tmp_path):
    (got,) = errors_of(write(tmp_path, ""), ["training.learning_rate=abc"])
    assert got == ('--set training.learning_rate: expected a number, got "abc" — write a number like 0.5')


def test_with_overrides_validates_like_set_and_keeps_where_the_rest_was_set(tmp_path):
    path = write(tmp_path, '[training]\nseed = 2\niterations = 100\n')
    config = load_config(path)
    changed = config.with_overrides({"training.learning_rate": 0.1, "network": {"layers": [3, 8, 1]}})
    assert changed.training.learning_rate == 0.1 and changed.network.layers == (3, 8, 1)
    assert changed.training.seed == 2 and changed.training.iterations == 100
    assert changed.source == config.source and changed.name == config.name
    assert changed.where("training.seed") == f"{path}:2"
    assert config.with_overrides({}) == config
    with pytest.raises(ConfigError) as err:
        config.with_overrides({"training.learning_rate": "abc", "training.seedd": 1})
    assert err.value.messages[0] == ('override training.learning_rate: expected a number, got "abc" — '
                                     "write a number like 0.5")
    assert "did you mean 'training.seed'" in err.value.messages[1]
    with pytest.raises(ConfigError, match="deck.toml:9: here: training.iterations: 0 is out of range"):
        config.with_overrides({"training.iterations": 0}, origin="deck.toml:9: here")


def test_with_overrides_replaces_the_data_source(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,p\n2,1,q\n", encoding="utf-8")
    trask = load_config(write(tmp_path, '[data]\ndataset = "trask"\n'))
    csv = trask.with_overrides({"data.csv": "d.csv", "data.target": ["y"]})
    assert csv.data.dataset is None and csv.data.csv == tmp_path / "d.csv"    # relative to the deck file's folder
    back = csv.with_overrides({"data.dataset": "xor"})                       # the CSV-only keys go with the CSV
    assert back.data.dataset == "xor" and back.data.csv is None and back.data.target == ()
    literal = csv.with_overrides({"data.inputs": [[0], [1]], "data.targets": [[1], [0]]})
    assert literal.data.csv is None and literal.data.dataset is None and literal.data.inputs == ((0.0,), (1.0,))


def test_a_dataset_given_with_set_replaces_a_csv_and_its_settings(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,p\n2,q\n", encoding="utf-8")
    path = write(tmp_path, '[data]\ncsv = "d.csv"\ntarget = ["y"]\nscale = "none"\n')
    config = load_config(path, ["data.dataset=xor"])
    assert config.data.dataset == "xor" and config.data.csv is None and config.data.target == ()


def test_override_values_are_toml_or_bare_words():
    assert parse_override("deck.theme=black") == ("deck.theme", "black")
    assert parse_override("data.csv=data/my file.csv") == ("data.csv", "data/my file.csv")
    assert parse_override("network.layers=[3, 8, 1]") == ("network.layers", [3, 8, 1])
    assert parse_override("training.learning_rate=1e-2") == ("training.learning_rate", 0.01)


def test_a_data_source_given_with_set_replaces_the_files(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,p\n2,q\n", encoding="utf-8")
    path = write(tmp_path, '[data]\ndataset = "xor"\n')
    config = load_config(path, [f"data.csv={tmp_path / 'd.csv'}", 'data.target=["y"]'])
    assert config.data.dataset is None and config.data.csv == tmp_path / "d.csv"


def test_paths_are_relative_to_the_deck_file_but_to_the_current_folder_with_set(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub", '[data]\ncsv = "d.csv"\ntarget = ["y"]\n')
    (tmp_path / "sub" / "d.csv").write_text("a,y\n1,p\n2,q\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_config(path).data.csv == tmp_path / "sub" / "d.csv"
    assert load_config(path, ["data.csv=other.csv"]).data.csv == tmp_path / "other.csv"


def test_config_errors_and_csv_errors_arrive_together(tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,p\nx,q,3\n", encoding="utf-8")
    path = write(tmp_path, '[data]\ncsv = "d.csv"\ntarget = ["why"]\n[training]\niterations = 0\n')
    with pytest.raises(ConfigError) as info:
        deckgen.load_config(path)          # the public loader adds the data stage's report on the CSV file
    got = "\n".join(info.value.messages)
    assert f"{path}:5: training.iterations: 0 is out of range" in got
    assert "d.csv:3: this row has 3 fields but the header has 2" in got
    assert f"{path}:3: data.target: no column 'why'" in got


def test_the_key_list_covers_every_config_field():
    from dataclasses import fields

    from deckgen.config import SECTIONS as _SECTIONS

    for section, cls in _SECTIONS.items():
        for f in fields(cls):
            assert f"{section}.{f.name}" in FIELDS
    assert "title" in FIELDS
    assert all(spec.help.endswith(".") for spec in FIELDS.values())


# --------------------------------------------------------------------------- properties

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12) | st.sampled_from(["auto", "sigmoid", "xor", "white", "data.csv", "\0"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_keys = st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=15))


@settings(max_examples=150)   # derandomized: the "deckgen" profile in conftest.py
@given(values=st.dictionaries(_keys, _values, max_size=6))
@example(values={"data.csv": "data\x0b.csv", "data.target": ["label\u2028"]})
@example(values={"title": "a\x85b", "deck.theme": "white\x1c"})
def test_any_values_give_a_config_or_a_clean_error(values):
    values = {k: v for k, v in values.items() if v is not None}
    try:
        config = validate(values, source=Path("/nonexistent/deck.toml"), text="")
    except DeckgenError as exc:
        assert exc.messages
        assert all(LOCATION.match(m) and m.isprintable() for m in exc.messages), exc.messages
    else:
        assert isinstance(config, Config)
        assert math.isfinite(config.training.learning_rate) and config.training.learning_rate > 0


@settings(max_examples=100)
@given(text=st.text(max_size=200))
@example(text='[data]\ncsv = "d\\u000b.csv"\n')
@example(text='title = "a\u2028b"\n[deck]\ntheme = "x\x85"\n')
def test_any_toml_text_gives_a_config_or_a_clean_error(tmp_path, text):
    path = tmp_path / "deck.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except DeckgenError as exc:
        assert exc.messages and all(m.isprintable() for m in exc.messages), exc.messages


def test_a_deck_with_too_many_slides_is_refused_before_training(tmp_path):
    path = write(tmp_path, "[training]\niterations = 100000\n[deck]\ncheckpoints = 1\n")
    got = errors_of(path)
    assert got == [f"{path}:4: deck.checkpoints: the deck would have about 100,030 slides (100,001 checkpoints, 15 "
                   "for explained iterations), more than deck.max_slides (1,000) — use a checkpoint every 104 "
                   "iterations or more, or raise deck.max_slides"]
    assert load_config(path, ["deck.max_slides=200000"]).deck.max_slides == 200000


def test_thousands_of_layers_explained_step_by_step_are_too_many_slides(tmp_path):
    path = write(tmp_path, "[network]\nlayers = [3" + ", 2" * 3000 + ", 1]\n")
    got = errors_of(path)
    assert len(got) == 1 and got[0].startswith(f"{path}: deck.explain: the deck would have about 21,"), got
    assert got[0].endswith("— explain fewer iterations step by step, or raise deck.max_slides")

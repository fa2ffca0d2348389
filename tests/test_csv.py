"""The CSV loader: reading, checking, encoding and scaling, and the shipped Iris deck."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from deckgen.config import load_config
from deckgen.data.csvread import read_table
from deckgen.data import load_dataset, resolve_layers
from deckgen.errors import ConfigError, DeckgenError

REPO = Path(__file__).resolve().parent.parent
IRIS = REPO / "decks" / "iris.toml"


def deck(tmp_path: Path, csv: str | bytes, *, name: str = "data.csv", **data) -> Path:
    """A deck file beside a CSV file; ``data`` adds keys to its [data] table (TOML literals)."""
    path = tmp_path / name
    path.write_bytes(csv if isinstance(csv, bytes) else csv.encode("utf-8"))
    data.setdefault("target", '["label"]')
    lines = ["[data]", f'csv = "{name}"'] + [f"{k} = {v}" for k, v in data.items()]
    lines += ["[network]", 'layers = ["auto", 2, "auto"]', "[training]", "iterations = 10"]
    toml = tmp_path / "deck.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return toml


def dataset(tmp_path: Path, csv: str | bytes, **data):
    return load_dataset(load_config(deck(tmp_path, csv, **data)))


def messages(tmp_path: Path, csv: str | bytes, **data) -> list[str]:
    with pytest.raises(ConfigError) as info:
        dataset(tmp_path, csv, **data)
    return info.value.messages


# --------------------------------------------------------------------------- reading

@pytest.mark.parametrize("delim", [",", ";", "\t"])
def test_the_delimiter_is_detected(tmp_path, delim):
    text = delim.join(["a", "b", "label"]) + "\n" + "\n".join(delim.join(r) for r in [("1", "2", "x"), ("3", "4", "y")])
    d = dataset(tmp_path, text)
    assert d.feature_names == ("a", "b")
    assert d.X.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_a_semicolon_file_with_commas_inside_numbers_uses_decimal_commas(tmp_path):
    d = dataset(tmp_path, "a;b;label\n1,5;2;x\n2,5;4;y\n", scale='"none"')
    assert d.X.tolist() == [[1.5, 2.0], [2.5, 4.0]]


def test_quoted_fields_hold_delimiters_quotes_and_line_breaks(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('name,"a, b",label\n"x, ""y""",1,p\n"two\nlines",2,q\n  "spaced"  ,3,p\n', encoding="utf-8")
    table = read_table(path)
    assert table.header == ["name", "a, b", "label"]
    assert table.rows == [['x, "y"', "1", "p"], ["two\nlines", "2", "q"], ["spaced", "3", "p"]]
    assert table.lines == [2, 3, 5]


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_utf8_with_or_without_bom_and_any_line_ending(tmp_path, prefix, newline):
    rows = ["größe,höhe,label", "1,2,Straße", "3,4,Weg", ""]
    d = dataset(tmp_path, prefix + newline.join(r.encode() for r in rows), target='["label"]')
    assert d.feature_names == ("größe", "höhe")
    assert d.class_names == ("Straße", "Weg")


def test_blank_lines_and_blanks_around_values_are_ignored(tmp_path):
    d = dataset(tmp_path, "a , b,label\n\n 1, 2 ,x\n   \n3,4, y\n\n")
    assert d.feature_names == ("a", "b")
    assert d.class_names == ("x", "y")
    assert d.n_examples == 2


# --------------------------------------------------------------------------- encoding

def test_a_text_target_is_one_hot_encoded_with_its_class_names(tmp_path):
    d = dataset(tmp_path, "a,label\n1,cat\n2,dog\n3,cat\n4,bird\n")
    assert d.class_names == ("bird", "cat", "dog")
    assert d.target_names == d.class_names
    assert d.y.tolist() == [[0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]
    assert "3 classes: bird, cat, dog" in d.description


def test_several_targets_and_numeric_targets(tmp_path):
    d = dataset(tmp_path, "a,kind,score\n1,p,0.5\n2,q,1\n3,p,0\n", target='["kind", "score"]')
    assert d.target_names == ("kind=p", "kind=q", "score")
    assert d.class_names is None
    assert d.y.tolist() == [[1, 0, 0.5], [0, 1, 1], [1, 0, 0]]


def test_a_numeric_target_outside_0_to_1_is_scaled_and_the_deck_says_so(tmp_path):
    d = dataset(tmp_path, "a,price\n1,100\n2,300\n3,200\n", target='["price"]')
    assert d.y[:, 0].tolist() == [0.0, 1.0, 0.5]
    assert "price scaled to 0–1 (from 100 to 300)" in d.scaling


def test_text_features_are_one_hot_with_their_column_names(tmp_path):
    d = dataset(tmp_path, "colour,size,label\nred,1,x\nblue,2,y\nred,3,x\n")
    assert d.feature_names == ("colour=blue", "colour=red", "size")
    assert d.X.tolist() == [[0, 1, 0], [1, 0, 0.5], [0, 1, 1]]
    assert "colour one-hot encoded" in d.scaling


def test_data_categorical_forces_a_numeric_column_into_categories(tmp_path):
    d = dataset(tmp_path, "grade,size,label\n1,1,x\n10,2,y\n2,3,x\n", categorical='["grade"]')
    assert d.feature_names == ("grade=1", "grade=2", "grade=10", "size")  # numbers in numeric order


def test_explicit_features_pick_and_order_the_inputs(tmp_path):
    d = dataset(tmp_path, "a,b,c,label\n1,2,3,x\n4,5,6,y\n", features='["c", "a"]')
    assert d.feature_names == ("c", "a")
    assert d.raw_header == ("c", "a", "label")
    assert d.raw == (("3", "1", "x"), ("6", "4", "y"))


@pytest.mark.parametrize("scale, column, words", [
    ("minmax", [0.0, 0.5, 1.0], "scaled to 0–1"),
    ("standard", [-math.sqrt(1.5), 0.0, math.sqrt(1.5)], "standardised"),
    ("none", [2.0, 4.0, 6.0], "as they are"),
])
def test_scaling_of_numeric_inputs(tmp_path, scale, column, words):
    d = dataset(tmp_path, "a,label\n2,x\n4,y\n6,x\n", scale=f'"{scale}"')
    assert np.allclose(d.X[:, 0], column)
    assert words in d.scaling
    assert d.raw == (("2", "x"), ("4", "y"), ("6", "x"))


@pytest.mark.parametrize("scale", ["minmax", "standard"])
def test_values_near_the_float_limit_scale_without_overflow(tmp_path, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = dataset(tmp_path, "a,b,label\n-1.7e308,1e-300,-1e308\n1.7e308,2e-300,1e308\n0,3e-300,0\n",
                    scale=f'"{scale}"', target='["label"]')
    assert np.isfinite(d.X).all()
    spread = [0.0, 1.0, 0.5] if scale == "minmax" else [-math.sqrt(1.5), math.sqrt(1.5), 0.0]
    assert d.X[:, 0] == pytest.approx(spread)
    assert d.X[:, 1] == pytest.approx(sorted(spread))
    assert d.y[:, 0] == pytest.approx([0.0, 1.0, 0.5])


def test_a_constant_column_scales_to_zero_and_is_noted(tmp_path):
    d = dataset(tmp_path, "a,b,label\n1,7,x\n2,7,y\n")
    assert d.X[:, 1].tolist() == [0.0, 0.0]
    assert any("b has the same value" in n for n in d.notes)


def test_bias_column_rows_and_shuffle(tmp_path):
    text = "a,label\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(10))
    d = dataset(tmp_path, text, bias_column="true", rows="[0, 3]", shuffle="7")
    assert d.feature_names == ("a", "1")
    assert d.X[:, 1].tolist() == [1.0] * 10
    raw_a = [int(r[0]) for r in d.raw]
    assert sorted(raw_a) == list(range(10)) and raw_a != list(range(10))
    assert sorted(raw_a[i] for i in d.rows) == [0, 3]  # data.rows counts file rows, whatever the shuffle
    assert np.allclose(d.X[:, 0], np.array(raw_a) / 9)  # X, y and raw stay aligned
    assert [d.class_names[int(np.argmax(row))] for row in d.y] == [r[1] for r in d.raw]


def test_layers_auto_takes_the_widths_from_the_encoded_data(tmp_path):
    config = load_config(deck(tmp_path, "colour,size,label\nred,1,x\nblue,2,y\ngreen,3,z\n"))
    assert resolve_layers(config, load_dataset(config)) == (4, 2, 3)


def test_markdown_in_names_stays_text_in_the_description(tmp_path):
    d = dataset(tmp_path, "a,label\n1,*b*\n2,[x](http://example.org)\n")
    assert "\\*b\\*" in d.description and "\\[x\\]\\(http" in d.description


# --------------------------------------------------------------------------- problems

def test_cell_problems_name_line_and_column(tmp_path):
    got = messages(tmp_path, "a,b,label\n1,2,x\n3, oops,y\n,5,x\n6,inf,y\n7,NA,x\n")
    assert any(m.endswith("data.csv:3:4: 'oops' in column 'b' is not a number — fix the value, or list 'b' in "
                          "data.categorical to treat the column as categories") for m in got), got
    assert any("data.csv:4:1: empty cell in numeric column 'a'" in m for m in got)
    assert any("data.csv:5:3: 'inf' in column 'b' is not a finite number" in m for m in got)
    assert any("data.csv:6:3: missing value 'NA'" in m for m in got)
    assert all(" — " in m for m in got)


@pytest.fixture
def no_hang():
    """Turn a hang (a pattern that backtracks over a huge cell) into a failure instead of a stuck run."""
    import signal

    def stuck(signum, frame):
        raise AssertionError("still running after 60 s: something is not linear in the cell's length")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("cell", ["1" * 2_000_000 + "x", "1" * 1_000_000 + "." + "1" * 1_000_000 + "e",
                                  "-" + "9" * 2_000_000 + "x", "+" + "1" * 2_000_000 + "e+"])
def test_a_two_megabyte_cell_is_checked_and_cut_short_in_the_message(tmp_path, no_hang, cell):
    got = messages(tmp_path, f"a,label\n1,x\n{cell},y\n2,x\n")
    assert len(got) == 1 and len(got[0]) < 400, got[0][:500]
    assert f"data.csv:3:1: {cell[:40]!r}… (2,000,00" in got[0]
    assert got[0].endswith("is not a number — fix the value, or list 'a' in data.categorical to treat the "
                           "column as categories")


def test_a_long_column_name_is_cut_short_in_messages(tmp_path):
    name = "n" * 5000
    got = messages(tmp_path, f"a,label\n1,x\n2,x\n", target=f'["{name}"]')
    assert len(got) == 1 and len(got[0]) < 400
    assert f"no column {name[:40]!r}… (5,000 characters)" in got[0]


def test_long_numbers_are_still_read_as_numbers(tmp_path):
    d = dataset(tmp_path, "a,label\n" + "1" * 300 + ".5e-290,x\n0.25,y\n", scale='"none"')
    assert d.X[:, 0].tolist() == [float("1" * 300 + ".5e-290"), 0.25]


def test_positions_count_columns_in_quoted_and_multiline_records(tmp_path):
    got = messages(tmp_path, 'note,a,label\n"x\ny",1,p\n"long, note",bad,q\n')
    assert any("data.csv:4:14: 'bad' in column 'a'" in m for m in got), got


def test_many_bad_cells_are_listed_up_to_a_limit_and_counted(tmp_path):
    text = "a,label\n1,x\n" + "".join(f"bad{i},y\n" for i in range(50))
    got = messages(tmp_path, text)
    assert len(got) == 21
    assert got[-1].endswith("30 more problem cells — fix the ones above, then run again to see the rest")


def test_a_text_column_with_too_many_values_is_refused(tmp_path):
    text = "name,a,label\n" + "".join(f"n{i},{i},{'xy'[i % 2]}\n" for i in range(150))
    got = messages(tmp_path, text)
    assert any("column 'name' holds text with 150 different values" in m and "data.features" in m for m in got)


def test_structural_and_column_problems_come_together(tmp_path):
    got = messages(tmp_path, "a,,a,label\n1,2,3,x\n1,2\n", target='["lable"]')
    text = "\n".join(got)
    assert "data.csv:1: column 2 has no name" in text
    assert "data.csv:1: column name 'a' appears twice (columns 1 and 3)" in text
    assert "data.csv:3: this row has 2 fields but the header has 4" in text
    assert "deck.toml:3: data.target: no column 'lable'" in text and "did you mean 'label'?" in text


def test_a_missing_file_is_reported_where_data_csv_is_set_with_the_path_looked_for(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    toml = tmp_path / "sub" / "deck.toml"
    toml.write_text('title = "t"\n[data]\ncsv = "gone.csv"\ntarget = ["y"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_dataset(load_config(toml))
    assert info.value.messages == [f"{toml}:3: data.csv: {tmp_path / 'sub' / 'gone.csv'}: file not found — check "
                                   "data.csv (a relative path in the deck file is relative to the deck file)"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_dataset(load_config(toml, ["data.csv=gone.csv"]))
    assert info.value.messages == [f"--set data.csv: {tmp_path / 'gone.csv'}: file not found — check the path "
                                   "(given with --set, a relative path is relative to the current folder)"]


def test_a_short_row_is_reported_once_without_guessing_about_the_rest(tmp_path):
    # The short row held the only "1": what the other rows say about the target is no news.
    got = messages(tmp_path, "a,b,label\n1,2,0\n3,1\n5,6,0\n")
    assert got == [f"{tmp_path / 'data.csv'}:3: this row has 2 fields but the header has 3 — give every row one "
                   "value per column (quote values that hold a comma)"]


def test_a_column_named_with_set_names_the_key_once(tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,0\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for target, start in (('["why"]', "--set data.target: no column 'why' in d.csv"),
                          ('["y"]', "--set data.target: column 'y' of d.csv holds the same value, 0, in every row")):
        with pytest.raises(ConfigError) as info:
            load_dataset(load_config(None, ["data.csv=d.csv", f"data.target={target}"]))
        (message,) = info.value.messages
        assert message.startswith(start), message


def test_target_and_feature_mistakes(tmp_path):
    got = "\n".join(messages(tmp_path, "a,label\n1,x\n2,y\n", target='["label"]', features='["label", "a"]',
                             categorical='["zzz"]'))
    assert "'label' is also the target" in got
    assert "data.categorical: no column 'zzz'" in got


def test_a_single_valued_numeric_target_is_refused(tmp_path):
    got = messages(tmp_path, "a,label\n1,0.5\n2,0.5\n")
    assert any("holds the same value, 0.5, in every row" in m for m in got)


# --------------------------------------------------------------------------- properties

# The examples run on every run (the "deckgen" profile in conftest.py draws the same ones each
# time, too); each is a case a property test once found.
CONTROL = ["\x0b", "\x1c", "\x85", "\u2028"]   # a line break to Python's str.splitlines() or a terminal


def one_printable_line_each(messages: list[str]) -> bool:
    return bool(messages) and all(m and m.isprintable() for m in messages)


@given(data=st.binary(max_size=400))
@example(data=b"a,b\x0bx,label\n1,2,p\n3,4,q\n")
@example(data="a,b,label\n1,2\u2028x,p\n3,4,q\n".encode())
@example(data=b"a,label\n1,\x1c\n")
def test_any_bytes_give_a_dataset_or_a_clean_error(tmp_path, data):
    try:
        d = dataset(tmp_path, data, target='["label"]')
    except DeckgenError as exc:
        assert one_printable_line_each(exc.messages), exc.messages
    else:
        assert np.isfinite(d.X).all() and np.isfinite(d.y).all()


@pytest.mark.parametrize("char", CONTROL, ids=ascii)
@pytest.mark.parametrize("where", ["header", "cell", "file name", "deck file"])
def test_a_control_character_gives_one_line_per_error(tmp_path, char, where, capsys):
    """A control character anywhere a message quotes (a column name, a value, the path) is escaped."""
    from deckgen.commands.cli import main

    header, cell, name = "b", "2", "data.csv"
    if where == "header":
        header = f"b{char}x"
    elif where == "cell":
        cell = f"2{char}x"
    elif where == "file name":
        name = f"da{char}ta.csv"
    # a value that is not a number is an error of its own; elsewhere a missing column makes one
    more = {} if where == "cell" else {"features": '["zz"]'}
    toml = deck(tmp_path, f"a,{header},label\n1,{cell},p\n3,4,q\n", name=name, **more)
    escaped = f"\\u{ord(char):04x}"     # TOML strings may hold control characters only as escapes
    text = toml.read_text(encoding="utf-8").replace(char, escaped)
    if where == "deck file":
        text = text.replace("data.csv", f"missing{escaped}.csv")
    toml.write_text(text, encoding="utf-8")
    assert main(["build", str(toml), "-o", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.removesuffix("\n").split("\n")
    assert lines and all(line.startswith("deckgen: error: ") and line.isprintable() for line in lines), lines
    assert ascii(char)[1:-1] in "".join(lines)      # shown escaped, so the user can see what is there


_cell = st.one_of(
    st.sampled_from(["1", "-2.5", "3e2", "0", "nan", "inf", "", " ", "x", "y", "NA", '"q"', '"a,b"', '"', "1,5"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)


@given(header=st.lists(st.sampled_from(["a", "b", "label", "c", "", "a b"]), min_size=1, max_size=4),
       rows=st.lists(st.lists(_cell, min_size=0, max_size=5), max_size=8),
       delim=st.sampled_from([",", ";", "\t"]),
       scale=st.sampled_from(["minmax", "standard", "none"]))
@example(header=["a", "b\x0bc", "label"], rows=[["1", "2", "x"], ["3", "4", "y"]], delim=",", scale="minmax")
@example(header=["a", "label"], rows=[["1\x85", "x"], ["2", "\u2028"]], delim=";", scale="none")
def test_any_table_gives_a_dataset_or_a_clean_error(tmp_path, header, rows, delim, scale):
    text = "\n".join(delim.join(r) for r in [header, *rows])
    try:
        config = load_config(deck(tmp_path, text, scale=f'"{scale}"'))
        d = load_dataset(config)
        layers = resolve_layers(config, d)
    except DeckgenError as exc:
        assert one_printable_line_each(exc.messages), exc.messages
    else:
        assert np.isfinite(d.X).all() and np.isfinite(d.y).all()
        assert layers[0] == d.X.shape[1] == len(d.feature_names)
        assert layers[-1] == d.y.shape[1] == len(d.target_names)


# --------------------------------------------------------------------------- the shipped example

def test_the_iris_csv_holds_fishers_data():
    table = read_table(REPO / "decks" / "data" / "iris.csv")
    assert table.header == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    values = np.array([[float(v) for v in row[:4]] for row in table.rows])
    assert values.shape == (150, 4)
    assert np.allclose(values.mean(axis=0), [5.843, 3.057, 3.758, 1.199], atol=5e-4)
    species = [row[4] for row in table.rows]
    assert {s: species.count(s) for s in set(species)} == {"setosa": 50, "versicolor": 50, "virginica": 50}
    setosa = values[[s == "setosa" for s in species]]
    assert np.allclose(setosa.mean(axis=0), [5.006, 3.428, 1.462, 0.246], atol=5e-4)


@pytest.mark.slow
def test_the_iris_deck_builds_converges_and_names_the_classes(tmp_path, capsys):
    from deckgen.commands.cli import main

    out = tmp_path / "iris"
    code = main(["build", str(IRIS), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warning" not in captured.err
    manifest = json.loads((out / "trace.json").read_text(encoding="ascii"))
    assert manifest is not None
    from deckgen.core.trace import load_trace

    trace = load_trace(out)
    assert trace.layers == (4, 8, 3)
    assert trace.stopped_at is None
    assert float(trace.series("mae")[-1]) < 0.03
    final = trace.get("a2", trace.iterations - 1)
    config = load_config(IRIS)
    data = load_dataset(config)
    assert (final.argmax(axis=1) == data.y.argmax(axis=1)).mean() > 0.95
    html = (out / "index.html").read_text(encoding="utf-8")
    for name in ("setosa", "versicolor", "virginica", "sepal_length", "petal_width"):
        assert f">{name}<" in html


def test_a_csv_too_large_to_hold_in_memory_is_refused_before_it_is_split(tmp_path, monkeypatch):
    import deckgen.data.csvread

    monkeypatch.setattr(deckgen.data.csvread, "machine_memory", lambda: 8 * 2**20)
    text = "a,b,label\n" + "1,2,x\n" * 40_000
    got = messages(tmp_path, text)
    assert len(got) == 1 and got[0].endswith("data.csv: about 120,004 cells would take about 8 MB to read, more "
                                             "than half of this machine's memory (8 MB) — use fewer rows or columns")

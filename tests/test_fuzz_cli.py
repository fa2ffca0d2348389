"""Random bytes and random TOML through the command line: only exit 0 or 2, and one-line errors.

Deterministic (``derandomize``) and small, so that it runs the same everywhere;
what it looks for is a traceback or a hang, not a particular message.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckgen.commands.cli import cli
from deckgen.config import FIELDS

FUZZ = settings(derandomize=True, max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PREFIXES = ("deckgen: error: ", "deckgen: warning: ", "deckgen: note: ")

scalars = st.one_of(
    st.integers(-3, 300), st.integers(), st.just(10**400), st.floats(), st.booleans(),
    st.text(max_size=12), st.sampled_from(["auto", "sigmoid", "relu", "black", "minmax", "trask", "xor"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                      max_leaves=10)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if abs(v) < 10**300 else "9" * 400
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, str):
        return '"' + "".join(ch if ch not in '"\\' and " " <= ch != "\x7f" else f"\\u{ord(ch):04x}" for ch in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_value(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"


@st.composite
def decks(draw) -> str:
    """A deck file: real keys (and a few made up) with values of any type."""
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)) | st.sampled_from(["training.nope", "extra"]),
                         max_size=6, unique=True))
    lines = []
    for key in keys:
        if key == "training.iterations":
            value = draw(st.integers(-3, 300) | st.just(10**400) | st.floats() | st.text(max_size=3))
        elif key == "data.csv":
            value = draw(st.sampled_from(["data.csv", "missing.csv", "", "/dev/zero", "."]))
        else:
            value = draw(values)
        lines.append(f'"{key}" = {toml_value(value)}' if "." not in key else f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def check(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    err = result.stderr.splitlines()
    assert "Traceback" not in result.output
    assert all(line.startswith(PREFIXES) for line in err), err
    if result.exit_code == 2:
        errors = [line for line in err if line.startswith("deckgen: error: ")]
        assert errors and all(" — " in line for line in errors), err


def run(tmp: Path, *args: str):
    return CliRunner().invoke(cli, list(args), env={"DECKGEN_NO_CACHE": "1", "DECKGEN_STOP_AT": None})


@pytest.fixture
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_as_the_deck_file(folder, data):
    path = folder / "deck.toml"
    path.write_bytes(data)
    check(run(folder, "build", str(path), "-q", "-o", str(folder / "out")))


@FUZZ
@given(text=decks())
def test_random_toml_as_the_deck_file(folder, text):
    tomllib.loads(text)         # the generator writes valid TOML; deckgen must judge what it says
    (folder / "data.csv").write_text("a,b,y\n1,2,p\n3,4,q\n", encoding="utf-8")
    path = folder / "deck.toml"
    path.write_text(text, encoding="utf-8")
    out = folder / "out"
    check(run(folder, "build", str(path), "-q", "-o", str(out), "--force"))


@FUZZ
@given(data=st.binary(max_size=300) | st.text(alphabet=st.sampled_from('a1,;|\t"\n\r x.-e'), max_size=80).map(str.encode))
def test_random_bytes_as_the_csv_for_new_and_build(folder, data):
    csv = folder / "d.csv"
    csv.write_bytes(data)
    deck = folder / "decks" / "t.toml"
    deck.unlink(missing_ok=True)
    result = run(folder, "new", "t", "--data", str(csv), "--dir", str(folder / "decks"))
    check(result)
    if result.exit_code == 0:
        tomllib.loads(deck.read_text(encoding="utf-8"))    # every deck new writes parses
        check(run(folder, "build", str(deck), "-q", "-o", str(folder / "out"), "--force",
                  "--set", "training.iterations=20", "--set", "deck.checkpoints=10"))

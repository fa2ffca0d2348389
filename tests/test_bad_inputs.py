"""Bad input never crashes: every case under tests/bad/ through the CLI, and training that diverges.

Each ``tests/bad/*.toml`` says what it expects in ``# error: LOCATION | TEXT``
lines: the command must exit with status 2 and print, for each such line, a
``deckgen: error:`` line that holds LOCATION (file, and line where there is one)
and TEXT, with no traceback, and leave an existing deck untouched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from deckhelp import snapshot

from deckgen.commands.cli import main
from deckgen.errors import ConfigError

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
CASES = sorted(BAD.glob("*.toml"))
SHORT = ["--set", "training.iterations=30", "--set", "deck.checkpoints=10"]


def expectations(case: Path) -> list[tuple[str, str]]:
    lines = case.read_bytes().decode("utf-8", "replace").splitlines()
    found = [line[len("# error:"):].split(" | ", 1) for line in lines if line.startswith("# error:")]
    return [(where.strip(), what.strip()) for where, what in found]




@pytest.fixture(scope="module")
def old_deck(tmp_path_factory):
    """A deck built before the bad input arrives, plus a file its user added."""
    out = tmp_path_factory.mktemp("previous") / "deck"
    assert main(["build", "-o", str(out), "-q", *SHORT]) == 0
    (out / "my-notes.md").write_text("mine\n", encoding="utf-8")
    return out


def test_every_case_says_what_it_expects():
    assert len(CASES) >= 30
    for case in CASES:
        assert expectations(case), f"{case.name} has no '# error: LOCATION | TEXT' line"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_input_is_reported_cleanly_and_changes_nothing(case, old_deck, capsys, monkeypatch):
    monkeypatch.chdir(HERE.parent)
    before = snapshot(old_deck)
    code = main(["build", str(case.relative_to(HERE.parent)), "-o", str(old_deck)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    errors = [line for line in captured.err.splitlines() if line.startswith("deckgen: error: ")]
    assert errors and len(errors) == len(captured.err.splitlines()), captured.err
    for where, what in expectations(case):
        assert any(where in line and what in line for line in errors), f"{where} | {what}\n{captured.err}"
    for line in errors:
        assert " — " in line, line  # what is wrong — what to do
    assert snapshot(old_deck) == before
    assert sorted(p.name for p in old_deck.parent.iterdir()) == ["deck"], "a temporary folder was left behind"


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.chdir(HERE.parent)
    with pytest.raises(ConfigError) as info:
        main(["build", "tests/bad/ragged.toml", "--debug"])
    assert "ragged.csv:4" in str(info.value)


def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "deckgen", "build", str(BAD / "out_of_range.toml"),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=HERE.parent)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("deckgen: error: ") == 5
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- divergence

DIVERGE = ["--set", "network.activation=relu", "--set", "training.learning_rate=1e300",
           "--set", "training.iterations=30", "--set", "deck.checkpoints=10"]


def run_deckgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # numpy warnings raised as errors: one that escaped would crash the build here
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "deckgen", *args],
                          capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_divergence_is_a_result_a_warning_and_a_slide(tmp_path):
    out = tmp_path / "blown"
    result = run_deckgen("build", "-o", str(out), *DIVERGE, cwd=HERE.parent)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "RuntimeWarning" not in result.stderr
    assert "overflow" not in result.stderr.lower()
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("deckgen: warning: training diverged at iteration ")
    assert "learning_rate" in warning
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="diverged"' in html
    from deckgen.core.trace import load_trace

    trace = load_trace(out)
    assert trace.stopped_at is not None and trace.stopped_at < 30

    strict = run_deckgen("build", "-o", str(out), *DIVERGE, "--strict", "-q", cwd=HERE.parent)
    assert strict.returncode == 3
    assert "Traceback" not in strict.stderr and "RuntimeWarning" not in strict.stderr


# --------------------------------------------------------------------------- hostile inputs, one line each

def one_error(capsys, *args: str, code: int = 2) -> str:
    """Run deckgen; it must exit ``code`` with exactly one ``deckgen: error:`` line and no traceback."""
    got = main(list(args))
    captured = capsys.readouterr()
    assert got == code, captured.err
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err
    assert len(lines) == 1 and lines[0].startswith("deckgen: error: "), captured.err
    assert " — " in lines[0]
    return lines[0]


def deck_with_csv(tmp_path: Path, csv: str) -> Path:
    deck = tmp_path / "deck.toml"
    deck.write_text(f'[data]\ncsv = "{csv}"\ntarget = ["y"]\n[training]\niterations = 10\n', encoding="utf-8")
    return deck


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_device_as_the_deck_file_is_refused_without_reading(tmp_path, capsys, kind):
    import os

    path = tmp_path / "deck.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    line = one_error(capsys, "build", str(path), "-o", str(tmp_path / "out"))
    assert f"{path}: is a {'named pipe (FIFO)' if kind == 'fifo' else 'character device'}, not a regular file" in line


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_fifo_or_device_as_the_csv_is_refused_without_reading(tmp_path, capsys, kind):
    import os

    if kind == "fifo":
        os.mkfifo(tmp_path / "data.csv")
        csv = "data.csv"
    else:
        csv = "/dev/zero"
    line = one_error(capsys, "build", str(deck_with_csv(tmp_path, csv)), "-o", str(tmp_path / "out"))
    assert "not a regular file — give a regular file" in line and "data.csv" in line


def test_a_deck_file_over_one_megabyte_is_refused_naming_the_cap(tmp_path, capsys):
    path = tmp_path / "deck.toml"
    path.write_text("# " + "x" * (2**20) + "\n", encoding="utf-8")
    line = one_error(capsys, "build", str(path), "-o", str(tmp_path / "out"))
    assert "is 1.0 MB, larger than deckgen reads (the limit is 1 MB)" in line


def test_a_csv_over_the_cap_is_refused_before_it_is_read(tmp_path, capsys):
    with open(tmp_path / "big.csv", "wb") as f:
        f.truncate(65 * 2**20)       # sparse: costs no disk, and is never read
    line = one_error(capsys, "build", str(deck_with_csv(tmp_path, "big.csv")), "-o", str(tmp_path / "out"))
    assert "big.csv: is 65 MB, larger than deckgen reads (the limit is 64 MB) — use a smaller file" in line


TINY = ["--set", "training.iterations=20", "--set", "deck.checkpoints=10"]


@pytest.mark.parametrize("value, key", [
    ("[" * 5000 + "]" * 5000, "network.layers"),
    ("[" * 600 + "]" * 600, "deck.explain"),
    ("{a=" * 3000 + "1" + "}" * 3000, "deck"),
])
def test_deeply_nested_set_values_name_the_key(tmp_path, capsys, value, key):
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), *TINY, "--set", f"{key}={value}")
    assert line.startswith(f"deckgen: error: --set {key}: the value is nested too deeply to read — ")


def test_a_deeply_nested_deck_file_is_named(tmp_path, capsys):
    path = tmp_path / "deck.toml"
    path.write_text("title = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    line = one_error(capsys, "build", str(path), "-o", str(tmp_path / "out"))
    assert line.startswith(f"deckgen: error: {path}: values are nested too deeply to read — ")


def test_integers_with_thousands_of_digits(tmp_path, capsys):
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), "--set", "training.iterations=" + "9" * 5000)
    assert line.startswith("deckgen: error: --set training.iterations: a number with thousands of digits — ")
    path = tmp_path / "deck.toml"
    path.write_text("[training]\niterations = " + "9" * 5000 + "\n", encoding="utf-8")
    line = one_error(capsys, "build", str(path), "-o", str(tmp_path / "out"))
    assert line.startswith(f"deckgen: error: {path}: a number with thousands of digits — ")


def test_training_that_stops_at_iteration_0_names_what_to_scale(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DECKGEN_NO_CACHE", "1")
    (tmp_path / "big.csv").write_text("a,b,y\n1e308,1e308,1\n0,1,0\n", encoding="utf-8")
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), *TINY, "--set", "network.layers=['auto',3,'auto']",
                     "--set", f"data.csv={tmp_path / 'big.csv'}", "--set", "data.target=['y']",
                     "--set", "data.scale=none")
    assert line.startswith("deckgen: error: --set data.scale: training stopped at iteration 0: ")
    assert line.endswith('— scale the inputs (data.scale = "minmax") or use smaller values in the CSV file')
    assert not (tmp_path / "out").exists()


def test_values_too_large_to_plot_are_marked_at_the_edge_of_the_curve(tmp_path, capsys, monkeypatch):
    """Sums of 1e308 once crashed matplotlib; the curve is now drawn once, and such sums sit at its edge."""
    monkeypatch.setenv("DECKGEN_NO_CACHE", "1")
    code = main(["build", "-q", "-o", str(tmp_path / "out"), *TINY,
                 "--set", "data.inputs=[[1e308,1e308,1],[0,1,1]]", "--set", "data.targets=[[1],[0]]"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "point beyond" in html and "Open circles at the edge stand for" in html


@pytest.mark.parametrize("big", ["1e154", "1e170", "1e200"])
def test_huge_values_build_without_numpy_warnings(tmp_path, capsys, monkeypatch, big):
    import warnings

    monkeypatch.setenv("DECKGEN_NO_CACHE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)     # one that escaped would fail the build here
        code = main(["build", "-q", "-o", str(tmp_path / "out"), *TINY,
                     "--set", f"data.inputs=[[{big},1,1],[0,1,1]]", "--set", "data.targets=[[1],[0]]"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "RuntimeWarning" not in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("expression, what", [
    ("{{ 1 // 0 }}", "template error: ZeroDivisionError: integer division or modulo by zero — fix the expression"),
    ("{{ slide.title + 5 }}", "template error: TypeError: can only concatenate str"),
    ('{% include "slide.html" %}', "template error: templates include or call each other without end — "),
])
def test_runtime_errors_in_user_templates_name_the_line(tmp_path, capsys, expression, what):
    templates = tmp_path / "mine"
    templates.mkdir()
    text = (HERE.parent / "templates" / "slide.html").read_text(encoding="utf-8")
    (templates / "slide.html").write_text(text.replace("<h2>", "<h2>" + expression, 1), encoding="utf-8")
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), *TINY, "--templates", str(templates))
    assert line.startswith(f"deckgen: error: {templates / 'slide.html'}:4: {what}"), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-5", "lots"])
@pytest.mark.parametrize("command", [["build", "-q"], ["cache", "info"]])
def test_a_bad_cache_size_warns_once_and_uses_the_default(tmp_path, capsys, monkeypatch, value, command):
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DECKGEN_CACHE_SIZE_MB", value)
    args = [*command, "-o", str(tmp_path / "out"), *TINY] if command[0] == "build" else command
    assert main(args) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "stuck" not in line]
    assert err == [f"deckgen: warning: DECKGEN_CACHE_SIZE_MB={value!r} is not a size in MB — using the default, "
                   "1024 MB; set it to a number such as 512"]


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_an_unusable_cache_folder_warns_and_builds_without_it(tmp_path, capsys, monkeypatch, where):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    folder = tmp_path / "afile" if where == "file" else tmp_path / "afile" / "traces"
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(folder))
    assert main(["build", "-q", "-o", str(tmp_path / "out"), *TINY]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "stuck" not in line]
    assert len(err) == 1 and err[0].startswith(f"deckgen: warning: DECKGEN_CACHE_DIR={folder}: "), err
    assert "— building without the cache" in err[0]
    assert (tmp_path / "out" / "index.html").is_file()
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_an_unwritable_cache_folder_warns_and_builds_without_it(tmp_path, capsys, monkeypatch):
    import deckgen.run.cachedir

    folder = tmp_path / "cache"
    folder.mkdir()
    real = deckgen.run.cachedir.os.access
    monkeypatch.setattr(deckgen.run.cachedir.os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(folder))
    assert main(["build", "-q", "-o", str(tmp_path / "out"), *TINY]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "stuck" not in line]
    assert err == [f"deckgen: warning: DECKGEN_CACHE_DIR={folder}: cannot be written — building without the "
                   "cache; point DECKGEN_CACHE_DIR at a folder you can write, or pass --no-cache"]
    assert list(folder.iterdir()) == []


def test_a_section_given_as_a_table_with_set_is_checked_key_by_key(tmp_path, capsys):
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), "--set", "training={learning_rate=-1}")
    assert line.startswith("deckgen: error: --set training.learning_rate: -1 must be a positive number — ")


def test_control_characters_in_what_was_typed_stay_on_one_line(tmp_path, capsys):
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), "--set", "title=a\nb\x1b[31m")
    assert line.startswith("deckgen: error: --set title=a\\nb\\x1b[31m: ")


def test_a_run_larger_than_the_machine_is_refused_without_suggesting_a_budget(tmp_path, capsys, monkeypatch):
    import deckgen.data.layers

    monkeypatch.setattr(deckgen.data.layers, "machine_memory", lambda: 4 * 2**20)
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), "--set", "network.layers=[3,20000,1]",
                     "--set", "training.memory_budget_mb=1510924", *TINY)
    assert "more than half of this machine's memory (4 MB) — use fewer rows, hidden units" in line
    assert "raise training.memory_budget_mb" not in line
    assert not (tmp_path / "out").exists()


def test_the_budget_advice_stays_within_the_machine(tmp_path, capsys, monkeypatch):
    import re

    import deckgen.data.layers

    monkeypatch.setattr(deckgen.data.layers, "machine_memory", lambda: 2**40)
    line = one_error(capsys, "build", "-o", str(tmp_path / "out"), "--set", "network.layers=[3,20000,1]",
                     "--set", "training.memory_budget_mb=1", *TINY)
    suggested = int(re.search(r"raise training.memory_budget_mb to (\d+)", line).group(1))
    assert suggested * 2**20 <= 2**40 / 2

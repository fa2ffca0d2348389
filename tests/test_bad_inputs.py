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

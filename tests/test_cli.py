"""The command line: help with examples everywhere, --set the same on every command, feedback while working."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from deckgen.commands.cli import cli, main

SMALL = ["--set", "training.iterations=300", "--set", "deck.checkpoints=100"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DECKGEN_CACHE_DIR", raising=False)


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


ALL = [" ".join(path) for path, _ in commands(cli)]


def test_every_command_is_listed():
    assert {"build", "serve", "export", "new", "keys", "cache", "cache info", "cache clear"} <= set(ALL)


@pytest.mark.parametrize("path", ["", *ALL])
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, path
    example = result.output.split("Example:", 1)[1]
    lines = [line.strip() for line in example.splitlines() if line.strip().startswith("deckgen")]
    assert lines, f"{path or 'deckgen'}: the Example: block shows no deckgen command"
    if path:
        assert all(line.startswith("deckgen ") for line in lines)
        assert any(line.startswith(f"deckgen {path}") for line in lines), f"{path}: no example of itself"
    command = cli if not path else None
    for p, c in commands(cli):
        if " ".join(p) == path:
            command = c
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and param.name not in ("help",):
            assert param.help, f"{path}: option {param.opts} has no help text"


@pytest.mark.parametrize("command", [
    ["build"], ["serve", "--port", "0"], ["export", "--single-file", "x.html"]])
def test_set_reports_an_unknown_key_the_same_way_on_every_command(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*command, "--set", "training.learning_rat=0.5"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("deckgen: error: --set training.learning_rat: unknown key "
                                     "'training.learning_rat' (did you mean 'training.learning_rate'?) — remove it "
                                     "or see `deckgen keys` for the list")


@pytest.mark.parametrize("command", [["build"], ["export", "--single-file", "talk.html"]])
def test_set_applies_on_build_and_export(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*command, *SMALL, "--set", 'title="Set from the command line"'])
    assert result.exit_code == 0, result.output
    html = (tmp_path / ("build/trask/index.html" if command == ["build"] else "talk.html")).read_text()
    assert "Set from the command line" in html


def test_build_prints_a_summary_of_stages_and_where(tmp_path):
    out = tmp_path / "deck"
    result = CliRunner().invoke(cli, ["build", "-o", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    first, trace, where = result.output.strip().splitlines()
    m = re.fullmatch(r"Built (\d+) slides in [\d.]+s \((.*)\)", first)
    assert m and int(m.group(1)) > 10
    assert [part.split()[0] for part in m.group(2).split(", ")] == ["data", "train", "story", "render", "write"]
    assert trace == "  trace: trained"
    assert where == f"  {out / 'index.html'}"
    again = CliRunner().invoke(cli, ["build", "-o", str(out), *SMALL, "--set", "deck.precision=2"])
    assert "  trace: reused (no training needed)" in again.output


def test_main_returns_the_exit_code_and_quiet_prints_nothing(tmp_path, capsys):
    assert main(["build", "-q", "-o", str(tmp_path / "d"), *SMALL]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "d" / "index.html").is_file()
    assert main(["build", "--set", "nope=1"]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err
    assert main(["--version"]) == 0


@pytest.mark.parametrize("args, message", [
    (["build", "-o", "a-file"], "-o/--out a-file: is a file, not a folder — give the folder to build the deck into"),
    (["serve", "-o", "a-file"], "-o/--out a-file: is a file, not a folder — "),
    (["build", "--templates", "missing"], "--templates missing: no such folder — give the folder that holds your "
                                          "templates"),
    (["serve", "--templates", "a-file"], "--templates a-file: is a file, not a folder — "),
    (["build", "a-folder"], "a-folder: is a folder, not a file — give a deck file (.toml)"),
    (["export", "--pdf", "a-folder"], "--pdf a-folder: is a folder, not a file — give a file name for the PDF"),
    (["new", "talk", "--dir", "a-file"], "--dir a-file: is a file, not a folder — "),
])
def test_a_wrong_kind_of_path_is_one_error_line_with_status_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith(f"deckgen: error: {message}"), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]    # nothing was built


def test_debug_shows_the_traceback():
    from deckgen.errors import ConfigError
    with pytest.raises(ConfigError):
        CliRunner().invoke(cli, ["--debug", "build", "--set", "nope=1"], catch_exceptions=False)


def run_with_stderr_on(kind: str, args: list[str], tmp_path) -> tuple[str, str, str]:
    """Run ``deckgen ARGS`` with bars shown at once, stderr on a pseudo-terminal or a pipe.

    Returns stdout, stderr and whether rich was imported.
    """
    import os
    import pty
    import select
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), TERM="xterm-256color", COLUMNS="120",
               DECKGEN_CACHE_DIR=str(tmp_path / "cache"))
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    code = ("import sys, deckgen.commands.progress; deckgen.commands.progress.DELAY = 0\n"
            "from deckgen.commands.cli import main\n"
            "code = main(sys.argv[1:])\n"
            "print('rich imported:', 'rich' in sys.modules)\n"
            "sys.exit(code)")
    command = [sys.executable, "-c", code, *args]
    if kind == "pipe":
        done = subprocess.run(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        out, _, imported = done.stdout.rpartition("rich imported: ")
        return out, done.stderr, imported.strip()
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=follower)
    os.close(follower)
    err = b""
    try:
        while select.select([leader], [], [], 300)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:         # the program ended and closed the terminal
                break
            if not chunk:
                break
            err += chunk
        stdout = proc.communicate(timeout=300)[0].decode()
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")
    out, _, imported = stdout.rpartition("rich imported: ")
    return out, err.decode("utf-8", errors="replace"), imported.strip()


def test_a_build_on_a_terminal_shows_the_training_bar_with_the_time_left(tmp_path):
    # training reports progress once per chunk of 1024 iterations: 5000 give several updates
    longer = ["--set", "training.iterations=5000", "--set", "deck.checkpoints=1000"]
    out, err, imported = run_with_stderr_on("pty", ["build", "--no-cache", "-o", str(tmp_path / "d"), *longer],
                                            tmp_path)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)        # without colours and cursor moves
    assert re.search(r"training .*\d+% .* left", text), repr(err)
    assert "100%" in text
    assert err.endswith("\x1b[2K")           # the last thing written erases the bar
    assert out.startswith("Built ") and imported == "True"
    out, err, _ = run_with_stderr_on("pty", ["build", "-q", "--no-cache", "-o", str(tmp_path / "d"), *longer],
                                     tmp_path)
    assert out == "" and err == ""          # --quiet: nothing, not even on a terminal


def test_no_bar_is_drawn_and_rich_not_loaded_when_stderr_is_not_a_terminal(tmp_path):
    out, err, imported = run_with_stderr_on("pipe", ["build", "--no-cache", "-o", str(tmp_path / "d"), *SMALL],
                                            tmp_path)
    assert err == "" and out.startswith("Built ")
    assert imported == "False"


def test_parallel_tasks_each_get_a_bar(tmp_path):
    import os
    import pty

    from deckgen.commands.progress import TerminalProgress

    leader, follower = pty.openpty()
    stream = os.fdopen(follower, "w", encoding="utf-8")
    try:
        bars = TerminalProgress(stream, delay=0)
        assert bars.enabled
        a, b = bars("variant 1: learning rate 0.1"), bars("variant 2: learning rate 10")
        a(500, 1000)
        b(250, 1000)
        a(1000, 1000)
        b(1000, 1000)         # every shown task done: the bars are drawn a last time, then cleared
        stream.flush()
        data = b""
        import select
        while select.select([leader], [], [], 1)[0]:
            data += os.read(leader, 65536)
    finally:
        stream.close()
        os.close(leader)
    text = data.decode("utf-8", errors="replace")
    assert "variant 1: learning rate 0.1" in text and "variant 2: learning rate 10" in text
    assert bars._bars is None


def test_templates_folder_with_a_quote_in_its_name(tmp_path):
    """--templates goes through the same path as --set without TOML quoting: a folder named it's works."""
    folder = tmp_path / "it's"
    folder.mkdir()
    (folder / "slides").mkdir()
    out = tmp_path / "deck"
    result = CliRunner().invoke(cli, ["build", "-q", "--templates", str(folder), "-o", str(out),
                                      "--set", "training.iterations=20", "--set", "deck.checkpoints=10"])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file()

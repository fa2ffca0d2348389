"""The README stays true: its commands are the ones CI runs, and it documents every config key."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from deckgen.commands.cli import cli
from deckgen.config import FIELDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"^\s*#\s+(python3 -m venv .*pytest.*)$", ci, re.M).group(1).strip()
    assert command in README
    run = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert command + " || status=$?" in run, "the command quoted in .ci/run's comment is not the one it runs"


def test_readme_documents_every_config_key():
    for key in FIELDS:
        if key in ("data.inputs", "data.targets"):
            assert "`data.inputs` / `data.targets`" in README
            continue
        assert f"| `{key}` |" in README, f"{key} missing from the README's config reference"


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, f"`deckgen {name} --help` has no example"


def test_readme_defaults_are_the_schemas():
    from deckgen.config.schema import default, default_text

    for key in FIELDS:
        if default(key) is None or key in ("data.inputs", "data.targets"):
            continue
        row = re.search(r"^\| `" + re.escape(key) + r"` \| ([^|]*) \|", README, re.M)
        assert row and row.group(1).strip() == f"`{default_text(key)}`", key


def test_the_default_talk_file_shows_the_defaults():
    """decks/trask.toml says every key in it holds its default: it must load to the built-in defaults."""
    import tomllib

    from deckgen.config import flatten
    from deckgen.config.schema import default, plain

    table = flatten(tomllib.loads((ROOT / "decks" / "trask.toml").read_text(encoding="utf-8")))
    assert table, "the default talk file sets no keys"
    for key, value in table.items():
        assert plain(value) == plain(default(key)), key


def test_keys_prints_each_default():
    from deckgen.config.schema import default_text

    out = CliRunner().invoke(cli, ["keys"]).output
    for key in FIELDS:
        assert re.search(rf"^{re.escape(key)} .*\(default: {re.escape(default_text(key))}\)$", out, re.M), key

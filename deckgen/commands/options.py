"""What several commands share: path checks, common options, loading the config, opening the cache."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from deckgen.commands.progress import TerminalProgress
from deckgen.errors import ConfigError, one_line
from deckgen.output import raise_terminated
from deckgen.pipeline import build
from deckgen.pipeline import load as load_deck
from deckgen.run.cache import TraceCache
from deckgen.run.cachedir import setting_warnings
from deckgen.run.variants import compare_override


class PathType(click.ParamType):
    """A file or folder path, checked in deckgen's own words.

    A wrong kind of path (a file where a folder is wanted, a missing folder
    that must exist) is a :class:`~deckgen.errors.ConfigError`: one
    ``deckgen: error: ... — what to do`` line and exit status 2, like every
    other mistake in what the user typed.
    """

    def __init__(self, kind: str, hint: str, *, exists: bool = False) -> None:
        self.kind, self.hint, self.exists = kind, hint, exists
        self.name = kind

    def convert(self, value, param, ctx) -> Path:
        path = Path(value)
        opts = getattr(param, "opts", None) if isinstance(param, click.Option) else None
        label = f"{'/'.join(opts)} {value}" if opts else str(value)
        if self.kind == "folder":
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{label}: is a file, not a folder — {self.hint}")
            if self.exists and not path.is_dir():
                raise ConfigError(f"{label}: no such folder — {self.hint}")
        else:
            if path.is_dir():
                raise ConfigError(f"{label}: is a folder, not a file — {self.hint}")
            if self.exists and not path.exists():
                raise ConfigError(f"{label}: no such file — {self.hint}")
        return path


OUT_HINT = "give the folder to build the deck into (default: build/<deck name>)"

def _debug(ctx: click.Context, _param, value: bool) -> bool:
    if value:
        ctx.meta["deckgen.debug"] = True
    return value


debug_option = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
                            help="Show the full traceback of an error.")
config_argument = click.argument("config", required=False, type=PathType(
    "file", "give a deck file (.toml), or run `deckgen new NAME` to write one"))
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a config key (TOML value), e.g. --set training.learning_rate=0.5. Repeatable.")
templates_option = click.option("--templates", type=PathType(
                                    "folder", "give the folder that holds your templates", exists=True),
                                help="Folder of your own templates, searched before the built-in ones.")
compare_option = click.option("--compare", "compare", multiple=True, metavar="KEY=V1,V2,...",
                              help="Add \"what if\" slides: one variant per value, e.g. "
                                   "--compare training.learning_rate=0.1,1,10 (replaces deck.compare). Repeatable.")
no_cache_option = click.option("--no-cache", is_flag=True,
                               help="Train even when the trace cache holds the run (and do not store it).")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings.")


def deck_options(command):
    """The options every command that builds a deck takes: --set, --templates, --compare, --no-cache, -q, --debug."""
    for option in (debug_option, quiet_option, no_cache_option, compare_option, templates_option, set_option):
        command = option(command)
    return command


def all_overrides(overrides: tuple[str, ...], compare: tuple[str, ...] = ()) -> list[str]:
    """``--set`` values plus what ``--compare`` means, as overrides."""
    extra = list(overrides)
    if compare:
        extra.append(compare_override(compare))
    return extra


def given(templates: Path | None) -> dict:
    """Options that set a config key directly (no TOML quoting): ``--templates`` is ``deck.templates``."""
    return {"deck.templates": str(templates.resolve())} if templates is not None else {}


def load(config: Path | None, overrides: tuple[str, ...], templates: Path | None = None,
         compare: tuple[str, ...] = ()):
    return load_deck(config, all_overrides(overrides, compare), values=given(templates))


def open_cache(no_cache: bool):
    """The user's trace cache, or None with --no-cache (or DECKGEN_NO_CACHE=1)."""
    if no_cache or os.environ.get("DECKGEN_NO_CACHE", "").lower() not in ("", "0", "false", "no"):
        return None
    return TraceCache() if warn_about_cache() else None


def warn_about_cache() -> bool:
    """Print a warning line for each problem with the cache's settings; whether the cache can be used."""
    problems, usable = setting_warnings()
    for problem in problems:
        click.echo(f"deckgen: warning: {one_line(problem)}", err=True)
    return usable


def run_build(cfg, out, *, force: bool = False, no_cache: bool = False, quiet: bool = False,
              jobs: int | None = None, trace_beside: bool = True):
    try:   # `timeout`, CI cancellation, `docker stop`: stop and clean up as for Ctrl-C
        previous = signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:   # not the main thread
        previous = None
    bars = TerminalProgress(enabled=False if quiet else None)
    try:
        return build(cfg, out, force=force, cache=open_cache(no_cache), progress=bars, jobs=jobs,
                     trace_beside=trace_beside, notice=lambda line: click.echo(f"deckgen: note: {line}", err=True))
    finally:
        bars.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

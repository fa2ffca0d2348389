"""The ``deckgen`` command: a thin layer over the Python API.

Every command parses its arguments, calls into the core and prints a summary.
Problems the user can fix arrive as :class:`~deckgen.errors.DeckgenError` and
leave as one ``deckgen: error: ...`` line per problem, with no traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import DeckgenError


class DeckgenGroup(click.Group):
    """Turns deckgen's own errors into clean messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DeckgenError as exc:
            if ctx.meta.get("deckgen.debug"):
                raise
            for message in exc.messages:
                click.echo(f"deckgen: error: {message}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("deckgen: interrupted — the previous deck was left as it was", err=True)
            ctx.exit(130)


def _debug(ctx: click.Context, _param, value: bool) -> bool:
    if value:
        ctx.meta["deckgen.debug"] = True
    return value


debug_option = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
                            help="Show the full traceback of an error.")
config_argument = click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a config key (TOML value), e.g. --set training.learning_rate=0.5. Repeatable.")
templates_option = click.option("--templates", type=click.Path(file_okay=False, exists=True, path_type=Path),
                                help="Folder of your own templates, searched before the built-in ones.")


def load(config: Path | None, overrides: tuple[str, ...], templates: Path | None = None):
    from .config import load_config

    extra = list(overrides)
    if templates is not None:
        extra.append(f"deck.templates={str(templates.resolve())!r}".replace("'", '"'))
    return load_config(config, extra)


@click.group(cls=DeckgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckgen")
@debug_option
def cli() -> None:
    """Turn a small neural network's training run into a reveal.js talk, number by number.

    \b
    Example:
      deckgen build                      # the built-in talk: Trask's 3-4-1 network
      deckgen build decks/iris.toml -o talk
    """


@cli.command()
@config_argument
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: build/<deck name>).")
@set_option
@templates_option
@click.option("--force", is_flag=True, help="Build into an existing folder that deckgen did not make (its files are kept).")
@click.option("--strict", is_flag=True, help="Exit non-zero when training diverges or gets stuck.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@debug_option
def build(config, out, overrides, templates, force, strict, quiet) -> None:
    """Build a deck from CONFIG (default: the built-in Trask talk).

    \b
    Example:
      deckgen build
      deckgen build decks/trask-2layer.toml -o build/two-layer
      deckgen build --set training.learning_rate=0.5 --set network.layers=[3,8,1]
    """
    from .build import build as run_build

    cfg = load(config, overrides, templates)
    result = run_build(cfg, out, force=force)
    diag = result.diagnosis
    if not quiet:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
        total = sum(result.timings.values())
        click.echo(f"Built {result.slides} slides in {total:.1f}s ({stages})")
        click.echo(f"  {result.out / 'index.html'}")
    if diag.get("kind") in ("diverged", "stuck"):
        hint = ("try a smaller training.learning_rate" if diag["kind"] == "diverged"
                else "the deck explains the usual causes")
        click.echo(f"deckgen: warning: {diag['message']} — {hint}", err=True)
    if strict and diag.get("kind") != "converged":
        sys.exit(3)


@cli.command()
@debug_option
def keys() -> None:
    """List every config key with what it does.

    \b
    Example:
      deckgen keys
    """
    from .config import FIELDS

    width = max(len(k) for k in FIELDS)
    for key, spec in FIELDS.items():
        click.echo(f"{key:<{width}}  {spec.help}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="deckgen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

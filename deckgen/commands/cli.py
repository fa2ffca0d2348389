"""The ``deckgen`` command: a thin layer over the Python API.

Every command parses its arguments, calls into the core and prints a summary.
Problems the user can fix arrive as :class:`~deckgen.errors.DeckgenError` and
leave as one ``deckgen: error: ...`` line per problem, with no traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
import webbrowser
from pathlib import Path

import click

from deckgen import __version__
from deckgen.commands.options import (OUT_HINT, PathType, all_overrides, compare_option, config_argument, debug_option, deck_options,
                                     given, load, no_cache_option, open_cache, quiet_option, run_build, set_option,
                                     templates_option, warn_about_cache)
from deckgen.commands.export import (build_inputs, check_target, export_pdf, export_single_file, find_browser,
                                     require_playwright)
from deckgen.commands.new import new_deck
from deckgen.commands.progress import TerminalProgress
from deckgen.config import FIELDS
from deckgen.config.schema import default_text
from deckgen.errors import DeckgenError, count, one_line
from deckgen.output import EXPORT_PREFIX, Terminated, scratch_folder, unlock
from deckgen.run.cache import TraceCache
from deckgen.run.serve import DevServer


class DeckgenGroup(click.Group):
    """Turns deckgen's own errors into clean messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DeckgenError as exc:
            if ctx.meta.get("deckgen.debug"):
                raise
            for message in exc.messages:
                click.echo(f"deckgen: error: {one_line(message)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            stopped = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            click.echo(f"deckgen: {stopped} — the previous deck was left as it was", err=True)
            ctx.exit(143 if isinstance(exc, Terminated) else 130)


# --------------------------------------------------------------------------- feedback

def summary(result) -> list[str]:
    """The lines printed after a build: slides, time per stage, where the trace came from, output."""
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    total = sum(result.timings.values())
    lines = [f"Built {result.slides} slides in {total:.1f}s ({stages})",
             "  trace: " + ("trained" if result.trained else "reused (no training needed)")]
    if result.data_note:
        lines.append(f"  data: {result.data_note}")
    if result.variants:
        trained = sum(1 for r in result.variants if r.trained)
        lines.append(f"  what-if variants: {len(result.variants)} ({trained} trained, "
                     f"{len(result.variants) - trained} reused)")
    lines.append(f"  {result.out / 'index.html'}")
    return lines


def warn_diagnosis(diag: dict) -> None:
    if diag.get("kind") in ("diverged", "overshot", "stuck"):
        hint = ("try a smaller training.learning_rate" if diag["kind"] in ("diverged", "overshot")
                else "the deck shows why, from its numbers")
        click.echo(f"deckgen: warning: {diag.get('message', 'training ' + diag['kind'])} — {hint}", err=True)


def warn_compare(cfg, result) -> None:
    """Say so when every what-if variant was left out for repeating the talk's own run."""
    if cfg.deck.compare and not result.variants:
        click.echo("deckgen: warning: every --compare / deck.compare variant trains the same run as this talk, so "
                   "there are no what-if slides — give values that differ from the talk's", err=True)


# --------------------------------------------------------------------------- commands

@click.group(cls=DeckgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckgen")
@debug_option
def cli() -> None:
    """Turn a small neural network's training run into a reveal.js talk, number by number.

    \b
    Example:
      deckgen build                      # the built-in talk: Trask's 3-4-1 network
      deckgen serve decks/iris.toml      # rebuild and reload the browser on every change
      deckgen export --pdf talk.pdf
    """


@cli.command()
@config_argument
@click.option("-o", "--out", type=PathType("folder", OUT_HINT), help="Output folder (default: build/<deck name>).")
@set_option
@templates_option
@compare_option
@click.option("--force", is_flag=True, help="Build into an existing folder that deckgen did not make (its files are kept).")
@click.option("--strict", is_flag=True, help="Exit non-zero when training diverges, overshoots or gets stuck.")
@no_cache_option
@click.option("-j", "--jobs", type=click.IntRange(1), help="Processes for training variants (default: one per core).")
@quiet_option
@debug_option
def build(config, out, overrides, templates, compare, force, strict, no_cache, jobs, quiet) -> None:
    """Build a deck from CONFIG (default: the built-in Trask talk).

    \b
    Example:
      deckgen build
      deckgen build decks/trask-2layer.toml -o build/two-layer
      deckgen build --set training.learning_rate=0.5 --set network.layers=[3,8,1]
      deckgen build --compare training.learning_rate=0.1,1,10
    """
    cfg = load(config, overrides, templates, compare)
    result = run_build(cfg, out, force=force, no_cache=no_cache, quiet=quiet, jobs=jobs)
    if not quiet:
        for line in summary(result):
            click.echo(line)
    warn_compare(cfg, result)
    warn_diagnosis(result.diagnosis)
    if strict and result.diagnosis.get("kind") != "converged":
        click.get_current_context().exit(3)


@cli.command()
@config_argument
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (the next free one when it is taken; 0: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Open the deck in the web browser.")
@click.option("-o", "--out", type=PathType("folder", OUT_HINT),
              help="Build into this folder (default: a temporary folder, so build/ is left alone).")
@click.option("--force", is_flag=True, help="With -o: build into a folder that deckgen did not make.")
@deck_options
def serve(config, port, open_browser, out, force, overrides, templates, compare, no_cache, quiet) -> None:
    """Build CONFIG, serve it on 127.0.0.1 and rebuild on every change.

    Watches the deck file, its CSV file and the template folders. The browser
    reloads on the slide it was showing; a failed rebuild shows its error over
    the last good deck.

    \b
    Example:
      deckgen serve
      deckgen serve decks/iris.toml --port 8080 --open
      deckgen serve --set training.learning_rate=0.5 --templates my-templates
    """

    def terminate(signum, frame):   # SIGTERM (a service manager, kill) stops the server like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    bars = TerminalProgress(enabled=False if quiet else None)
    server = DevServer(config, all_overrides(overrides, compare), values=given(templates), port=port, out=out, force=force,
                       cache=open_cache(no_cache), progress=bars,
                       echo=(lambda _m: None) if quiet else click.echo,
                       echo_error=lambda m: (bars.close(), click.echo(m, err=True)))
    server.start(fail_fast=True)   # a mistake found at start stops here; later ones show in the browser
    if not quiet:
        click.echo(f"Serving {server.url} (only on this machine) — watching {len(server.watched)} paths; "
                   "Ctrl-C to stop")
    if open_browser:
        webbrowser.open(server.url)
    server.serve_forever()
    bars.close()


@cli.command()
@config_argument
@click.option("--pdf", type=PathType("file", "give a file name for the PDF, like talk.pdf"),
              help="Write a PDF, one page per slide.")
@click.option("--fragments", is_flag=True, help="With --pdf: one page per fragment step instead.")
@click.option("--single-file", type=PathType("file", "give a file name for the page, like talk.html"),
              help="Write one HTML file with every asset inlined (opens offline, makes no request).")
@click.option("--browser", type=PathType("file", "give the Chromium or Chrome program itself"),
              help="Chromium or Chrome to print with (default: $DECKGEN_BROWSER, else chromium/google-chrome).")
@click.option("--force", is_flag=True,
              help="Replace an existing file that deckgen did not write (never the deck's own inputs).")
@deck_options
def export(config, pdf, fragments, single_file, browser, force, overrides, templates, compare, no_cache,
           quiet) -> None:
    """Build CONFIG and export it as a PDF and/or a single HTML file.

    \b
    Example:
      deckgen export --pdf talk.pdf
      deckgen export decks/iris.toml --pdf iris.pdf --fragments
      deckgen export --single-file talk.html --set deck.theme=black
    """

    if pdf is None and single_file is None:
        raise click.UsageError("say what to write: --pdf FILE and/or --single-file FILE.html")
    if fragments and pdf is None:
        raise click.UsageError("--fragments goes with --pdf FILE")
    if pdf is not None:
        find_browser(browser)   # fail before building, not after
        require_playwright()
    cfg = load(config, overrides, templates, compare)
    inputs = build_inputs(cfg)
    if pdf is not None and single_file is not None and Path(pdf).absolute() == Path(single_file).absolute():
        raise click.UsageError("--pdf and --single-file name the same file: give each its own name")
    if single_file is not None:
        check_target(single_file, inputs, force=force, option="--single-file")
    if pdf is not None:
        check_target(pdf, inputs, force=force, option="--pdf")
    tmp, lock = scratch_folder(EXPORT_PREFIX)   # locked: a later build's clean-up removes it only if this dies
    try:
        result = run_build(cfg, Path(tmp) / cfg.name, no_cache=no_cache, quiet=quiet, trace_beside=False)
        if not quiet:
            click.echo(summary(result)[0])
        warn_compare(cfg, result)
        warn_diagnosis(result.diagnosis)
        if single_file is not None:
            missing = export_single_file(result.out, single_file)
            for ref in missing:
                click.echo(f"deckgen: warning: {ref}: referenced by the deck but not found; left as it was", err=True)
            if not quiet:
                click.echo(f"  {single_file} ({single_file.stat().st_size / 2**20:.1f} MB, self-contained)")
        if pdf is not None:
            start = time.perf_counter()
            pages = export_pdf(result.out, pdf, fragments=fragments, browser=browser)
            if not quiet:
                click.echo(f"  {pdf} ({pages} pages, {time.perf_counter() - start:.1f}s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        unlock(lock)


@cli.command()
@click.argument("name")
@click.option("--data", type=PathType("file", "give a CSV file with a header row"),
              help="CSV file (with a header row) to learn from.")
@click.option("--target", multiple=True, metavar="COLUMN",
              help="Column to predict (default: the last one). Repeatable.")
@click.option("--dir", "folder", type=PathType("folder", "give the folder to write NAME.toml into"),
              default=Path("decks"),
              show_default=True, help="Folder to write NAME.toml into.")
@debug_option
def new(name, data, target, folder) -> None:
    """Write a fully commented deck file, FOLDER/NAME.toml, that builds as it stands.

    With --data the file is inferred from the CSV: its target column(s), "auto"
    layer sizes and a learning rate for its number of rows. An existing file is
    never overwritten.

    \b
    Example:
      deckgen new my-talk
      deckgen new iris --data data/iris.csv --target species
      deckgen build decks/iris.toml
    """

    path = new_deck(name, data=data, target=tuple(target), folder=folder)
    click.echo(f"Wrote {path} — build it with: deckgen build {path}")


@cli.command()
@debug_option
def keys() -> None:
    """List every config key with its default and what it does.

    \b
    Example:
      deckgen keys
    """
    width = max(len(k) for k in FIELDS)
    for key, spec in FIELDS.items():
        click.echo(f"{key:<{width}}  {spec.help} (default: {default_text(key)})")


@cli.group(cls=DeckgenGroup)
def cache() -> None:
    """The trace cache: trained runs kept so that slide-only changes skip training.

    It lives in $XDG_CACHE_HOME/deckgen/traces (~/.cache/deckgen/traces), or in
    $DECKGEN_CACHE_DIR; its size is bounded by $DECKGEN_CACHE_SIZE_MB (default
    1024), least recently used runs going first.

    \b
    Example:
      deckgen cache info
      deckgen cache clear
    """


@cache.command("info")
@debug_option
def cache_info() -> None:
    """Show where the cache is, how many runs it holds and its size.

    \b
    Example:
      deckgen cache info
    """
    warn_about_cache()
    info = TraceCache().info()
    click.echo(f"{info.folder}: {count(info.entries, 'run')}, {info.size / 2**20:.1f} MB of {info.limit / 2**20:.0f} MB")


@cache.command("clear")
@debug_option
def cache_clear() -> None:
    """Remove every cached run (and nothing deckgen did not make).

    \b
    Example:
      deckgen cache clear
    """
    warn_about_cache()
    cache_ = TraceCache()
    removed, foreign = cache_.clear()
    click.echo(f"Removed {count(removed, 'cached run')} from {cache_.folder}")
    if foreign:
        names = ", ".join(p.name for p in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        click.echo(f"Left {count(len(foreign), 'other item')} there that deckgen did not make ({names})")


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    try:
        # Without standalone mode, click returns the code of ctx.exit(...) instead of raising it.
        code = cli.main(args=argv, prog_name="deckgen", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Write a story into a folder: index.html, reveal.js assets, figures and the trace."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

from deckgen.config import Config
from deckgen.errors import ConfigError, too_large
from deckgen.output import scratch_folder, unlock
from deckgen.render.assets import copy_assets
from deckgen.render.env import make_environment, render_story
from deckgen.render.memo import draw_remembered
from deckgen.render.worker import FigureWorker
from deckgen.resources import reveal_version
from deckgen.core.kept import for_deck
from deckgen.core.trace import FILES
from deckgen.story import Story


def write_deck(story: Story, trace, config: Config, folder: Path, *, session=None,
               extra_figures: tuple = (), worker: FigureWorker | None = None,
               cache_copy: Path | None = None, compiled: Path | None = None) -> list[Path]:
    """Render a story into an empty ``folder``: index.html, assets, figures and the trace.

    The folder gets the deck's trace (light unless ``deck.full_trace``, see
    :func:`~deckgen.run.cache.for_deck`); ``cache_copy``, when given, the whole
    trace, for the trace cache. Both are saved on a second thread while the
    figures are drawn (the saving is mostly memory copies and file writes,
    which let go of the GIL); with a :class:`FigureWorker` the figures are
    drawn in that process meanwhile.
    """
    saved: list[BaseException] = []
    deck_trace = for_deck(trace, config)

    def save() -> None:
        try:
            deck_trace.save(folder)
            if cache_copy is not None and deck_trace is trace:   # the same files: copying beats saving again
                for name in FILES:
                    shutil.copyfile(folder / name, cache_copy / name)
            elif cache_copy is not None:
                trace.save(cache_copy)
        except BaseException as exc:  # raised again in the building thread
            saved.append(exc)

    saver = threading.Thread(target=save, name="deckgen-save-trace")
    scratch = scratch_lock = None
    try:
        if worker is not None:
            scratch, scratch_lock = scratch_folder()   # locked: a later build's clean-up leaves it alone
        delegated = worker is not None and worker.send(trace, story.figures, folder, scratch)  # before the imports
        saver.start()

        user_dirs = tuple(p for p in (config.deck.templates,) if p is not None)
        if session is not None:
            env = session.envs.get(user_dirs) or session.envs.setdefault(user_dirs, make_environment(user_dirs))
        else:
            env = make_environment(user_dirs, compiled)
        written = copy_assets(folder, story.theme, user_dirs)
        for spec in extra_figures:
            from deckgen.render.figures import draw_compare, figure_token   # matplotlib: only when drawn here
            draw_remembered(session, figure_token(spec), trace,
                             lambda t, spec=spec: draw_compare(spec, folder / spec["path"]), folder / spec["path"])
            written.append(folder / spec["path"])
        html = render_story(env, story, reveal_version=reveal_version(),
                            theme_css=f"assets/reveal/theme/{story.theme}.css")
        (folder / "index.html").write_text(html, encoding="utf-8")
        if not (delegated and worker.wait()):       # drawn here: no worker, or it could not
            from deckgen.render.figures import draw_figures   # matplotlib: only when drawn here
            for spec in story.figures:
                token = json.dumps(spec, sort_keys=True, default=str)
                try:
                    draw_remembered(session, token, trace, lambda t, spec=spec: draw_figures(t, [spec], folder),
                                    folder / spec["path"])
                except (ValueError, OverflowError, FloatingPointError) as exc:   # matplotlib on huge values
                    raise ConfigError(too_large(config, f"the figure {spec['path']} cannot be drawn: its "
                                                        f"numbers are too large to plot ({exc})")) from exc
        written += [folder / spec["path"] for spec in story.figures]
    finally:
        if saver.is_alive():
            saver.join()
        if worker is not None:
            worker.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
            unlock(scratch_lock)
    if saved:
        raise saved[0]
    written += [folder / "index.html", folder / "trace.npz", folder / "trace.json"]
    return written

"""``deckgen.build(config, out)``: the whole pipeline, written safely.

config -> dataset -> trace -> story -> HTML + figures + assets, built in a
temporary folder beside ``out`` and swapped into place only when complete, so a
failed or interrupted build leaves the last good deck as it was.

Training is the slow stage. With a :class:`~deckgen.run.cache.TraceCache` a run
is trained once per training setup; with a :class:`~deckgen.run.session.Session`
(what ``deckgen serve`` keeps between rebuilds) the last traces, figures and
template environment stay in memory too, so a change to the slides alone
rebuilds in a fraction of a second.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from deckgen.config import Config, load_config
from deckgen.data import load_dataset, resolve_layers
from deckgen.data.csvfile import problems as csv_problems
from deckgen.errors import ConfigError, too_large
from deckgen.output import check_out, recover, staging, sweep_scratch
from deckgen.render.deck import write_deck
from deckgen.render.worker import FigureWorker
from deckgen.run.session import Session
from deckgen.run.traces import obtain_trace, remember, train_for, trace_key
from deckgen.core.diagnose import diagnose
from deckgen.run.cures import cure_rows, cure_variants
from deckgen.core.kept import final_iteration
from deckgen.run.variants import VariantJobs, changed_names, main_label, summarize, variants_of
from deckgen.story import build_story
from deckgen.story.compare import compare_slides, insert_slides

#: ``progress(label)`` returns ``update(done, total)``; see :func:`~deckgen.run.traces.train_for`.
Progress = Callable[[str], Callable[[int, int], None]]


@dataclass
class BuildResult:
    out: Path
    slides: int
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: dict = field(default_factory=dict)
    trained: bool = True               # False when the trace came from the cache or the session
    variants: list = field(default_factory=list)   # compare.Run of every "what if" variant
    data_note: str = ""                # rows left out for gaps, filled gaps and held-out rows, in words


def try_cures(config: Config, layers, trace, **jobs) -> tuple:
    """For a run that got stuck, overshot or blew up: the cures tried and what each gave (``deck.try_cures``)."""
    if not config.deck.try_cures:
        return ()
    diag = diagnose(trace)
    if diag["kind"] == "converged":
        return ()
    tried = cure_variants(config, layers, diag["kind"])
    if not tried:
        return ()
    runs = VariantJobs([v for v, _ in tried], **jobs).results()
    own = float(trace.series("mae")[final_iteration(trace)])
    return cure_rows(runs, {v.index: setting for v, setting in tried}, own, config.deck.precision)


def load(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (), *,
         values: dict | None = None) -> Config:
    """Read and validate a deck file with ``--set`` overrides (None: the built-in talk).

    Like :func:`deckgen.config.load_config`, but when the config has problems
    and names a CSV file, that file's problems are reported in the same go.
    """
    try:
        return load_config(path, overrides, values=values)
    except ConfigError as exc:
        if exc.csv is not None:
            exc.messages += csv_problems(**exc.csv)
        raise


def default_out(config: Config) -> Path:
    return Path("build") / config.name


def build(config: Config, out: str | Path | None = None, *, force: bool = False,
          trainer: Callable | None = None, cache=None, session: Session | None = None,
          progress: Progress | None = None, jobs: int | None = None, trace_beside: bool = True,
          notice: Callable[[str], None] | None = None) -> BuildResult:
    """Build the deck a config describes into ``out`` (default ``build/<name>``).

    ``cache``: a :class:`~deckgen.run.cache.TraceCache` to reuse and store runs in
    (None: always train). ``session``: a :class:`Session` kept between builds.
    ``progress``: see :data:`Progress`. ``jobs``: processes for comparison variants.
    ``trace_beside``: False when the deck is built to be exported (a PDF, a single
    file), so its last slide does not claim a ``trace.npz`` beside it.
    ``notice``: told, in one line, what was cleaned up after builds that were killed.
    """
    out = Path(out) if out is not None else default_out(config)
    out = out.absolute()
    notes = recover(out)    # what builds killed earlier left beside out (a swap cut short first)
    scratches, freed = sweep_scratch()
    if scratches:
        notes.append(f"removed {scratches} temporary folder{'s' if scratches != 1 else ''} of interrupted builds "
                     f"from the temporary directory ({freed / 2**20:.1f} MB)")
    if notice is not None and notes:
        notice("; ".join(notes))
    check_out(out, force)   # a folder that cannot be built into stops the build before training
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    if session is not None:
        session.start()
    dataset = load_dataset(config)
    layers = resolve_layers(config, dataset)
    key = trace_key(config, dataset, layers)
    lap("data")
    trained = []

    def counted_trainer(*args):
        trained.append(True)
        return (trainer or train_for)(*args)

    bar = progress("training") if progress is not None else None

    def train_with_bar(cfg, data, lay):
        trained.append(True)
        return train_for(cfg, data, lay, progress=bar)

    variants, jobs_ = [], None
    if config.deck.compare:   # variants start training in other processes while the main run trains here
        variants = variants_of(config)
        jobs_ = VariantJobs(variants, cache=cache, session=session, progress=progress, jobs=jobs)
    worker = None
    try:
        trace = obtain_trace(config, dataset, layers, key=key, cache=cache, session=session, lookup_only=True)
        if trace is None:
            if session is None and FigureWorker.wanted():   # matplotlib loads there while this trains
                worker = FigureWorker()
            trace = obtain_trace(config, dataset, layers, key=key, session=session, store=False,
                                 trainer=counted_trainer if trainer is not None else train_with_bar)
        lap("train")
        runs = jobs_.results() if jobs_ is not None else []
    except BaseException:
        if jobs_ is not None:
            jobs_.cancel()
        if worker is not None:
            worker.close()
        raise
    if jobs_ is not None:
        lap("compare")
    if trace.stopped_at == 0:
        if worker is not None:
            worker.close()
        raise ConfigError(too_large(config, "training stopped at iteration 0: the first forward pass already gave "
                                            "infinite or NaN values, so there is no iteration to show"))
    cures = try_cures(config, layers, trace, cache=cache, session=session, progress=progress, jobs=jobs)
    if cures:
        lap("cures")
    extra_figures: tuple = ()
    with np.errstate(all="ignore"):    # overflow to inf or 0 is what the slides then show; no warning lines
        story = build_story(config, dataset, trace, trace_beside=trace_beside, cures=cures)
    if runs:
        main = summarize(trace, main_label(config, variants), 0, key=key)
        slides, figure = compare_slides(main, runs, trace, config, dataset, changed_names(variants))
        story = replace(story, slides=insert_slides(story.slides, slides))
        extra_figures = (figure,)
    lap("story")
    # a new run goes into the cache whole (the deck folder's copy may be light), saved beside the deck's
    cache_copy = cache.reserve() if trained and cache is not None else None
    try:
        with staging(out, force) as tmp, np.errstate(all="ignore"):   # installed into out only when all is written
            write_deck(story, trace, config, tmp, session=session, extra_figures=extra_figures, worker=worker,
                       cache_copy=cache_copy, compiled=cache.templates if cache is not None else None)
            lap("render")
            if cache_copy is not None:
                remember(trace, config, key, cache=cache, session=session, staged=cache_copy)
                cache_copy = None
    finally:
        if cache_copy is not None:         # the build failed before the run was stored
            shutil.rmtree(cache_copy, ignore_errors=True)
    lap("write")
    if session is not None:
        session.finish()
    return BuildResult(out=out, slides=len(story.slides), timings=timings, diagnosis=story.summary["diagnosis"],
                       trained=bool(trained), variants=runs, data_note=data_note(dataset))


def data_note(dataset) -> str:
    """What happened to the data's rows before training, for the terminal ("" when nothing did)."""
    parts = []
    if dataset.dropped:
        parts.append(f"{dataset.dropped:,} row{'s' if dataset.dropped != 1 else ''} with a gap left out (data.missing)")
    if dataset.filled:
        parts.append(f"{dataset.filled:,} gap{'s' if dataset.filled != 1 else ''} filled with the column mean")
    if dataset.n_test:
        parts.append(f"{dataset.n_test:,} held out for testing (data.test_fraction), "
                     f"{dataset.n_examples:,} trained on")
    return "; ".join(parts)

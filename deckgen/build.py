"""``deckgen.build(config, out)``: the whole pipeline, written safely.

config -> dataset -> trace -> story -> HTML + figures + assets, built in a
temporary folder beside ``out`` and swapped into place only when complete, so a
failed or interrupted build leaves the last good deck as it was.

Training is the slow stage. With a :class:`~deckgen.cache.TraceCache` a run is
trained once per training setup; with a :class:`Session` (what ``deckgen serve``
keeps between rebuilds) the last traces, figures and template environment stay
in memory too, so a change to the slides alone rebuilds in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .config import Config
from .errors import ConfigError
from .data import Dataset, load_dataset, resolve_layers
from .output import _unlock, check_out, recover, scratch_folder, staging, sweep_scratch
from .story import Story, build_story

#: ``progress(label)`` returns ``update(done, total)``; see :func:`train_for`.
Progress = Callable[[str], Callable[[int, int], None]]


@dataclass
class BuildResult:
    out: Path
    slides: int
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: dict = field(default_factory=dict)
    trained: bool = True               # False when the trace came from the cache or the session
    variants: list = field(default_factory=list)   # compare.Run of every "what if" variant


@dataclass
class Session:
    """What a long-lived process keeps between builds: the last traces, figures and templates.

    Everything is keyed by what it depends on, and only what the last build
    used is kept, so memory stays bounded by one build. Work that need not
    hold up a build (storing a new run in the trace cache) runs on one
    background thread; :meth:`close` waits for it.
    """

    traces: dict[str, tuple] = field(default_factory=dict)      # cache key -> (trace, by_budget)
    figures: dict[str, tuple] = field(default_factory=dict)     # figure -> (what it read, digest, SVG bytes)
    envs: dict[tuple, object] = field(default_factory=dict)     # template folders -> Jinja2 environment
    used: set = field(default_factory=set)
    _background: object = None

    def start(self) -> None:
        self.used = set()

    def finish(self) -> None:
        """Forget what the build that just ended did not use."""
        for memo in (self.traces, self.figures):
            for key in [k for k in memo if k not in self.used]:
                del memo[key]

    def defer(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` after the build, on the session's background thread (errors are dropped)."""
        if self._background is None:
            from concurrent.futures import ThreadPoolExecutor
            self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deckgen-session")
        self._background.submit(fn)

    def close(self) -> None:
        """Wait for background work (so a stored run is complete) and stop the thread."""
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None


def _accepts_progress(fn) -> bool:
    try:
        return "progress" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def train_for(config: Config, dataset: Dataset, layers: tuple[int, ...], progress: Callable | None = None):
    """Train the network a config describes and return its trace.

    ``progress(done, total)`` is called as iterations complete, when the
    training code reports progress.
    """
    import numpy as np

    from .train import train

    net, tr = config.network, config.training
    extra = {"progress": progress} if progress is not None and _accepts_progress(train) else {}
    return train(
        dataset.X, dataset.y, layers,
        activation=net.activation, learning_rate=tr.learning_rate, iterations=tr.iterations, seed=tr.seed,
        weights=[np.array(w, dtype=float) for w in net.weights] if net.weights else None,
        biases=[np.array(b, dtype=float) for b in net.biases] if net.biases else None,
        bias=net.bias, explain=config.deck.explain, checkpoints=config.deck.checkpoints,
        memory_budget=int(tr.memory_budget_mb * 2**20), **extra,
    )


def trace_key(config: Config, dataset: Dataset, layers: tuple[int, ...]) -> str:
    from .cache import training_key
    return training_key(config, dataset, layers)


def obtain_trace(config: Config, dataset: Dataset, layers, *, key: str, cache=None, session: Session | None = None,
                 lookup_only: bool = False, trainer: Callable | None = None, progress: Callable | None = None,
                 store: bool = True):
    """The run's trace from the session, the cache, or (unless ``lookup_only``) a fresh training run.

    Returns the trace, or None with ``lookup_only`` when nothing held it. A
    fresh run goes into the session, and into the cache unless ``store`` is
    False (the caller then stores the files it saves, see :func:`remember`).
    """
    from .cache import fit_to

    if session is not None and key in session.traces:
        held, budget = session.traces[key]
        trace = fit_to(held, config, budget)
        if trace is not None:
            session.used.add(key)
            return trace
    if cache is not None:
        entry = cache.entry(key)
        trace = fit_to(entry[0], config, entry[1]) if entry is not None else None
        if trace is not None:
            if session is not None:
                session.traces[key] = entry
                session.used.add(key)
            return trace
    if lookup_only:
        return None
    if trainer is not None:
        trace = trainer(config, dataset, layers)
    else:
        trace = train_for(config, dataset, layers, progress=progress)
    remember(trace, config, key, cache=cache if store else None, session=session)
    return trace


def remember(trace, config: Config, key: str, *, cache=None, session: Session | None = None,
             folder: Path | None = None) -> None:
    """Keep a freshly trained trace in the cache and the session.

    ``folder``: where the trace was just saved; its files are copied into the
    cache rather than saved again, and with a session the rest of the work
    (checksums, eviction) happens after the build, in the background.
    """
    if cache is not None:
        if folder is None:
            cache.put(key, trace, config)
        else:
            staged = cache.stage(folder)
            if session is not None:
                session.defer(lambda: cache.commit(key, staged, trace, config))
            else:
                cache.commit(key, staged, trace, config)
    if session is not None:
        from .cache import by_budget
        session.traces[key] = (trace, by_budget(trace, config))
        session.used.add(key)


def default_out(config: Config) -> Path:
    return Path("build") / config.name


class _Reads:
    """A trace that notes what a figure reads from it, so a rebuild can tell whether the figure changed."""

    def __init__(self, trace) -> None:
        self._trace = trace
        self.reads: list[tuple] = []

    def __getattr__(self, name):
        value = getattr(self._trace, name)
        if callable(value):
            def call(*args):
                self.reads.append((name, args))
                return value(*args)
            return call
        self.reads.append((name, None))
        return value


def _digest(trace, reads) -> str | None:
    """A digest of what ``reads`` give on ``trace`` (None when one of them fails)."""
    h = hashlib.sha256()
    for name, args in reads:
        try:
            value = getattr(trace, name)(*args) if args is not None else getattr(trace, name)
        except Exception:
            return None
        h.update(repr((name, args)).encode())
        if hasattr(value, "tobytes"):
            h.update(repr((value.dtype.str, value.shape)).encode() + value.tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def _draw_remembered(session: Session | None, token: str, trace, draw: Callable, target: Path) -> None:
    """Draw a figure, or with a session write the same figure again when what it reads is unchanged."""
    if session is None:
        draw(trace)
        return
    held = session.figures.get(token)
    if held is not None and _digest(trace, held[0]) == held[1]:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(held[2])
    else:
        reads = _Reads(trace)
        draw(reads)
        session.figures[token] = (reads.reads, _digest(trace, reads.reads), target.read_bytes())
    session.used.add(token)


class FigureWorker:
    """A second process that loads matplotlib while this one trains, then draws the deck's figures.

    A cold build spends about a third of its time importing matplotlib and
    drawing; on a machine with more than one core that work overlaps training
    and the rest of the rendering. The worker gets a small copy of the trace
    (the iterations the figures name, and the error series). Anything that goes
    wrong is reported back, and the figures are then drawn here instead.
    """

    def __init__(self) -> None:
        import subprocess
        import sys

        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])   # a checkout that is not installed works too
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from deckgen.build import figure_worker_main; "
                                   "sys.exit(figure_worker_main())"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.sent = False

    @staticmethod
    def wanted() -> bool:
        return (os.cpu_count() or 1) > 1 and os.environ.get("DECKGEN_FIGURE_WORKER", "1") != "0"

    def send(self, trace, specs, folder: Path, scratch: Path) -> bool:
        """Hand the figures over; False when they cannot go (then draw them here)."""
        from .cache import _subset

        try:
            named = sorted({int(v) for spec in specs for k, v in spec.items() if k == "t"}
                           | {int(t) for spec in specs for t in spec.get("checkpoints", ())})
            small = _subset(trace, [t for t in named if t in trace.kept]) if trace.stopped_at is None else trace
            small.save(scratch)
            job = json.dumps({"trace": str(scratch), "specs": list(specs), "out": str(folder)},
                             default=lambda o: o.item() if hasattr(o, "item") else str(o))
            self.proc.stdin.write(job + "\n")
            self.proc.stdin.close()
            self.proc.stdin = None
        except Exception:
            self.close()
            return False
        self.sent = True
        return True

    def wait(self) -> bool:
        """True when the worker drew every figure."""
        try:
            out, _ = self.proc.communicate(timeout=300)
            answer = out.strip().splitlines()
            return self.proc.returncode == 0 and bool(answer) and answer[-1] == "ok"
        except Exception:
            return False
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def figure_worker_main() -> int:
    """The figure worker's side: import, wait for one job, draw, answer ``ok``."""
    import sys

    from .render.figures import draw_figures
    from .trace import load_trace

    line = sys.stdin.readline()
    if not line:
        return 0
    job = json.loads(line)
    draw_figures(load_trace(job["trace"]), job["specs"], Path(job["out"]))
    print("ok", flush=True)
    return 0


def write_deck(story: Story, trace, config: Config, folder: Path, *, session: Session | None = None,
               extra_figures: tuple = (), worker: FigureWorker | None = None) -> list[Path]:
    """Render a story into an empty ``folder``: index.html, assets, figures and the trace.

    The trace is saved on a second thread while the figures are drawn (the
    saving is mostly memory copies and file writes, which let go of the GIL);
    with a :class:`FigureWorker` the figures are drawn in that process meanwhile.
    """
    import tempfile
    import threading

    saved: list[BaseException] = []

    def save() -> None:
        try:
            trace.save(folder)
        except BaseException as exc:  # raised again in the building thread
            saved.append(exc)

    saver = threading.Thread(target=save, name="deckgen-save-trace")
    scratch = scratch_lock = None
    try:
        if worker is not None:
            scratch, scratch_lock = scratch_folder()   # locked: a later build's clean-up leaves it alone
        delegated = worker is not None and worker.send(trace, story.figures, folder, scratch)  # before the imports
        saver.start()

        from .render import copy_assets, make_environment, render_story   # matplotlib only if drawn here
        from .resources import reveal_version

        user_dirs = tuple(p for p in (config.deck.templates,) if p is not None)
        if session is not None:
            env = session.envs.get(user_dirs) or session.envs.setdefault(user_dirs, make_environment(user_dirs))
        else:
            env = make_environment(user_dirs)
        written = copy_assets(folder, story.theme, user_dirs)
        for spec in extra_figures:
            from .compare import draw_compare, figure_token
            _draw_remembered(session, figure_token(spec), trace,
                             lambda t, spec=spec: draw_compare(spec, folder / spec["path"]), folder / spec["path"])
            written.append(folder / spec["path"])
        html = render_story(env, story, reveal_version=reveal_version(),
                            theme_css=f"assets/reveal/theme/{story.theme}.css")
        (folder / "index.html").write_text(html, encoding="utf-8")
        if not (delegated and worker.wait()):       # drawn here: no worker, or it could not
            from .render import draw_figures
            for spec in story.figures:
                token = json.dumps(spec, sort_keys=True, default=str)
                try:
                    _draw_remembered(session, token, trace, lambda t, spec=spec: draw_figures(t, [spec], folder),
                                     folder / spec["path"])
                except (ValueError, OverflowError, FloatingPointError) as exc:   # matplotlib on huge values
                    raise ConfigError(_too_large(config, f"the figure {spec['path']} cannot be drawn: its "
                                                         f"numbers are too large to plot ({exc})")) from exc
        written += [folder / spec["path"] for spec in story.figures]
    finally:
        if saver.is_alive():
            saver.join()
        if worker is not None:
            worker.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
            _unlock(scratch_lock)
    if saved:
        raise saved[0]
    written += [folder / "index.html", folder / "trace.npz", folder / "trace.json"]
    return written


def _too_large(config: Config, what: str) -> str:
    """The message for numbers too large to train on or draw: ``what`` happened — how to make them smaller."""
    from .config import located

    if config.network.weights is not None:
        key, fix = "network.weights", "use smaller initial weights"
    elif config.data.csv is not None:
        key, fix = "data.scale", 'scale the inputs (data.scale = "minmax") or use smaller values in the CSV file'
    else:
        key, fix = "data.inputs", "use smaller input values"
    return f"{located(config.where(key), key)}: {what} — {fix}"


def build(config: Config, out: str | Path | None = None, *, force: bool = False,
          trainer: Callable | None = None, cache=None, session: Session | None = None,
          progress: Progress | None = None, jobs: int | None = None,
          notice: Callable[[str], None] | None = None) -> BuildResult:
    """Build the deck a config describes into ``out`` (default ``build/<name>``).

    ``cache``: a :class:`~deckgen.cache.TraceCache` to reuse and store runs in
    (None: always train). ``session``: a :class:`Session` kept between builds.
    ``progress``: see :data:`Progress`. ``jobs``: processes for comparison variants.
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
        from .compare import VariantJobs, variants_of
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
        raise ConfigError(_too_large(config, "training stopped at iteration 0: the first forward pass already gave "
                                             "infinite or NaN values, so there is no iteration to show"))
    extra_figures: tuple = ()
    with np.errstate(all="ignore"):    # overflow to inf or 0 is what the slides then show; no warning lines
        story = build_story(config, dataset, trace)
    if runs:
        from .compare import compare_slides, insert_slides, main_label, summarize
        main = summarize(trace, main_label(config, variants), 0, key=key)
        slides, figure = compare_slides(main, runs, trace, config, dataset, variants)
        story = replace(story, slides=insert_slides(story.slides, slides))
        extra_figures = (figure,)
    lap("story")
    with staging(out, force) as tmp, np.errstate(all="ignore"):   # huge values: the slides show inf, not warnings
        write_deck(story, trace, config, tmp, session=session, extra_figures=extra_figures, worker=worker)
        lap("render")
        if trained and cache is not None:   # a new run: into the cache, from the files just saved
            remember(trace, config, key, cache=cache, session=session, folder=tmp)
    lap("write")
    if session is not None:
        session.finish()
    return BuildResult(out=out, slides=len(story.slides), timings=timings, diagnosis=story.summary["diagnosis"],
                       trained=bool(trained), variants=runs)

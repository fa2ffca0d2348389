"""Where a build's trace comes from: the session, the trace cache, or a fresh training run."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

import numpy as np

from deckgen.config import Config
from deckgen.core import train as core_train
from deckgen.core.heldout import with_heldout
from deckgen.data import Dataset
from deckgen.run.cache import by_budget, fit_to, training_key
from deckgen.run.session import Session


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
    net, tr = config.network, config.training
    extra = {"progress": progress} if progress is not None and _accepts_progress(core_train.train) else {}
    trace = core_train.train(
        dataset.X, dataset.y, layers,
        activation=net.activation, output=net.output, loss=tr.loss, batch_size=tr.batch_size,
        learning_rate=tr.learning_rate, iterations=tr.iterations, seed=tr.seed,
        weights=[np.array(w, dtype=float) for w in net.weights] if net.weights else None,
        biases=[np.array(b, dtype=float) for b in net.biases] if net.biases else None,
        bias=net.bias, explain=config.deck.explain, checkpoints=config.deck.checkpoints,
        memory_budget=int(tr.memory_budget_mb * 2**20), **extra,
    )
    return with_heldout(trace, dataset.X_test, dataset.y_test)   # the held-out rows, evaluated once trained


def trace_key(config: Config, dataset: Dataset, layers: tuple[int, ...]) -> str:
    return training_key(config, dataset, layers)


def obtain_trace(config: Config, dataset: Dataset, layers, *, key: str, cache=None, session: Session | None = None,
                 lookup_only: bool = False, trainer: Callable | None = None, progress: Callable | None = None,
                 store: bool = True):
    """The run's trace from the session, the cache, or (unless ``lookup_only``) a fresh training run.

    Returns the trace, or None with ``lookup_only`` when nothing held it. A
    fresh run goes into the session, and into the cache unless ``store`` is
    False (the caller then stores the files it saves, see :func:`remember`).
    """
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
        trace = with_heldout(trainer(config, dataset, layers), dataset.X_test, dataset.y_test)
    else:
        trace = train_for(config, dataset, layers, progress=progress)
    remember(trace, config, key, cache=cache if store else None, session=session)
    return trace


def remember(trace, config: Config, key: str, *, cache=None, session: Session | None = None,
             folder: Path | None = None, staged: Path | None = None) -> None:
    """Keep a freshly trained trace in the cache and the session.

    ``folder``: where the trace was just saved; its files are copied into the
    cache rather than saved again. ``staged``: a folder from
    :meth:`~deckgen.run.cache.TraceCache.reserve` the trace was saved into. With
    either and a session, the rest of the work (checksums, eviction) happens
    after the build, in the background.
    """
    if cache is not None:
        if folder is None and staged is None:
            cache.put(key, trace, config)
        else:
            staged = staged if staged is not None else cache.stage(folder)
            if session is not None:
                session.defer(lambda: cache.commit(key, staged, trace, config))
            else:
                cache.commit(key, staged, trace, config)
    if session is not None:
        session.traces[key] = (trace, by_budget(trace, config))
        session.used.add(key)

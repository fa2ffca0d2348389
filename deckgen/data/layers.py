"""Check the network against the data: layer widths, explicit weights and biases, the memory budget."""

from __future__ import annotations

import math
import os

from deckgen.config import Config, biases_problem, weights_problem
from deckgen.core.kept import kept_count
from deckgen.core.losses import target_problem
from deckgen.data.dataset import Dataset
from deckgen.errors import ConfigError, count, located


def recording_bytes(layers: tuple[int, ...], n_examples: int, bias: bool) -> int:
    """Bytes of one iteration's recorded matrices: W z a e d dW (and b db) of every layer."""
    total = 0
    for k in range(1, len(layers)):
        total += 2 * layers[k - 1] * layers[k] + 4 * n_examples * layers[k] + (2 * layers[k] if bias else 0)
    return 8 * total


def minimum_kept(config: Config) -> int:
    """How many iterations training keeps at the least (see :func:`deckgen.core.kept.kept_count`)."""
    return kept_count(config.training.iterations, config.deck.explain, config.deck.checkpoints)


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, when the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**20:.2f} MB"


def resolve_layers(config: Config, dataset: Dataset) -> tuple[int, ...]:
    """Layer sizes with ``"auto"`` filled in from the data.

    Raises every clash with the data at once: widths, explicit weights and biases
    of the wrong shapes, and a run too large to record under ``training.memory_budget_mb``.
    """
    layers = list(config.network.layers)
    n_in, n_out = dataset.X.shape[1], dataset.y.shape[1]
    if layers[0] == "auto":
        layers[0] = n_in
    if layers[-1] == "auto":
        layers[-1] = n_out
    where = config.where("network.layers")
    errors = []
    if layers[0] != n_in:
        errors.append(f"{where}: network.layers starts with {count(layers[0], 'input')} but the data has "
                      f"{count(n_in, 'input column')} ({_names(dataset.feature_names)}) — use {n_in} or \"auto\"")
    if layers[-1] != n_out:
        errors.append(f"{where}: network.layers ends with {count(layers[-1], 'output')} but the data has "
                      f"{count(n_out, 'target column')} ({_names(dataset.target_names)}) — use {n_out} or \"auto\"")
    net = config.network
    problem = None if errors else target_problem(net.output, config.training.loss, dataset.y)
    if problem:
        key = "network.output" if "network.output" in config.locations else "training.loss"
        fix = ('use network.output = "sigmoid" for one output column' if n_out == 1 else
               'use network.output = "linear" with training.loss = "squared" for numbers' if "between" in problem else
               'use a categorical target column, or network.output = "sigmoid"')
        errors.append(f"{located(config.where(key), key)}: {problem}, but the data has "
                      f"{count(n_out, 'target column')} ({_names(dataset.target_names)}) — {fix}")
    if not errors and net.weights is not None:
        problem = weights_problem(layers, net.weights)
        if problem:
            errors.append(f"{config.where('network.weights')}: network.weights {problem}")
    if not errors and net.biases is not None:
        problem = biases_problem(layers, net.biases)
        if problem:
            errors.append(f"{config.where('network.biases')}: network.biases {problem}")
    if not errors:
        per_iteration = recording_bytes(tuple(layers), dataset.n_examples, net.bias)
        T = config.training.iterations
        kept = minimum_kept(config)
        need = per_iteration * kept + 16 * (T + 1) + dataset.X.nbytes + dataset.y.nbytes
        budget = config.training.memory_budget_mb * 2**20
        memory = machine_memory()
        if memory is not None and need > memory / 2:
            errors.append(
                f"{located(config.where('network.layers'), 'network.layers')}: recording this run needs about "
                f"{_mb(need)} ({count(dataset.n_examples, 'row')}, {_mb(per_iteration)} per recorded iteration, "
                f"{count(kept, 'iteration')} that must be kept), more than half of this machine's memory "
                f"({_mb(memory)}) — use fewer rows, hidden units, checkpoints or iterations")
        elif need > budget:
            errors.append(
                f"{located(config.where('training.memory_budget_mb'), 'training.memory_budget_mb')}: recording this run needs "
                f"about {_mb(need)} ({count(dataset.n_examples, 'row')}, {_mb(per_iteration)} per recorded iteration, "
                f"{count(kept, 'iteration')} that must be kept, plus the error of all {T:,}), more than the budget of "
                f"{_mb(budget)} — raise training.memory_budget_mb to {math.ceil(need / 2**20 * 1.1)}, "
                "or use fewer rows, hidden units, checkpoints or iterations")
    if errors:
        raise ConfigError(*errors)
    return tuple(int(n) for n in layers)


def _names(names) -> str:
    names = [" ".join(str(n).split()) for n in names]
    return ", ".join(names[:6] + (["…"] if len(names) > 6 else []))

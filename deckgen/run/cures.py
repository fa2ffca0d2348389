"""Cures for a failed run, tried rather than guessed: short variant runs through the what-if machinery.

A stuck run is retried with more hidden units, trained biases, another seed
and more iterations; a run that overshot or blew up with smaller learning
rates. The variants train in parallel worker processes through the trace
cache, like ``deck.compare``, and the trouble slides report which helped.
"""

from __future__ import annotations

from deckgen.config import Config
from deckgen.errors import ConfigError
from deckgen.run.variants import Variant, distinct
from deckgen.story.views import fmt

#: Cures never train more iterations than this, so trying them stays quick.
MAX_ITERATIONS = 200_000
#: A variant only keeps what the trouble slides need.
_SLIDES = {"deck.explain": [], "deck.checkpoints": [], "deck.compare": []}


def _candidates(config: Config, layers: tuple[int, ...], kind: str) -> list[tuple[str, str, dict]]:
    """(slide label, setting for the notes, overrides) of each cure worth trying for a run of ``kind``."""
    net, tr = config.network, config.training
    out = []
    if kind == "stuck":
        if net.weights is None:
            wider = [layers[0], *(2 * n for n in layers[1:-1]), layers[-1]] if len(layers) > 2 else [layers[0], 4, layers[-1]]
            hidden = " and ".join(str(n) for n in wider[1:-1])
            was = " and ".join(str(n) for n in layers[1:-1]) or "none"
            out.append((f"{hidden} hidden units instead of {was}", f"network.layers = {wider}", {"network.layers": wider}))
        if not net.bias and net.biases is None:
            out.append(("trained biases in every layer", "network.bias = true", {"network.bias": True}))
        if net.weights is None:
            out.append((f"seed {tr.seed + 1} instead of {tr.seed}", f"training.seed = {tr.seed + 1}",
                        {"training.seed": tr.seed + 1}))
        longer = min(tr.iterations * 5, MAX_ITERATIONS)
        if longer > tr.iterations:
            out.append((f"{longer:,} iterations instead of {tr.iterations:,}", f"training.iterations = {longer}",
                        {"training.iterations": longer}))
    else:
        for factor in (10, 100):
            rate = tr.learning_rate / factor
            out.append((f"learning rate {rate:g} instead of {tr.learning_rate:g}", f"training.learning_rate = {rate:g}",
                        {"training.learning_rate": rate}))
    return out


def cure_variants(config: Config, layers: tuple[int, ...], kind: str) -> list[tuple[Variant, str]]:
    """The cures to try for a run diagnosed as ``kind``, each a variant and its setting for the notes."""
    tried = []
    for index, (label, setting, overrides) in enumerate(_candidates(config, layers, kind), 1):
        try:
            cfg = config.with_overrides({**overrides, **_SLIDES}, origin="a cure")
        except ConfigError:
            continue          # not a valid setting for this deck (explicit weights of another shape, ...)
        tried.append((Variant(index=index, label=label, overrides=overrides, config=cfg), setting))
    kept = {v.index for v in distinct(config, [v for v, _ in tried])}
    return [(v, s) for v, s in tried if v.index in kept]


def cure_rows(runs, settings: dict[int, str], own_mae: float, precision: int) -> tuple[dict, ...]:
    """What the cures slide shows of each cure's run: its final error and whether it helped."""
    rows = []
    for run in runs:
        helped = run.diagnosis.get("kind") == "converged" and run.final_mae < own_mae / 2
        rows.append({"label": run.label, "setting": settings[run.index], "mae": fmt(run.final_mae, precision),
                     "verdict": "right" if helped else "wrong", "says": "helped" if helped else "no help"})
    return tuple(rows)

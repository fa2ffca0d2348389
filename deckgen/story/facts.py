"""Facts of one run, computed from its config, data and trace, that decide which sentences a deck says.

A sentence on a slide or in the notes is chosen by these facts (``story.facts``
in every template), so a deck never says what its own run does not show:
Trask's program is named only in a deck of his data and network, "the error
fell" only when it did, "never exactly 0 or 1" only when no output is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deckgen.core.batches import chunks
from deckgen.story.results import error_in_units
from deckgen.story.views import decimals_for, fmt, show

#: Trask's two networks: his data set, layers, and the settings of his program.
_TRASK = {"trask": (3, 4, 1), "trask-2layer": (3, 1)}
#: Matt Mazur's "A Step by Step Backpropagation Example": his one example, weights, biases and learning rate.
_MAZUR = {"X": ((0.05, 0.10),), "y": ((0.01, 0.99),), "W1": ((0.15, 0.25), (0.20, 0.30)),
          "W2": ((0.40, 0.50), (0.45, 0.55)), "b1": (0.35, 0.35), "b2": (0.60, 0.60), "learning_rate": 0.5}


#: How a deck names each output's loss: as text, in LaTeX, and what it adds up.
_SQUARED = {"loss": "squared", "loss_text": "\u00bd\u03a3e\u00b2", "loss_tex": r"\mathcal{L} = \tfrac{1}{2} \sum e^{2}",
            "loss_words": "the squared errors"}
_LOSS_WORDS = {
    ("sigmoid", "squared"): _SQUARED, ("linear", "squared"): _SQUARED,
    ("softmax", "cross_entropy"): {"loss": "cross_entropy", "loss_text": "\u2212\u03a3 y\u00b7ln a",
                                   "loss_tex": r"\mathcal{L} = -\sum y \ln a", "loss_words": "the cross-entropy"},
    ("sigmoid", "cross_entropy"): {"loss": "cross_entropy",
                                   "loss_text": "\u2212\u03a3[y\u00b7ln a + (1\u2212y)\u00b7ln(1\u2212a)]",
                                   "loss_tex": r"\mathcal{L} = -\sum \left[ y \ln a + (1 - y) \ln (1 - a) \right]",
                                   "loss_words": "the cross-entropy"},
}


@dataclass(frozen=True)
class Facts:
    trask: bool             # Trask's data and network, trained as his program does: his printouts apply
    outcome: str            # converged | stuck | overshot | diverged
    error_fell: bool        # the mean absolute error ends lower than it starts
    first_mae: str
    last_mae: str
    interval: str           # "every 10,000 iterations" or "at 5 chosen iterations"
    trask_interval: bool    # checkpoints every 10,000 iterations, as Trask's 3-layer program prints the error
    hidden: bool            # the network has a hidden layer
    bias: bool              # every layer has a trained bias
    constant: str           # the name of an input that is 1 in every example (a bias in disguise), or ""
    activation: str         # of the hidden layers
    squashes: bool          # the hidden activation squashes into a range (sigmoid, tanh), unlike relu
    output: str             # the output activation
    exact_outputs: bool     # some final output is exactly 0 or 1 in floating point
    all_exact: bool         # every final output is
    exact_value: str        # which of them the exact outputs are: "0", "1" or "0 or 1" ("" when none)
    trask_prints_error: bool  # Trask's 3-layer program, which prints the mean absolute error while it trains
    rounded_outputs: bool   # some final output prints as 0 or 1 at the deck's precision, without being it
    examples: int
    outputs: int
    binary_targets: bool    # every target is 0 or 1 (what "never exactly 0 or 1" is about)
    dropped: str = ""       # rows of the file left out for a gap ("11"), or "" for none
    filled: str = ""        # gaps filled with their column's mean, or ""
    test_rows: str = ""     # rows held out for testing, never trained on, or ""
    file_rows: str = ""     # rows the file has, when some were dropped or held out
    batch: str = ""         # rows per mini-batch ("16"), or "" when every iteration trains on every row
    batches: str = ""       # mini-batches per epoch (one pass over every row), or ""
    loss: str = "squared"   # the loss training minimises: squared | cross_entropy
    loss_text: str = "\u00bd\u03a3e\u00b2"                       # ℒ as plain text
    loss_tex: str = r"\mathcal{L} = \tfrac{1}{2} \sum e^{2}"      # ℒ in LaTeX
    loss_words: str = "the squared errors"                         # what ℒ adds up
    slope_in_delta: bool = True   # the output delta carries the output's slope (sigmoid with squared loss)
    numbers: bool = False   # a linear output: it predicts numbers, not classes or 0/1
    mazur: bool = False     # Mazur's example: his data, weights, biases and learning rate, sigmoid and ½Σe², no batches
    explained: int = 1      # iterations worked out step by step on the slides
    final_t: str = ""       # the iteration whose forward pass the predictions slide shows ("19,999")
    after_update: bool = False   # that forward pass is after the last update (iteration T), not the last iteration's
    mae_rows: str = ""      # the rows every quoted mean absolute error is on, when rows are held out: "455 training rows"
    target: str = ""        # the one target column scaled to 0–1 for training ("body_mass_g"), or ""
    first_mae_units: str = ""   # the first and last mean absolute error in that column's own units, or ""
    last_mae_units: str = ""

    @property
    def converged(self) -> bool:
        return self.outcome == "converged"

    @property
    def one_example(self) -> bool:
        """The data is a single example: "the example", not "each example"."""
        return self.examples == 1

    @property
    def stuck(self) -> bool:
        return self.outcome == "stuck"

    @property
    def diverged(self) -> bool:
        return self.outcome == "diverged"

    @property
    def overshot(self) -> bool:
        return self.outcome == "overshot"


def _is_mazur(trace) -> bool:
    """Whether the run is Mazur's example: his data, starting weights and biases, learning rate 0.5, sigmoid
    units trained on ½Σe² with every row each step (read from the trace's iteration 0)."""
    if not (tuple(trace.layers) == (2, 2, 2) and trace.bias and trace.activation == trace.output == "sigmoid"
            and trace.loss == "squared" and trace.batch_size is None and float(trace.learning_rate) == 0.5):
        return False
    return all(trace.has(name, 0) and np.array_equal(np.asarray(trace.get(name, 0), dtype=float).ravel(),
                                                     np.asarray(value, dtype=float).ravel())
               for name, value in _MAZUR.items() if name != "learning_rate")


def facts_of(config, dataset, trace, diagnosis: dict, final_t: int, explained: int = 1) -> Facts:
    """The facts of the run ``trace`` of ``config`` on ``dataset`` (``explained``: iterations worked out by hand)."""
    L = len(trace.layers) - 1
    mae = np.asarray(trace.series("mae"), dtype=float)
    last = min(final_t, len(mae) - 1)
    net, tr = config.network, config.training
    trask = (config.data.dataset in _TRASK and tuple(trace.layers) == _TRASK[config.data.dataset]
             and trace.activation == "sigmoid" and not trace.bias and net.weights is None and tr.seed == 1
             and float(trace.learning_rate) == 1.0 and not config.data.bias_column and config.data.shuffle is None
             and trace.output == "sigmoid" and trace.loss == "squared" and trace.batch_size is None)
    X = np.asarray(dataset.X)     # the whole data (with mini-batches, X@0 is the first batch only)
    constant = next((name for c, name in enumerate(dataset.feature_names)
                     if c < X.shape[1] and np.all(X[:, c] == 1.0)), "")
    every = config.deck.checkpoints
    if isinstance(every, int):
        interval = f"every {every:,} iterations"
    else:
        interval = f"at {len(every)} chosen iterations" if len(every) != 1 else "at one chosen iteration"
    out = np.asarray(trace.get(f"a{L}", final_t), dtype=float) if trace.has(f"a{L}", final_t) else np.zeros((0, 0))
    bounded = trace.output != "linear"       # 0 and 1 are the ends of the output's range (not for a linear output)
    exact = bounded and bool(np.any((out == 0.0) | (out == 1.0)))
    all_exact = bounded and bool(out.size) and bool(np.all((out == 0.0) | (out == 1.0)))
    p = config.deck.precision
    decimals = decimals_for(out.ravel(), p)
    shown = {show(v, decimals) for v in out.ravel()}
    hits = [text for value, text in ((0.0, "0"), (1.0, "1")) if bounded and bool(np.any(out == value))]
    rounded = bounded and not exact and bool(shown & {fmt(0.0, decimals), fmt(1.0, decimals)})
    units = {}
    if error_in_units(dataset, mae[0]):     # one target, scaled to 0–1 for training
        units = {"target": dataset.target_names[0], "first_mae_units": error_in_units(dataset, mae[0]),
                 "last_mae_units": error_in_units(dataset, mae[last])}
    return Facts(
        trask=trask, outcome=diagnosis["kind"], error_fell=bool(mae[last] < mae[0]),
        first_mae=show(mae[0], decimals_for([mae[0]], p)), last_mae=show(mae[last], decimals_for([mae[last]], p)),
        interval=interval, trask_interval=trask and every == 10000 and config.data.dataset == "trask",
        hidden=L > 1, bias=bool(trace.bias), constant=constant, activation=trace.activation,
        squashes=trace.activation in ("sigmoid", "tanh"), output=trace.output, exact_outputs=exact,
        rounded_outputs=rounded, all_exact=all_exact, exact_value=" or ".join(hits), trask_prints_error=trask and config.data.dataset == "trask", examples=int(X.shape[0]), outputs=int(trace.layers[-1]),
        binary_targets=bounded and bool(np.all(np.isin(np.asarray(dataset.y), (0.0, 1.0)))),
        dropped=f"{dataset.dropped:,}" if dataset.dropped else "", filled=f"{dataset.filled:,}" if dataset.filled else "",
        test_rows=f"{dataset.n_test:,}" if dataset.n_test else "",
        file_rows=f"{dataset.n_examples + dataset.n_test + dataset.dropped:,}" if dataset.n_test or dataset.dropped else "",
        **_LOSS_WORDS[(trace.output, trace.loss)], slope_in_delta=trace.output == "sigmoid" and trace.loss == "squared",
        numbers=trace.output == "linear",
        batch=f"{trace.batch_size:,}" if trace.batch_size else "",
        batches=f"{chunks(trace.batch_size, int(X.shape[0])):,}" if trace.batch_size else "",
        mazur=_is_mazur(trace), explained=explained, final_t=f"{final_t:,}",
        after_update=final_t == trace.iterations, mae_rows=f"{dataset.n_examples:,} training rows" if dataset.n_test else "",
        **units,
    )

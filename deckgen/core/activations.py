"""Activation functions: everything deckgen knows about each one, in one place.

Training uses ``forward`` and ``delta`` (in place, into preallocated arrays),
the trace uses the formulas, the story the symbols and definitions, and the
figures ``curve``. Adding an activation is one new :class:`Activation` in
:data:`ACTIVATIONS`, plus its speaker note, ``templates/notes/<name>.html``
(wording stays in the templates; tests/test_templates.py checks it is there).

The output layer has its own choices, :data:`OUTPUTS` (``network.output``):
sigmoid, softmax (row by row) and linear. :data:`FUNCTIONS` holds both kinds,
so the name :func:`layer_activations` gives for any layer can be looked up there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_ONE, _ZERO = np.array(1.0), np.array(0.0)  # 0-d arrays are cheaper operands than Python floats
_ONE.flags.writeable = _ZERO.flags.writeable = False


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray, np.ndarray], None]            # a = f(z), written into ``a``
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray], None]  # d = e * f'(z) from a, written into ``d``
    curve: Callable[[np.ndarray], np.ndarray]                    # f(z), for plotting
    symbol: str          # the function's name in formulas: \sigma
    applied: str         # a = f(z) in formulas, with {z} for the argument
    definition: str      # f(z) = ... in full
    op: str              # the operator written between matrices: σ
    slope: str           # f'(z) written with a, as the delta slide shows it
    slope_of: str        # the same with {a} for the argument, for the trace's formulas
    slope_op: str        # the operator before the a matrix on the delta slide: "⊙ a(1−a) of"
    verb: str            # what the activation slide does to the sums: "squash with sigmoid"
    gradient: Callable[[np.ndarray], np.ndarray] = None   # f'(z), for plotting the slope
    steepest: str = ""   # the largest slope and where: "0.25, at z = 0"
    derivation: str = "" # f'(z) worked out, in LaTeX


# sigmoid as Trask writes it, 1/(1+exp(-z)) and e*(a*(1-a)), gives his numbers bit for bit.
def _sigmoid(z, a):
    np.negative(z, out=a)
    np.exp(a, out=a)
    np.add(a, _ONE, out=a)
    np.reciprocal(a, out=a)


def _sigmoid_delta(e, a, d):
    np.subtract(_ONE, a, out=d)
    np.multiply(d, a, out=d)
    np.multiply(d, e, out=d)


def _tanh(z, a):
    np.tanh(z, out=a)


def _tanh_delta(e, a, d):
    np.multiply(a, a, out=d)
    np.subtract(_ONE, d, out=d)
    np.multiply(d, e, out=d)


def _relu(z, a):
    np.maximum(z, _ZERO, out=a)


def _relu_delta(e, a, d):
    np.sign(a, out=d)  # a >= 0, so sign(a) is [a > 0]
    np.multiply(d, e, out=d)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid", _sigmoid, _sigmoid_delta, lambda z: 1.0 / (1.0 + np.exp(-z)),
        symbol=r"\sigma", applied=r"\sigma({z})", definition=r"\sigma(z) = \frac{1}{1 + e^{-z}}", op="\u03c3",
        slope=r"a \odot (1 - a)", slope_of=r"{a} \odot (1 - {a})", slope_op="\u2299 a(1\u2212a) of",
        verb="squash with sigmoid", gradient=lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2,
        steepest="0.25, at z = 0",
        derivation=r"\sigma'(z) = \frac{e^{-z}}{(1 + e^{-z})^{2}} = \frac{1}{1 + e^{-z}} \cdot \frac{e^{-z}}{1 + e^{-z}}"
                   r" = \sigma(z)\,(1 - \sigma(z))"),
    "tanh": Activation(
        "tanh", _tanh, _tanh_delta, np.tanh,
        symbol=r"\tanh", applied=r"\tanh({z})", definition=r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}",
        op="tanh", slope=r"(1 - a^{2})", slope_of=r"(1 - {a}^{{2}})", slope_op="\u2299 (1\u2212a\u00b2) of",
        verb="squash with tanh", gradient=lambda z: 1.0 - np.tanh(z) ** 2, steepest="1, at z = 0",
        derivation=r"\tanh'(z) = \frac{(e^{z} + e^{-z})^{2} - (e^{z} - e^{-z})^{2}}{(e^{z} + e^{-z})^{2}} = 1 - \tanh^{2}(z)"),
    "relu": Activation(
        "relu", _relu, _relu_delta, lambda z: np.maximum(0.0, z),
        symbol=r"\mathrm{relu}", applied=r"\max(0, {z})", definition=r"\mathrm{relu}(z) = \max(0, z)",
        op="relu", slope=r"[a > 0]", slope_of=r"[{a} > 0]", slope_op="\u2299 [a>0] of",
        verb="apply relu", gradient=lambda z: (np.asarray(z) > 0).astype(float), steepest="1, for every z > 0",
        derivation=r"\mathrm{relu}'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}"),
}


def _softmax(z, a):
    """Row by row: exp(z - max z) / sum of exp(z - max z); subtracting the row's maximum keeps exp finite."""
    np.subtract(z, z.max(axis=1, keepdims=True), out=a)
    np.exp(a, out=a)
    np.divide(a, a.sum(axis=1, keepdims=True), out=a)


def _linear(z, a):
    np.copyto(a, z)


def _same(e, a, d):
    """d = e: the output delta when the slope cancels (cross-entropy) or is 1 (a linear output)."""
    np.copyto(d, e)


def _no_delta(e, a, d):
    raise ValueError("a softmax output has no elementwise slope: train it with cross-entropy, whose delta is y - a")


def _softmax_curve(z):
    """The first output of a softmax over two units, (z, 0): the one-dimensional view of softmax (= sigmoid)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


#: Output functions (``network.output``). ``delta`` is the output delta under squared loss;
#: cross-entropy's delta is always ``e`` (see :mod:`deckgen.core.losses`).
OUTPUTS: dict[str, Activation] = {
    "sigmoid": ACTIVATIONS["sigmoid"],
    "softmax": Activation(
        "softmax", _softmax, _no_delta, _softmax_curve,
        symbol=r"\mathrm{softmax}", applied=r"\mathrm{{softmax}}({z})",
        definition=r"\mathrm{softmax}(z)_{j} = \frac{e^{z_{j}}}{\sum_{i} e^{z_{i}}}", op="softmax",
        slope=r"a_{j} (\delta_{ij} - a_{i})", slope_of=r"{a} \odot (1 - {a})", slope_op="\u2299 a(1\u2212a) of",
        verb="turn into probabilities with softmax", gradient=lambda z: _softmax_curve(z) * (1.0 - _softmax_curve(z)),
        steepest="0.25, where two outputs are equal",
        derivation=r"\frac{\partial a_{j}}{\partial z_{i}} = a_{j} (\delta_{ij} - a_{i})"),
    "linear": Activation(
        "linear", _linear, _same, lambda z: np.asarray(z, dtype=float),
        symbol=r"\mathrm{id}", applied=r"{z}", definition=r"f(z) = z", op="id",
        slope=r"1", slope_of=r"1", slope_op="\u00d7 1 of",
        verb="pass on unchanged", gradient=lambda z: np.ones_like(np.asarray(z, dtype=float)), steepest="1, everywhere",
        derivation=r"f'(z) = 1"),
}

#: Every function a layer can have, hidden (:data:`ACTIVATIONS`) or output (:data:`OUTPUTS`).
FUNCTIONS: dict[str, Activation] = {**ACTIVATIONS, **OUTPUTS}

#: The default output function (``network.output``).
OUTPUT = "sigmoid"


def layer_activations(n_layers: int, hidden: str, output: str = OUTPUT) -> list[str]:
    """The activation of layers 1..L: ``hidden`` for the hidden layers, ``output`` for the last."""
    return [hidden] * (n_layers - 1) + [output]

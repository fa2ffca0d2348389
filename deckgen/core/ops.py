"""The names a training run records and the operation that makes each (see DESIGN.md, "Trace names")."""

from __future__ import annotations

from typing import Sequence

from deckgen.core.activations import FUNCTIONS, OUTPUT, layer_activations
from deckgen.core.losses import LOSS, loss_of

SCALARS = ("loss", "mae")
INPUTS = ("X", "y")


def per_example(name: str) -> bool:
    """Whether ``name`` has one row per example: ``z a e d`` of a layer (and the inputs ``X``, ``y``)."""
    return name in INPUTS or (name[:1] in ("z", "a", "e", "d") and name[1:].isdigit())


def pipeline(layers: Sequence[int], bias: bool) -> list[str]:
    """Every name a run of this network records, in the order the computation makes them.

    Inputs, parameters, forward pass, error and loss, deltas from the output back,
    then the updates (last layer first, as Trask applies them).
    """
    L = len(layers) - 1
    back = range(L, 0, -1)
    names = list(INPUTS)
    for k in range(1, L + 1):
        names += [f"W{k}", f"b{k}"] if bias else [f"W{k}"]
    for k in range(1, L + 1):
        names += [f"z{k}", f"a{k}"]
    names += [f"e{L}", *SCALARS]
    for k in back:
        names += [f"d{k}"] if k == L else [f"e{k}", f"d{k}"]
    for k in back:
        names += [f"dW{k}", f"db{k}"] if bias else [f"dW{k}"]
    return names


#: Ops of the backward pass and updates: they exist only for iterations that train (t < T).
BACKWARD_OPS = frozenset({"mul_deriv", "copy", "matmul_T", "scaled_outer", "scaled_colsum"})


def describe(layers: Sequence[int], activation: str, bias: bool, output: str = OUTPUT,
             loss: str = LOSS) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """For every name: ``(op, operands, LaTeX formula)``.

    Ops: ``input``; ``update`` (``W@t = W@t-1 + dW@t-1``); ``matmul`` /
    ``matmul_add`` (``a . W (+ b)``); ``sigmoid`` / ``tanh`` / ``relu`` /
    ``softmax`` (row by row) / ``linear`` (``a = z``); ``sub`` (``y - a``);
    the loss: ``half_sum_sq`` (``1/2 sum e^2``), ``cross_entropy``
    (``-sum y ln a``) or ``binary_cross_entropy``
    (``-sum y ln a + (1-y) ln(1-a)``); ``mean_abs``; ``mul_deriv``
    (``e * f'(a)``, ``f`` being the op that made ``a``); ``copy`` (the output
    delta ``d = e``, where the slope cancels or is 1); ``matmul_T``
    (``d . W^T``); ``scaled_outer`` (``eta * a^T . d``); ``scaled_colsum``
    (``eta * column sums of d``).
    """
    L = len(layers) - 1
    acts = layer_activations(L, activation, output)
    chosen = loss_of(output, loss)

    def A(k: int) -> str:  # name of a{k}, with a0 = X
        return "X" if k == 0 else f"a{k}"

    def tex(name: str) -> str:  # symbol of a name inside a formula
        return name if name in INPUTS else f"{name[0]}_{{{name[1:]}}}"

    out: dict[str, tuple[str, tuple[str, ...], str]] = {
        "X": ("input", (), "X"),
        "y": ("input", (), "y"),
    }
    for k in range(1, L + 1):
        out[f"W{k}"] = ("update", (f"W{k}", f"dW{k}"), rf"W_{{{k}}} \leftarrow W_{{{k}}} + \Delta W_{{{k}}}")
        out[f"b{k}"] = ("update", (f"b{k}", f"db{k}"), rf"b_{{{k}}} \leftarrow b_{{{k}}} + \Delta b_{{{k}}}")
        prod = rf"{tex(A(k - 1))} \cdot W_{{{k}}}"
        if bias:
            out[f"z{k}"] = ("matmul_add", (A(k - 1), f"W{k}", f"b{k}"), rf"z_{{{k}}} = {prod} + b_{{{k}}}")
        else:
            out[f"z{k}"] = ("matmul", (A(k - 1), f"W{k}"), rf"z_{{{k}}} = {prod}")
        out[f"a{k}"] = (acts[k - 1], (f"z{k}",), rf"a_{{{k}}} = " + FUNCTIONS[acts[k - 1]].applied.format(z=f"z_{{{k}}}"))
        if k == L:
            out[f"e{k}"] = ("sub", ("y", f"a{k}"), rf"e_{{{k}}} = y - a_{{{k}}}")
        else:
            out[f"e{k}"] = ("matmul_T", (f"d{k + 1}", f"W{k + 1}"), rf"e_{{{k}}} = \delta_{{{k + 1}}} \cdot W_{{{k + 1}}}^{{\top}}")
        deriv = FUNCTIONS[acts[k - 1]].slope_of.format(a=f"a_{{{k}}}")
        if k == L and chosen.delta_is_error:
            out[f"d{k}"] = ("copy", (f"e{k}",), rf"\delta_{{{k}}} = e_{{{k}}}")
        else:
            out[f"d{k}"] = ("mul_deriv", (f"e{k}", f"a{k}"), rf"\delta_{{{k}}} = e_{{{k}}} \odot {deriv}")
        out[f"dW{k}"] = (
            "scaled_outer",
            (A(k - 1), f"d{k}"),
            rf"\Delta W_{{{k}}} = \eta \, {tex(A(k - 1))}^{{\top}} \cdot \delta_{{{k}}}",
        )
        out[f"db{k}"] = ("scaled_colsum", (f"d{k}",), rf"\Delta b_{{{k}}} = \eta \sum_{{n}} \delta_{{{k}}}")
    operands = tuple(n if n == "y" else f"{n}{L}" for n in chosen.operands)
    out["loss"] = (chosen.op, operands, chosen.formula.format(L=L))
    cells = "N" if layers[-1] == 1 else rf"N \cdot {layers[-1]}"      # the mean is over every cell of e{L}
    out["mae"] = ("mean_abs", (f"e{L}",), rf"\mathrm{{MAE}} = \frac{{1}}{{{cells}}} \sum \left| e_{{{L}}} \right|")
    return {name: out[name] for name in pipeline(layers, bias)}

"""The slides that say *why*: one neuron by hand, gradient descent, whether the step helped, what was learned.

Each is built from facts of this run and quotes the run's own numbers; trace
values carry their address, derived values are plain text with at least
three significant digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.core.activations import FUNCTIONS, layer_activations
from deckgen.core.forward import forward
from deckgen.core.learned import binary_inputs, unit_function, xor_like
from deckgen.core.losses import loss_of
from deckgen.story import results
from deckgen.story.shown import of_num, read
from deckgen.story.slides import Slide
from deckgen.story.views import Layout, Token, sig, tok

#: Inputs drawn on the one-neuron slide before the rest are left out.
_NEURON_INPUTS = 5


def neuron(trace, layout: Layout, t: int, row: int) -> Slide:
    """One neuron, one example: the first worked cell of the ``z1`` slide drawn on the network, edge by edge."""
    p = layout.precision
    X = trace.get("X", t)
    n_in = X.shape[1]
    shown = list(range(min(n_in, _NEURON_INPUTS)))
    base = 90 * len(shown) + 50
    height = base + (150 if trace.bias else 115)      # room below the unit for the bias, z and a
    cy = base // 2
    inputs = []
    for pos, i in enumerate(shown):
        y = 45 + 90 * pos
        name = layout.feature_names[i] if i < len(layout.feature_names) else f"x{i + 1}"
        x, w = layout.num(trace, "X", t, row, i), layout.num(trace, "W1", t, i, 0)
        # the product of the numbers as drawn, so "x × w =" reads true from them (z beside it is exact)
        inputs.append({"name": name, "x": x, "w": w, "product": sig(read(x.text) * read(w.text), p), "y": y,
                       # the label sits on its edge, a fifth of the way from the input to the neuron, where edges are far apart
                       "lx": 190, "ly": round(y + 0.12 * (cy - y) - 10, 1)})
    act = layer_activations(len(trace.layers) - 1, trace.activation, trace.output)[0]
    # input names stand right-aligned left of x = 84 at 26 px (about 15 px a character): widen the drawing
    # to the left for long ones instead of letting them run off the slide
    left = max(0, round(max(len(i["name"]) for i in inputs) * 15 - 74)) if inputs else 0
    ctx: dict[str, Any] = {
        "view": f"{-left} 0 {1000 + left} {height}",
        "inputs": tuple(inputs), "more": n_in - len(shown), "cy": cy,
        "by": cy + 98, "zy": cy + 134 if trace.bias else cy + 98, "ay": cy + 170 if trace.bias else cy + 134, "z": layout.num(trace, "z1", t, row, 0), "a": layout.num(trace, "a1", t, row, 0), "activation": act,
        "bias": layout.num(trace, "b1", t, 0, 0) if trace.bias else None, "example": layout.label(trace, t, row), "batch": trace.batch_size is not None,
        "unit": "hidden unit 1" if len(trace.layers) > 2 else "the output",
    }
    return Slide("slides/neuron.html", "one-neuron", ctx=ctx)


def descent(trace, t: int, layout: Layout, weight: tuple[int, int, int] | None, eta: str, units: str = "") -> Slide:
    """Gradient descent: ΔW = −η ∂ℒ/∂W, so adding ΔW walks downhill on ℒ (``units``: the mean absolute error at
    ``t`` in the target's own units, when the target was scaled to 0–1 for training)."""
    p = layout.precision
    n = int(trace.get("X", t).shape[0])
    outputs = int(trace.layers[-1])
    ctx: dict[str, Any] = {"eta": eta, "loss": layout.num(trace, "loss", t, 0, 0), "mae": layout.num(trace, "mae", t, 0, 0),
                           "examples": n, "scaled": f"{float(trace.learning_rate) * n:g}", "many": n > 1,
                           "batch": trace.batch_size is not None, "units": units,
                           "outputs": f"the {outputs} outputs of " if outputs > 1 and n == 1 else ""}
    if weight is not None:
        k, i, j = weight
        dW = layout.num(trace, f"dW{k}", t, i, j)
        gradient = sig(-trace.value(f"dW{k}", t, i, j) / float(trace.learning_rate), p)
        ctx.update(weight=rf"W_{{{k}}}[{i},{j}]", dW=dW, gradient=gradient,
                   relation=of_num(dW, -read(eta) * read(gradient), p))
    return Slide("slides/descent.html", f"t{t}-descent", ctx=ctx,
                 formula=r"\Delta W = \eta \, a^{\top} \delta = -\eta \, \frac{\partial \mathcal{L}}{\partial W}")


def step(trace, t: int, layout: Layout) -> Slide:
    """Did the step help? ℒ and the mean absolute error before and after iteration ``t``'s updates."""
    p = layout.precision
    if not trace.has("loss", t + 1):     # the step made the numbers overflow: training stopped there
        ctx = {"t": t, "next": t + 1, "loss": layout.num(trace, "loss", t, 0, 0), "mae": layout.num(trace, "mae", t, 0, 0),
               "overflow": True}
        return Slide("slides/step-overflow.html", f"t{t}-step", ctx=ctx)
    before, after = float(trace.value("loss", t)), float(trace.value("loss", t + 1))
    ctx = {"t": t, "next": t + 1, "loss": layout.num(trace, "loss", t, 0, 0), "mae": layout.num(trace, "mae", t, 0, 0)}
    if trace.batch_size is None:
        ctx.update(loss_next=layout.num(trace, "loss", t + 1, 0, 0), mae_next=layout.num(trace, "mae", t + 1, 0, 0))
        mae_before, mae_after = float(trace.value("mae", t)), float(trace.value("mae", t + 1))
        ctx["mae_words"] = {"before": ctx["mae"].text, "after": ctx["mae_next"].text}
    else:   # iteration t + 1 trains on other rows: run this batch again through the updated weights
        y = np.asarray(trace.get("y", t), dtype=float)
        with np.errstate(all="ignore"):
            a = forward(trace, trace.get("X", t), t + 1)
        after = float(loss_of(trace.output, trace.loss).value(y, a, y - a))
        mae_before, mae_after = float(trace.value("mae", t)), float(np.mean(np.abs(y - a)))
        ctx.update(loss_after=sig(after, p), mae_after=sig(mae_after, p))
        ctx["mae_words"] = {"before": ctx["mae"].text, "after": ctx["mae_after"]}
    # the mean absolute error can move the other way from the loss, which is what training minimises
    ctx["mae_words"].update(fell=mae_after < mae_before and after > before, rose=mae_after > mae_before and after < before)
    ctx.update({"batch": trace.batch_size is not None, "fell": after < before, "rose": after > before,
                "change": sig(after - before, p, sign=True),
                "percent": f"{abs(after - before) / before * 100:.1f}%" if before > 0 else ""})
    return Slide("slides/step.html", f"t{t}-step", ctx=ctx)


def learned(trace, layout: Layout, dataset, t: int) -> list[Slide]:
    """What the network computes after training: truth tables, a formula, or how it does on each set of rows.

    A classifier gets its accuracy, confusion tables and mistakes; a number target
    (scaled from its own units) or held-out rows get the predictions in the target's units.
    """
    X = trace.get("X", t)
    inputs = binary_inputs(np.asarray(X))
    slides: list[Slide] = []
    if inputs is not None and len(inputs.varying) == 2 and X.shape[0] <= 16:
        table = _truth_table(trace, layout, dataset, t, inputs)
        xor = xor_like(np.asarray(X), np.asarray(trace.get("y", t)))
        slides = [table, _why_xor(trace, layout, dataset, t, xor, table)] if xor else [table]
    elif dataset.class_names and len(dataset.class_names) == trace.layers[-1] >= 2 and trace.output != "linear":
        return results.classes(trace, layout, dataset, results.results_iteration(trace, t))
    if trace.heldout or any(span is not None for span in dataset.target_range):
        slides.append(results.numbers(trace, layout, dataset, results.results_iteration(trace, t)))
    return slides


def _truth_table(trace, layout: Layout, dataset, t: int, inputs) -> Slide:
    L = len(trace.layers) - 1
    X = np.asarray(trace.get("X", t))
    names = dataset.feature_names
    acts = layer_activations(L, trace.activation, trace.output)
    units = []          # (layer, unit) columns: the first hidden layer's units, then the outputs
    if L > 1:
        units += [(1, u) for u in range(min(trace.layers[1], 6))]
    units += [(L, u) for u in range(trace.layers[-1])]
    columns = []
    for k, u in units:
        function = unit_function(X, np.asarray(trace.get(f"a{k}", t))[:, u], inputs, names, acts[k - 1])
        columns.append({"label": f"hidden {u + 1}" if k < L else ("output" if trace.layers[-1] == 1 else f"output {u + 1}"),
                        "function": function or "no simple rule",
                        "cls": "named" if function and not function.startswith("undecided") else ""})
    rows = [{"inputs": tuple(layout.num(trace, "X", t, r, c) for c in inputs.varying),
             "units": tuple(layout.num(trace, f"a{k}", t, r, u) for k, u in units),
             "target": layout.num(trace, "y", t, r, 0)} for r in range(X.shape[0])]
    xor = xor_like(X, np.asarray(trace.get("y", t)))
    formula = _formula(trace, layout, t) if L == 1 else None
    # an input that is 1 in every example, in the formula: its weight is added to every sum, as a bias is
    ones = [c for c in inputs.constant if X[0, c] == 1.0] if formula else []
    output = columns[-1]["function"]
    ctx = {"inputs": tuple(names[c] for c in inputs.varying), "columns": tuple(columns), "rows": tuple(rows),
           "constant": ", ".join(names[c] for c in inputs.constant if c not in ones[:1]), "formula": formula,
           "bias_input": {"name": names[ones[0]], "w": layout.num(trace, "W1", t, ones[0], 0)} if ones else None,
           "output_constant": output if output.startswith("always") else "",
           "xor": " XOR ".join(names[c] for c in xor) if xor else "",
           "xor_learned": bool(xor) and "XOR" in columns[-1]["function"] and L > 1,
           "xor_failed": bool(xor) and "XOR" not in columns[-1]["function"],
           "hidden_named": "; ".join(c["function"] for c in columns[:-1] if c["cls"]) if L > 1 else ""}
    return Slide("slides/learned.html", "learned", ctx=ctx)


def _why_xor(trace, layout: Layout, dataset, t: int, xor: tuple[int, int], table: Slide) -> Slide:
    """Why XOR needs a hidden layer: its four corners, and what this network made of them."""
    L = len(trace.layers) - 1
    a, b = (dataset.feature_names[c] for c in xor)
    X = np.asarray(trace.get("X", t))
    corners = []
    for r in range(X.shape[0]):
        corner = (int(X[r, xor[0]]), int(X[r, xor[1]]))
        if corner not in [c["corner"] for c in corners]:
            corners.append({"corner": corner, "a": layout.num(trace, "X", t, r, xor[0]), "b": layout.num(trace, "X", t, r, xor[1]),
                            "target": layout.num(trace, "y", t, r, 0), "output": layout.num(trace, f"a{L}", t, r, 0)})
    learned_it = bool(table.ctx["xor_learned"])
    ctx = {"a": a, "b": b, "corners": tuple({k: v for k, v in c.items() if k != "corner"} for c in corners),
           "hidden": L > 1, "learned": learned_it, "named": table.ctx["hidden_named"],
           "mae": layout.num(trace, "mae", t, 0, 0)}
    return Slide("slides/xor.html", "why-xor", ctx=ctx)


def _formula(trace, layout: Layout, t: int) -> dict[str, Any]:
    """The output of a network with no hidden layer, written as a formula of its inputs with its weights."""
    parts: list[Token] = []
    for i in range(trace.layers[0]):
        name = layout.feature_names[i] if i < len(layout.feature_names) else f"x{i + 1}"
        parts += [*([Token(" + ")] if i else []), *tok(layout.num(trace, "W1", t, i, 0), wrap=True), Token(f"\u00b7{name}")]
    if trace.bias:
        parts += [Token(" + "), *tok(layout.num(trace, "b1", t, 0, 0), wrap=True)]
    return {"op": FUNCTIONS[trace.output].op, "tokens": tuple(parts)}

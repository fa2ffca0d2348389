"""The chain rule for one weight: why ΔW is what it is, with this run's numbers.

For a weight ``w = W{k}[i, j]`` at iteration ``t`` the slide multiplies the
three factors of ``∂ℒ/∂w = ∂ℒ/∂a · ∂a/∂z · ∂z/∂w`` for each example, adds the
examples up, finds the same number in the matrices (``−ΔW[i, j] / η``) and
checks it by nudging the weight. Factors that are trace values carry their
address; the products and sums are derived, shown with at least three
significant digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.core.activations import layer_activations
from deckgen.core.gradients import NUDGE, Factors, factors, loss_with, parse_weight, slope
from deckgen.errors import ConfigError, located
from deckgen.story.shown import derived, read
from deckgen.story.slides import Slide
from deckgen.story.views import MINUS, Layout, Num, Token, fmt, sig, tex_label, tok

#: Examples a chain-rule slide works out (all of them are summed).
_ROWS_OUTPUT, _ROWS_HIDDEN = 3, 2
#: ∂a/∂z written with a (softmax has none per unit: it is always trained with cross-entropy, whose
#: chain-rule slide multiplies ∂ℒ/∂z directly).
_SLOPE = {"sigmoid": r"a\,(1 - a)", "tanh": r"1 - a^{2}", "relu": r"[a > 0]", "softmax": "", "linear": "1"}


def _active(trace, t: int, k: int) -> int:
    """The first unit of layer ``k`` whose slope is not 0 for every example (a relu unit can be off for all)."""
    if trace is None or not trace.has(f"a{k}", t):
        return 0
    act = layer_activations(len(trace.layers) - 1, trace.activation, trace.output)[k - 1]
    a = np.asarray(trace.get(f"a{k}", t))
    for j in range(a.shape[1]):
        if any(slope(act, float(v)) > 0 for v in a[:, j]):
            return j
    return 0


def chosen_weights(spec: tuple[str, ...] | None, layers: tuple[int, ...], where: str, trace=None,
                   t: int = 0) -> list[tuple[int, int, int]]:
    """The weights the chain-rule slides follow: ``deck.chain_rule``, or by default one weight into the
    output from the first hidden unit that is not off for every example, and one weight into that unit
    of the first layer (W{L}[0,0] and W1[0,0] unless unit 1 is off)."""
    L = len(layers) - 1
    if spec is None:
        if L == 1:
            return [(1, 0, 0)]
        return [(L, _active(trace, t, L - 1), 0), (1, 0, _active(trace, t, 1))]
    out, errors = [], []
    for text in spec:
        k, i, j = parse_weight(text)
        if not 1 <= k <= L:
            errors.append(f"{located(where, 'deck.chain_rule')}: {text}: the network has weight matrices W1 to W{L} "
                          f"— pick one of those")
        elif i >= layers[k - 1] or j >= layers[k]:
            errors.append(f"{located(where, 'deck.chain_rule')}: {text}: W{k} is {layers[k - 1]} × {layers[k]} "
                          f"— pick a row below {layers[k - 1]} and a column below {layers[k]}")
        else:
            out.append((k, i, j))
    if errors:
        raise ConfigError(*errors)
    return list(dict.fromkeys(out))


def _unit_name(layout: Layout, k: int, unit: int, n_layers: int) -> str:
    """How a slide names a unit: an input's column name, "hidden unit 2", or an output's name."""
    if k == 0:
        names = layout.feature_names
        return f"input {names[unit]}" if unit < len(names) else f"input {unit + 1}"
    if k == n_layers:
        names = layout.target_names
        return f"output {names[unit]}" if unit < len(names) and len(names) > 1 else "the output"
    return f"hidden unit {unit + 1}" if n_layers == 2 else f"unit {unit + 1} of layer {k}"


def chain_slide(trace, layout: Layout, t: int, k: int, i: int, j: int, eta: str) -> Slide:
    """One weight followed through the chain rule at iteration ``t``."""
    L = len(trace.layers) - 1
    p = layout.precision
    act = layer_activations(L, trace.activation, trace.output)[k - 1]
    a, src = f"a{k}", ("X" if k == 1 else f"a{k - 1}")
    per_example = factors(trace, t, k, i, j)
    total = float(sum(f.product for f in per_example))
    rows = []
    cap = _ROWS_OUTPUT if k == L else _ROWS_HIDDEN     # a hidden weight's first factor is a sum: fewer rows fit
    for n in layout.shown(len(per_example), layout.max_rows, True, trace, t)[:cap]:
        f = per_example[n]
        rows.append({"label": layout.label(trace, t, n), "dl_da": _dl_da(trace, layout, f, t, k, j), "da_dz": _da_dz(act, layout.num(trace, a, t, n, j), f, p),
                     "dz_dw": tok(layout.num(trace, src, t, n, i)), "product": sig(f.product, p)})
    dW = layout.num(trace, f"dW{k}", t, i, j)
    lr = float(trace.learning_rate)
    before = loss_with(trace, t, k, i, j)
    after = loss_with(trace, t, k, i, j, NUDGE)
    weight = rf"{tex_label(f'W{k}')}[{i},{j}]"
    ctx: dict[str, Any] = {
        "weight": weight, "output": k == L,
        "from_unit": _unit_name(layout, k - 1, i, L), "to_unit": _unit_name(layout, k, j, L),
        "slope": r"\partial a / \partial z = " + _SLOPE[act],
        "rows": tuple(rows), "cut": len(rows) < len(per_example), "others": len(per_example) - len(rows),
        "total": sig(total, p), "dW": dW, "eta": eta,
        "from_matrix": derived(-trace.value(f"dW{k}", t, i, j) / lr, -read(dW.text) / read(eta), p),
        "w": layout.num(trace, f"W{k}", t, i, j), "nudge": f"{NUDGE:g}",
        "loss_before": fmt(before, max(p, _decimals(after - before, p))),
        "loss_after": fmt(after, max(p, _decimals(after - before, p))),
        "change": sig(after - before, p, sign=True),
        "predicted": derived(NUDGE * total, NUDGE * read(sig(total, p)), p, sign=True),
        "up": total > 0, "down": total < 0,
        "next": k + 1, "fused": bool(per_example) and per_example[0].fused,
    }
    formula = (r"\frac{\partial \mathcal{L}}{\partial w} = \sum_{n} \frac{\partial \mathcal{L}}{\partial a}"
               r" \cdot \frac{\partial a}{\partial z} \cdot \frac{\partial z}{\partial w}")
    if ctx["fused"]:      # cross-entropy: the output's slope cancels, ∂ℒ/∂z = a − y (the slide before shows why)
        formula = (r"\frac{\partial \mathcal{L}}{\partial w} = \sum_{n} \frac{\partial \mathcal{L}}{\partial z}"
                   r" \cdot \frac{\partial z}{\partial w}")
    return Slide("slides/chain.html", f"t{t}-chain-W{k}-{i}-{j}", formula=formula, ctx=ctx)


def _dl_da(trace, layout: Layout, f: Factors, t: int, k: int, j: int) -> tuple[Token, ...]:
    """``∂ℒ/∂a``: ``a − y`` at the output; at a hidden unit, the sum over the next layer's paths ``−δ·w``."""
    n, p = f.example, layout.precision
    if not f.paths:
        L = len(trace.layers) - 1
        a, y = layout.num(trace, f"a{L}", t, n, j), layout.num(trace, "y", t, n, j)
        return (*tok(a), Token(f" {MINUS} "), *tok(y, wrap=True), *_result(f.dl_da, read(a.text) - read(y.text), p))
    out: list[Token] = [Token(f"{MINUS}(")]
    from_shown = 0.0
    for m, path in enumerate(f.paths):
        if m:
            out.append(Token(" + "))
        d, w = layout.num(trace, f"d{k + 1}", t, n, path.unit), layout.num(trace, f"W{k + 1}", t, j, path.unit)
        out += [*tok(d, wrap=True), Token("\u00b7"), *tok(w, wrap=True)]
        from_shown -= read(d.text) * read(w.text)
    return (*out, Token(")"), *_result(f.dl_da, from_shown, p))


def _result(exact: float, from_shown: float, p: int) -> tuple[Token, Token]:
    """`` = 0.0698`` after a factor worked out from shown numbers, or `` ≈ 0.0698`` when they give another."""
    result = derived(exact, from_shown, p)
    return Token(f" {result.rel} "), Token(result.text)


def _da_dz(act: str, a: Num, f: Factors, p: int) -> tuple[Token, ...]:
    """The slope of the activation, written with ``a``."""
    shown = read(a.text)
    if act == "sigmoid":
        parts, from_shown = [*tok(a), Token(f"\u00b7(1 {MINUS} "), *tok(a), Token(")")], shown * (1 - shown)
    elif act == "tanh":
        parts, from_shown = [Token(f"1 {MINUS} "), *tok(a, wrap=True), Token("\u00b2")], 1 - shown ** 2
    elif act == "linear":
        return (Token("1"),)
    else:
        parts, from_shown = [Token("["), *tok(a), Token(" > 0]")], float(shown > 0)
    return (*parts, *_result(f.da_dz, from_shown, p))


def _decimals(change: float, precision: int) -> int:
    """Decimals that show ``change`` with three significant digits."""
    text = sig(change, precision)
    return len(text.partition(".")[2])

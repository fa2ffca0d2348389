"""The slides and worked cells that belong to the output function and the loss: softmax worked out
step by step, the loss worked out for one example, and why the output delta is the error itself.

Trace values carry their address; every exponential, sum and quotient in
between is derived and shown with at least three significant digits.
"""

from __future__ import annotations

import math

import numpy as np

from deckgen.story.shown import EQUALS, derived, of_num, read
from deckgen.story.slides import Slide
from deckgen.story.views import MINUS, Token, sig, tok

#: Sums above this make ``exp`` too large to read (or to compute): the slide subtracts the row's largest first.
_SHIFT_ABOVE = 30.0
#: Example rows the softmax table and the loss slide work out.
_ROWS = 2


def default_pair(trace) -> bool:
    """Sigmoid outputs trained on ½Σe²: the default, Trask's network."""
    return trace.output == "sigmoid" and trace.loss == "squared"


def _shift(values: list[float]) -> float:
    """What the slide subtracts from a row's sums before ``exp``: 0, or the row's largest sum when it is large."""
    top = max(values)
    return top if top > _SHIFT_ABOVE else 0.0


def _exp_token(b, t: int, k: int, r: int, c: int, shift: float, top: int) -> list[Token]:
    """``exp(z)`` or ``exp(z − max z)`` for one cell, the sums trace numbers (``top``: the row's largest)."""
    inner = [*tok(b.n(f"z{k}", t, r, c))]
    if shift:
        inner += [Token(f" {MINUS} "), *tok(b.n(f"z{k}", t, r, top), wrap=True)]
    return [Token("exp("), *inner, Token(")")]


def _exps(b, t: int, k: int, r: int) -> tuple[list[float], float]:
    """The exponentials of row ``r``'s sums as the slide shows them (``exp(z − max z)`` when they are large), and
    what it subtracts: worked out from the sums as shown, so each reads what the shown sums give."""
    zs = [b.shown_value(f"z{k}", t, r, i) for i in range(b.trace.get(f"z{k}", t).shape[1])]
    exact = [b.trace.value(f"z{k}", t, r, i) for i in range(len(zs))]
    shift = zs[int(np.argmax(exact))] if _shift(exact) else 0.0
    return [math.exp(z - shift) for z in zs], shift


def softmax_cell(b, t: int, k: int, r: int, c: int) -> tuple[Token, ...]:
    """``exp(z_c) / (exp(z_0) + exp(z_1) + …) = e_c / Σ = a`` for result cell ``(r, c)``."""
    n_cols = b.trace.get(f"z{k}", t).shape[1]
    exps, shift = _exps(b, t, k, r)     # as the softmax table shows them
    top = int(np.argmax([b.trace.value(f"z{k}", t, r, i) for i in range(n_cols)]))
    exp_c, total = sig(exps[c], b.p), sig(sum(exps), b.p)
    terms = b.cut(list(range(n_cols)))
    out: list[Token] = [*_exp_token(b, t, k, r, c, shift, top), Token(" / (")]
    for m, i in enumerate(terms):
        if m:
            out.append(Token(" + "))
        out += [Token("\u22ef")] if i is None else _exp_token(b, t, k, r, i, shift, top)
    an = b.n(f"a{k}", t, r, c)
    out += [Token(f") = {exp_c} / {total}"), Token(f" {of_num(an, read(exp_c) / read(total), b.p)} "), *tok(an)]
    return tuple(out)


def softmax_slide(b, t: int, k: int) -> Slide:
    """Softmax worked out for a few example rows: each sum's exp, the row's total, each exp divided by it."""
    tr, lay = b.trace, b.lay
    z = np.asarray(tr.get(f"z{k}", t), dtype=float)
    cols = [c for c in lay.shown(z.shape[1], lay.max_cols, False)]
    names = [lay.target_names[c] if len(lay.target_names) == z.shape[1] else f"output {c + 1}" for c in cols]
    examples = []
    for r in lay.shown(z.shape[0], lay.max_rows, True, tr, t)[:_ROWS]:
        exps, shift = _exps(b, t, k, r)
        total = sum(exps)
        a = np.asarray(tr.get(f"a{k}", t), dtype=float)[r]
        shown = [b.n(f"a{k}", t, r, c) for c in cols]
        # the row's label says ≈ when a shown exponential over the shown sum misses its shown output
        exact = all(of_num(n, read(sig(exps[c], b.p)) / read(sig(total, b.p)), b.p) == EQUALS for n, c in zip(shown, cols))
        examples.append({"label": lay.label(tr, t, r), "z": tuple(b.n(f"z{k}", t, r, c) for c in cols),
                         "exp": tuple(sig(exps[c], b.p) for c in cols), "sum": sig(total, b.p),
                         "a": tuple(shown), "a_tex": ("a = " if exact else r"a \approx ") + r"e^{z} / \textstyle\sum",
                         "a_sum": sig(float(a.sum()), b.p), "shift": sig(shift, b.p) if shift else "",
                         "largest": names[cols.index(int(np.argmax(a)))] if int(np.argmax(a)) in cols else "",
                         "largest_a": b.n(f"a{k}", t, r, int(np.argmax(a)))})
    first = examples[0]
    return Slide("slides/softmax.html", f"t{t}-softmax{k}", formula=r"a_{j} = \frac{e^{z_{j}}}{\sum_{i} e^{z_{i}}}",
                 ctx={"names": tuple(names), "examples": tuple(examples), "cut": len(cols) < z.shape[1],
                      "first": first, "shifted": any(e["shift"] for e in examples)})


def _loss_terms(b, t: int, r: int) -> tuple[tuple[Token, ...], float]:
    """One example's share of the loss, worked out with its numbers, and its value."""
    tr, L = b.trace, b.L
    a, e = f"a{L}", f"e{L}"
    cols = list(range(tr.get(a, t).shape[1]))
    shown = b.cut(cols)
    out: list[Token] = []
    value = 0.0
    ys = [tr.value("y", t, r, c) for c in cols]         # the share itself from the exact values
    as_ = [tr.value(a, t, r, c) for c in cols]
    shown_y = [b.shown_value("y", t, r, c) for c in cols]  # and as the numbers on the slide give it
    shown_a = [b.shown_value(a, t, r, c) for c in cols]
    if tr.loss == "squared":
        out.append(Token("\u00bd \u00b7 ("))
        for m, c in enumerate(shown):
            out += [Token(" + ")] if m else []
            out += [Token("\u22ef")] if c is None else [*tok(b.n(e, t, r, c), wrap=True), Token("\u00b2")]
        out.append(Token(")"))
        value = 0.5 * sum(tr.value(e, t, r, c) ** 2 for c in cols)
        from_shown = 0.5 * sum(b.shown_value(e, t, r, c) ** 2 for c in cols)
    elif tr.output == "softmax":
        out.append(Token(f"{MINUS}("))
        for m, c in enumerate(shown):
            out += [Token(" + ")] if m else []
            out += [Token("\u22ef")] if c is None else [*tok(b.n("y", t, r, c)), Token(" \u00b7 ln "), *tok(b.n(a, t, r, c))]
        out.append(Token(")"))
        value, from_shown = (-sum(y * math.log(max(p, 1e-300)) for y, p in zip(y_, a_) if y)
                             for y_, a_ in ((ys, as_), (shown_y, shown_a)))
    else:
        out.append(Token(f"{MINUS}("))
        for m, c in enumerate(shown):
            out += [Token(" + ")] if m else []
            if c is None:
                out.append(Token("\u22ef"))
                continue
            yn, an = b.n("y", t, r, c), b.n(a, t, r, c)
            out += [Token("["), *tok(yn), Token(" \u00b7 ln "), *tok(an), Token(f" + (1 {MINUS} "), *tok(yn),
                    Token(f") \u00b7 ln(1 {MINUS} "), *tok(an), Token(")]")]
        out.append(Token(")"))
        value, from_shown = (-sum(y * math.log(max(p, 1e-300)) + (1 - y) * math.log(max(1 - p, 1e-300))
                                  for y, p in zip(y_, a_)) for y_, a_ in ((ys, as_), (shown_y, shown_a)))
    share = derived(value, from_shown, b.p)
    return (*out, Token(f" {share.rel} "), Token(share.text)), value


def loss_slide(b, t: int) -> Slide:
    """The loss, worked out for the first example rows with their numbers, then summed over every example."""
    tr, lay, L = b.trace, b.lay, b.L
    n = tr.get(f"a{L}", t).shape[0]
    rows = []
    for r in lay.shown(n, lay.max_rows, True, tr, t)[:_ROWS]:
        tokens, value = _loss_terms(b, t, r)
        rows.append({"label": lay.label(tr, t, r), "tokens": tokens, "value": sig(value, b.p)})
    y = np.asarray(tr.get("y", t), dtype=float)
    r0 = lay.shown(n, lay.max_rows, True, tr, t)[0]
    ctx = {"rows": tuple(rows), "loss": b.n("loss", t, 0, 0), "examples": n, "many": n > len(rows),
           "squared": tr.loss == "squared", "softmax": tr.output == "softmax", "t": t,
           "onehot": tr.output == "softmax" and bool(np.all(np.isin(y, (0.0, 1.0)))),
           "first": rows[0], "first_a": b.n(f"a{L}", t, r0, int(np.argmax(y[r0]))),
           "first_class": (lay.target_names[int(np.argmax(y[r0]))] if len(lay.target_names) == y.shape[1] > 1 else ""),
           "mean": sig(float(tr.value("loss", t)) / n, b.p), "uniform": sig(math.log(y.shape[1]), b.p),
           "outputs": y.shape[1]}
    return Slide("slides/loss.html", f"t{t}-loss", formula=tr.formula("loss"), ctx=ctx)


def why_delta_slide(b, t: int, j: int = 0) -> Slide:
    """Why the output delta is the error itself, ``y − a``, for one example, with its numbers.

    Softmax: ``∂ℒ/∂z_j = Σ_i (−y_i / a_i) · a_i(δ_ij − a_j) = a_j − y_j``; sigmoid with
    cross-entropy: ``∂ℒ/∂a = (a − y) / (a(1 − a))`` times ``∂a/∂z = a(1 − a)``; a linear output:
    ``∂ℒ/∂a = a − y`` times a slope of 1.
    """
    tr, lay, L = b.trace, b.lay, b.L
    a, y, e, d = f"a{L}", "y", f"e{L}", f"d{L}"
    A = np.asarray(tr.get(a, t), dtype=float)
    Y = np.asarray(tr.get(y, t), dtype=float)
    r = lay.shown(A.shape[0], lay.max_rows, True, tr, t)[0]
    aj, yj = float(A[r, j]), float(Y[r, j])
    sa, sy = b.shown_value(a, t, r, j), b.shown_value(y, t, r, j)     # a and y as the slide shows them
    terms, total, others_zero = [], 0.0, False
    if tr.output == "softmax":
        every = range(A.shape[1])
        listed = every if A.shape[1] <= 5 else sorted({j, *(i for i in every if Y[r, i])})
        for i in listed:
            value = -float(Y[r, i]) * ((1.0 if i == j else 0.0) - aj)
            from_shown = -b.shown_value(y, t, r, i) * ((1.0 if i == j else 0.0) - sa)
            terms.append({"i": str(i), "same": i == j, "y": b.n(y, t, r, i), "a": b.n(a, t, r, i),
                          "aj": b.n(a, t, r, j), "value": derived(value, from_shown, b.p)})
        total = float(sum(-float(Y[r, i]) * ((1.0 if i == j else 0.0) - aj) for i in every))
        others_zero = all(not Y[r, i] for i in every if i not in listed)
    dl_da = (aj - yj) / (aj * (1 - aj)) if tr.output == "sigmoid" and 0 < aj < 1 else aj - yj
    slope = aj * (1 - aj) if tr.output == "sigmoid" else 1.0
    shown_dl_da = (sa - sy) / (sa * (1 - sa)) if tr.output == "sigmoid" and 0 < sa < 1 else sa - sy
    dl_da_d, slope_d = derived(dl_da, shown_dl_da, b.p), derived(slope, sa * (1 - sa), b.p)
    names = lay.target_names
    ctx = {"softmax": tr.output == "softmax", "row": lay.label(tr, t, r), "j": str(j),
           "term": r"\left(-\frac{y_{i}}{a_{i}}\right) a_{i} (\delta_{ij} - a_{j}) = y_{i} (a_{j} - \delta_{ij})",
           "unit": names[j] if len(names) == A.shape[1] > 1 else "", "terms": tuple(terms),
           "a": b.n(a, t, r, j), "y": b.n(y, t, r, j), "e": b.n(e, t, r, j), "d": b.n(d, t, r, j),
           "total": derived(total, sa - sy, b.p), "dl_da": dl_da_d, "slope": slope_d,
           "product": derived(dl_da * slope, read(dl_da_d.text) * read(slope_d.text), b.p),
           "a_minus_y": derived(aj - yj, sa - sy, b.p),
           "cut": tr.output == "softmax" and A.shape[1] > len(terms), "others_zero": tr.output == "softmax" and others_zero}
    return Slide("slides/why-delta.html", f"t{t}-why-d{L}", ctx=ctx)

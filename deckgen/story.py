"""Trace -> the talk: an ordered list of slide view-models.

This is where the deck's structure is decided: which slides exist, which
matrices each one shows, which result cells are worked out step by step and
what is highlighted while they are. It is pure (no files, no HTML) so it can be
tested without rendering. Wording lives in the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .views import (MINUS, Layout, MatrixView, Num, Token, Worked, fmt, num, parse_number, pick,
                    split_name, tex_label, tok)


@dataclass(frozen=True)
class Slide:
    template: str                      # e.g. "slides/matmul.html"
    id: str                            # stable anchor, e.g. "t0-z1"
    title: str = ""
    formula: str = ""                  # LaTeX
    matrices: tuple[MatrixView, ...] = ()
    worked: tuple[Worked, ...] = ()
    worked_total: int = 0              # how many result cells exist (to say "4 of 600 worked")
    ops: tuple[str, ...] = ()          # the operator shown before each matrix after the first
    ctx: dict[str, Any] = field(default_factory=dict)   # further template values, already formatted
    animate: bool = False

    @property
    def approx(self) -> bool:
        """Whether a worked step uses ``≈``: its shown (rounded) inputs miss the shown result."""
        return any(tok.text == " \u2248 " for w in self.worked for tok in w.tokens)

    @property
    def density(self) -> str:
        """How tightly the slide's matrices must be set: roomy, normal or dense."""
        cols = sum(len(m.rows[0]) + bool(m.row_labels) for m in self.matrices if m.rows)
        rows = max((len(m.rows) for m in self.matrices), default=0)
        if cols > 24 or rows > 10:
            return "dense"
        if cols > 12 or rows > 5:
            return "normal"
        return "roomy"


@dataclass(frozen=True)
class Story:
    title: str
    slides: tuple[Slide, ...]
    theme: str
    summary: dict[str, Any] = field(default_factory=dict)
    figures: tuple[dict[str, Any], ...] = ()        # figures the slides refer to, for the render stage


MAE_FIGURE = "figures/mae.svg"
ACT_TEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{relu}"}
ACT_DEF = {"sigmoid": r"\sigma(z) = \frac{1}{1 + e^{-z}}", "tanh": r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}",
           "relu": r"\mathrm{relu}(z) = \max(0, z)"}
ACT_OP = {"sigmoid": "\u03c3", "tanh": "tanh", "relu": "relu"}
DERIV_TEX = {"sigmoid": r"a \odot (1 - a)", "tanh": r"(1 - a^{2})", "relu": r"[a > 0]"}


def _act(trace, k: int) -> str:
    return "sigmoid" if k == len(trace.layers) - 1 else trace.activation


class _Builder:
    """Collects slides for one trace; a class only to share the layout and trace."""

    def __init__(self, trace, layout: Layout, worked_cells: int, learning_rate: float) -> None:
        self.trace = trace
        self.lay = layout
        self.p = layout.precision
        self.limit = worked_cells
        self.lr = float(learning_rate)
        self.eta = f"{self.lr:g}"
        self.L = len(trace.layers) - 1
        self.figures: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- helpers
    def n(self, name: str, t: int, r: int, c: int) -> Num:
        return num(self.trace, name, t, r, c, self.p)

    def shown_value(self, name: str, t: int, r: int, c: int) -> float:
        """A trace value as the slide shows it (rounded to the deck's precision)."""
        return parse_number(fmt(self.trace.value(name, t, r, c), self.p))

    def equals(self, result: Num, from_shown: float) -> Token:
        """``=`` when the numbers on the slide give the shown result, else ``≈`` (they are rounded)."""
        return Token(" = " if fmt(from_shown, self.p) == result.text else " \u2248 ")

    def src(self, k: int) -> str:
        return "X" if k == 1 else f"a{k - 1}"

    def cells(self, name: str, t: int) -> list[tuple[int, int]]:
        """Result cells to work out: every shown cell when few, else the first ``limit`` shown ones."""
        m = self.trace.get(name, t)
        per_example = split_name(name)[0] in ("z", "a", "e", "d")
        rows = self.lay.shown(m.shape[0], self.lay.max_rows, per_example)
        cols = self.lay.shown(m.shape[1], self.lay.max_cols, False)
        return [(r, c) for r in rows for c in cols][: self.limit]

    def examples(self, n: int) -> list[int | None]:
        """The example rows a sum over examples shows: the rows on the slide, ``None`` where rows are skipped."""
        return pick(n, self.lay.max_rows, self.lay.example_rows)

    def total(self, name: str, t: int) -> int:
        m = self.trace.get(name, t)
        return int(m.shape[0] * m.shape[1])

    @staticmethod
    def cut(items: list) -> list:
        """A long list of terms cut to its first three and last one, ``None`` marking the gap."""
        return items if len(items) <= 6 or None in items else items[:3] + [None] + items[-1:]

    def sum_terms(self, items: list) -> list[Token]:
        """``a·b + c·d + ⋯`` from (Num, Num) pairs or single Nums, ``None`` standing for skipped terms."""
        out: list[Token] = []
        for i, item in enumerate(items):
            if i:
                out.append(Token(" + "))
            if item is None:
                out.append(Token("\u22ef"))
            elif isinstance(item, tuple):
                out += [*tok(item[0], wrap=True), Token("\u00b7"), *tok(item[1], wrap=True)]
            else:
                out += list(tok(item, wrap=True))
        return out

    # ----------------------------------------------------------------- slides
    def matmul(self, t: int, k: int) -> Slide:
        """``z{k} = a{k-1} · W{k} (+ b{k})``."""
        tr, src, W, z = self.trace, self.src(k), f"W{k}", f"z{k}"
        worked = []
        inner = tr.get(W, t).shape[0]
        for r, c in self.cells(z, t):
            pairs = self.cut([(self.n(src, t, r, i), self.n(W, t, i, c)) for i in range(inner)])
            tokens = self.sum_terms(pairs)
            value = sum(self.shown_value(src, t, r, i) * self.shown_value(W, t, i, c) for i in range(inner))
            if tr.bias:
                tokens += [Token(" + "), *tok(self.n(f"b{k}", t, 0, c), wrap=True)]
                value += self.shown_value(f"b{k}", t, 0, c)
            zn = self.n(z, t, r, c)
            tokens += [self.equals(zn, value), *tok(zn)]
            worked.append(Worked(target=f"{z}:{r},{c}", rows=(f"{src}:{r}",), cols=(f"{W}:{c}",),
                                 cells=((f"b{k}:0,{c}",) if tr.bias else ()), tokens=tuple(tokens)))
        mats = [self.lay.matrix(tr, src, t), self.lay.matrix(tr, W, t)]
        if tr.bias:
            mats.append(self.lay.matrix(tr, f"b{k}", t))
        mats.append(self.lay.matrix(tr, z, t))
        ops = ("\u00b7", "+", "=") if tr.bias else ("\u00b7", "=")
        return Slide("slides/matmul.html", f"t{t}-{z}", formula=tr.formula(z), matrices=tuple(mats),
                     worked=tuple(worked), worked_total=self.total(z, t), ops=ops,
                     ctx={"k": k, "t": t, "layer": k, "hidden": k < self.L, "what": "weighted sums",
                          "left": tex_label(src), "right": tex_label(W), "result": tex_label(z),
                          "inner": inner, "bias": tr.bias, "gradient": False, "backprop": False})

    def activate(self, t: int, k: int) -> Slide:
        tr, z, a = self.trace, f"z{k}", f"a{k}"
        act = _act(tr, k)
        worked = []
        for r, c in self.cells(a, t):
            zn, an = self.n(z, t, r, c), self.n(a, t, r, c)
            zs = self.shown_value(z, t, r, c)
            if act == "sigmoid":
                tokens = [Token("\u03c3("), *tok(zn), Token(") = 1 / (1 + e"),
                          Token(fmt(-zs, self.p), kind="sup"), Token(")"), self.equals(an, 1 / (1 + np.exp(-zs)))]
            elif act == "tanh":
                tokens = [Token("tanh("), *tok(zn), Token(")"), self.equals(an, np.tanh(zs))]
            else:
                tokens = [Token("max(0, "), *tok(zn), Token(")"), self.equals(an, max(0.0, zs))]
            worked.append(Worked(target=f"{a}:{r},{c}", cells=(f"{z}:{r},{c}",), tokens=(*tokens, *tok(an))))
        return Slide("slides/elementwise.html", f"t{t}-{a}", formula=tr.formula(a),
                     matrices=(self.lay.matrix(tr, z, t), self.lay.matrix(tr, a, t)),
                     worked=tuple(worked), worked_total=self.total(a, t), ops=(ACT_OP[act],),
                     ctx={"k": k, "t": t, "step": "activation", "activation": act,
                          "definition": ACT_DEF[act], "output": k == self.L})

    def curve(self, t: int, k: int) -> Slide:
        """The activation function's own slide: its curve with this iteration's ``z{k}`` marked."""
        act = _act(self.trace, k)
        path = f"figures/activation-t{t}-{k}.svg"
        self.figures.append({"kind": "activation", "path": path, "activation": act, "name": f"z{k}", "t": t})
        z = self.trace.get(f"z{k}", t)
        return Slide("slides/activation.html", f"t{t}-f{k}", formula=ACT_DEF[act],
                     ctx={"k": k, "t": t, "activation": act, "figure": path, "output": k == self.L,
                          "count": int(z.size), "zmin": fmt(float(z.min()), self.p), "zmax": fmt(float(z.max()), self.p)})

    def error(self, t: int) -> Slide:
        tr, L = self.trace, self.L
        e, a = f"e{L}", f"a{L}"
        worked = []
        for r, c in self.cells(e, t):
            en = self.n(e, t, r, c)
            value = self.shown_value("y", t, r, c) - self.shown_value(a, t, r, c)
            tokens = [*tok(self.n("y", t, r, c)), Token(f" {MINUS} "), *tok(self.n(a, t, r, c), wrap=True),
                      self.equals(en, value), *tok(en)]
            worked.append(Worked(target=f"{e}:{r},{c}", cells=(f"y:{r},{c}", f"{a}:{r},{c}"), tokens=tuple(tokens)))
        return Slide("slides/elementwise.html", f"t{t}-{e}", formula=tr.formula(e),
                     matrices=(self.lay.matrix(tr, "y", t), self.lay.matrix(tr, a, t), self.lay.matrix(tr, e, t)),
                     worked=tuple(worked), worked_total=self.total(e, t), ops=(MINUS, "="),
                     ctx={"k": L, "t": t, "step": "output_error", "loss": self.n("loss", t, 0, 0),
                          "mae": self.n("mae", t, 0, 0), "loss_formula": tr.formula("loss"),
                          "mae_formula": tr.formula("mae")})

    def delta(self, t: int, k: int) -> Slide:
        tr, e, a, d = self.trace, f"e{k}", f"a{k}", f"d{k}"
        act = _act(tr, k)
        worked = []
        for r, c in self.cells(d, t):
            en, an, dn = self.n(e, t, r, c), self.n(a, t, r, c), self.n(d, t, r, c)
            es, as_ = self.shown_value(e, t, r, c), self.shown_value(a, t, r, c)
            if act == "sigmoid":
                tokens = [*tok(en, True), Token(" \u00b7 "), *tok(an, True), Token(" \u00b7 (1 "), Token(MINUS),
                          Token(" "), *tok(an, True), Token(")")]
                value = es * as_ * (1 - as_)
            elif act == "tanh":
                tokens = [*tok(en, True), Token(" \u00b7 (1 "), Token(MINUS), Token(" "), *tok(an, True),
                          Token("\u00b2)")]
                value = es * (1 - as_ ** 2)
            else:
                slope = 1 if tr.value(a, t, r, c) > 0 else 0
                tokens = [*tok(en, True), Token(f" \u00b7 {slope}")]
                value = es * slope
            worked.append(Worked(target=f"{d}:{r},{c}", cells=(f"{e}:{r},{c}", f"{a}:{r},{c}"),
                                 tokens=(*tokens, self.equals(dn, value), *tok(dn))))
        return Slide("slides/elementwise.html", f"t{t}-{d}", formula=tr.formula(d),
                     matrices=(self.lay.matrix(tr, e, t), self.lay.matrix(tr, a, t), self.lay.matrix(tr, d, t)),
                     worked=tuple(worked), worked_total=self.total(d, t), ops=(f"\u2299 {ACT_OP[act]}\u2032", "="),
                     ctx={"k": k, "t": t, "step": "delta", "activation": act, "derivative": DERIV_TEX[act],
                          "output": k == self.L})

    def backprop(self, t: int, k: int) -> Slide:
        """``e{k} = d{k+1} · W{k+1}ᵀ`` for a hidden layer."""
        tr, d, W, e = self.trace, f"d{k + 1}", f"W{k + 1}", f"e{k}"
        inner = tr.get(W, t).shape[1]
        worked = []
        for r, c in self.cells(e, t):
            pairs = self.cut([(self.n(d, t, r, i), self.n(W, t, c, i)) for i in range(inner)])
            value = sum(self.shown_value(d, t, r, i) * self.shown_value(W, t, c, i) for i in range(inner))
            en = self.n(e, t, r, c)
            tokens = self.sum_terms(pairs) + [self.equals(en, value), *tok(en)]
            worked.append(Worked(target=f"{e}:{r},{c}", rows=(f"{d}:{r}", f"{W}:{c}"), tokens=tuple(tokens)))
        return Slide("slides/matmul.html", f"t{t}-{e}", formula=tr.formula(e),
                     matrices=(self.lay.matrix(tr, d, t), self.lay.matrix(tr, W, t, transposed=True),
                               self.lay.matrix(tr, e, t)),
                     worked=tuple(worked), worked_total=self.total(e, t), ops=("\u00b7", "="),
                     ctx={"k": k, "t": t, "what": "hidden errors", "left": tex_label(d),
                          "right": tex_label(W) + r"^{\top}", "result": tex_label(e), "inner": inner,
                          "backprop": True, "gradient": False, "bias": False})

    def gradient(self, t: int, k: int) -> list[Slide]:
        """``ΔW{k} = η · a{k-1}ᵀ · δ{k}`` (and ``Δb{k}``), summed over the examples on the slide."""
        tr, src, d, dW = self.trace, self.src(k), f"d{k}", f"dW{k}"
        n_examples = tr.get(d, t).shape[0]
        rows = self.examples(n_examples)
        worked = []
        for r, c in self.cells(dW, t):
            pairs = [None if i is None else (self.n(src, t, i, r), self.n(d, t, i, c)) for i in rows]
            value = self.lr * sum(self.shown_value(src, t, i, r) * self.shown_value(d, t, i, c) for i in range(n_examples))
            dn = self.n(dW, t, r, c)
            tokens = [Token(f"{self.eta} \u00b7 ("), *self.sum_terms(self.cut(pairs)), Token(")"),
                      self.equals(dn, value), *tok(dn)]
            worked.append(Worked(target=f"{dW}:{r},{c}", cols=(f"{src}:{r}", f"{d}:{c}"), tokens=tuple(tokens)))
        slides = [Slide("slides/matmul.html", f"t{t}-{dW}", formula=tr.formula(dW),
                        matrices=(self.lay.matrix(tr, src, t, transposed=True), self.lay.matrix(tr, d, t),
                                  self.lay.matrix(tr, dW, t)),
                        worked=tuple(worked), worked_total=self.total(dW, t), ops=("\u00b7", f"\u00d7 {self.eta} ="),
                        ctx={"k": k, "t": t, "what": "weight changes", "left": tex_label(src) + r"^{\top}",
                             "right": tex_label(d), "result": tex_label(dW), "inner": n_examples,
                             "gradient": True, "eta": self.eta, "backprop": False, "bias": False})]
        if tr.bias:
            db = f"db{k}"
            worked = []
            for r, c in self.cells(db, t):
                terms = [None if i is None else self.n(d, t, i, c) for i in rows]
                value = self.lr * sum(self.shown_value(d, t, i, c) for i in range(n_examples))
                dn = self.n(db, t, r, c)
                worked.append(Worked(target=f"{db}:{r},{c}", cols=(f"{d}:{c}",),
                                     tokens=(Token(f"{self.eta} \u00b7 ("), *self.sum_terms(self.cut(terms)),
                                             Token(")"), self.equals(dn, value), *tok(dn))))
            slides.append(Slide("slides/elementwise.html", f"t{t}-{db}", formula=tr.formula(db),
                                matrices=(self.lay.matrix(tr, d, t), self.lay.matrix(tr, db, t)),
                                worked=tuple(worked), worked_total=self.total(db, t),
                                ops=(f"\u2192 {self.eta} \u00d7 column sums \u2192",),
                                ctx={"k": k, "t": t, "step": "bias_gradient", "eta": self.eta}))
        return slides

    def update(self, t: int, k: int, name: str = "W") -> Slide:
        tr, W, dW = self.trace, f"{name}{k}", f"d{name}{k}"
        worked = []
        for r, c in self.cells(W, t):
            new = self.n(W, t + 1, r, c)
            value = self.shown_value(W, t, r, c) + self.shown_value(dW, t, r, c)
            tokens = [*tok(self.n(W, t, r, c)), Token(" + "), *tok(self.n(dW, t, r, c), wrap=True),
                      self.equals(new, value), *tok(new)]
            worked.append(Worked(target=f"{W}:{r},{c}", cells=(f"{dW}:{r},{c}",), tokens=tuple(tokens)))
        after = self.lay.matrix(tr, W, t + 1, animate=True, caption=f"iteration {t + 1}")
        return Slide("slides/update.html", f"t{t}-update-{W}",
                     formula=rf"{tex_label(W)} \leftarrow {tex_label(W)} + {tex_label(dW)}",
                     matrices=(self.lay.matrix(tr, W, t, caption=f"iteration {t}"), self.lay.matrix(tr, dW, t), after),
                     worked=tuple(worked), worked_total=self.total(W, t), ops=("+", "="),
                     ctx={"k": k, "t": t, "next": t + 1, "bias": name == "b"})

    def iteration(self, t: int) -> list[Slide]:
        """Every calculation step of iteration ``t``, in the order the network computes them."""
        L, slides = self.L, []
        for k in range(1, L + 1):
            slides += [self.matmul(t, k), self.curve(t, k), self.activate(t, k)]
        slides += [self.error(t), self.delta(t, L)]
        for k in range(L - 1, 0, -1):
            slides += [self.backprop(t, k), self.delta(t, k)]
        for k in range(1, L + 1):
            slides += self.gradient(t, k)
        for k in range(1, L + 1):
            slides.append(self.update(t, k))
            if self.trace.bias:
                slides.append(self.update(t, k, "b"))
        return slides


def _diagram(trace, layout: Layout, t: int, names: tuple[tuple[str, ...], ...], *,
             weight_labels: bool = True) -> dict[str, Any]:
    """Node positions and weighted edges of the network at iteration ``t``.

    Coordinates are in a box 1000 wide and 560 high, widened on the left and right for the input
    and output names, which stand outside their nodes; hidden units are numbered inside theirs.
    """
    layers = trace.layers
    height, pad, radius = 560, 50, 22
    shown = [min(n, 10) for n in layers]
    label_of = [[names[i][j] if i < len(names) and j < len(names[i]) else (f"h{j + 1}" if 0 < i < len(layers) - 1 else "")
                 for j in range(n)] for i, n in enumerate(shown)]
    left = 40 + 11 * max((len(x) for x in label_of[0]), default=0)
    right = 40 + 11 * max((len(x) for x in label_of[-1]), default=0)
    width = 1000 + left + right
    xs = [left + pad + i * (1000 - 2 * pad) / max(len(layers) - 1, 1) for i in range(len(layers))]
    nodes, edges = [], []
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for i, n in enumerate(shown):
        gap = (height - 2 * pad) / max(n - 1, 1) if n > 1 else 0
        top = height / 2 - gap * (n - 1) / 2
        last = i == len(layers) - 1
        for j in range(n):
            x, y = round(xs[i], 1), round(top + j * gap, 1)
            pos[i, j] = (x, y)
            nodes.append({"x": x, "y": y, "layer": i, "label": label_of[i][j],
                          "role": "input" if i == 0 else ("output" if last else "activation"),
                          # names of inputs and outputs stand outside the node, hidden numbers inside
                          "lx": x - radius - 8 if i == 0 else (x + radius + 8 if last else x), "ly": y + 6,
                          "anchor": "end" if i == 0 else ("start" if last else "middle")})
    have_weights = all(trace.has(f"W{k}", t) for k in range(1, len(layers)))
    biggest = max((float(np.abs(trace.get(f"W{k}", t)).max()) for k in range(1, len(layers))), default=1.0) if have_weights else 1.0
    label_edges = weight_labels and have_weights and sum(shown[i] * shown[i + 1] for i in range(len(shown) - 1)) <= 24
    for k in range(1, len(layers)):
        along = [0.22 + 0.5 * j / max(shown[k] - 1, 1) for j in range(shown[k])]
        for i in range(shown[k - 1]):
            for j in range(shown[k]):
                w = trace.value(f"W{k}", t, i, j) if have_weights else 0.0
                (x1, y1), (x2, y2) = pos[k - 1, i], pos[k, j]
                strength = abs(w) / biggest if biggest else 0.0
                edges.append({
                    "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                    "sign": "pos" if w >= 0 else "neg",
                    "width": round(1 + 7 * strength, 2), "opacity": round(0.25 + 0.75 * strength, 2),
                    "num": num(trace, f"W{k}", t, i, j, layout.precision) if label_edges else None,
                    # labels spread along the edges by target unit, so edges leaving one node don't collide
                    "lx": round(x1 + (x2 - x1) * along[j], 1), "ly": round(y1 + (y2 - y1) * along[j] - 8, 1),
                })
    return {"nodes": nodes, "edges": edges, "width": round(width), "height": height, "radius": radius,
            "cut": any(n > 10 for n in layers)}


def diagnose(trace) -> dict[str, Any]:
    """How training went: converged, stuck on a plateau, or diverged (with where, and a one-line message).

    Diverged means a value became infinite or NaN (training stopped there), or the error ended no
    better than it started after jumping up on the way (steps so large the units saturate).
    """
    mae = np.asarray(trace.series("mae"), dtype=float)
    if trace.stopped_at is not None:
        at = int(trace.stopped_at)
        return {"kind": "diverged", "reason": "overflow", "iteration": at, "last_finite": max(at - 1, 0),
                "message": f"training diverged at iteration {at:,}: a value became infinite or NaN"}
    final = float(mae[-1])
    start_t = 0
    if len(mae) >= 20 and final >= 0.98 * mae[0] and mae[: max(len(mae) // 10, 2)].max() > mae[0] * 1.01:
        away = np.nonzero(np.abs(mae - final) > 0.01 * max(final, 1e-12))[0]
        start_t = int(away[-1] + 1) if len(away) else 0
        return {"kind": "diverged", "reason": "overshoot", "iteration": start_t, "last_finite": len(mae) - 1,
                "final": final,
                "message": f"training diverged: from iteration {start_t:,} the error is stuck at {final:.3f}, "
                           "no better than at the start (the steps overshoot)"}
    if final > 0.1 and len(mae) >= 20:
        tail = mae[int(len(mae) * 0.8):]
        change = float(abs(tail[0] - tail[-1]) / max(tail[0], 1e-12))
        if change < 0.01:
            # the plateau starts where the error last differed from its final value by more than 1%
            away = np.nonzero(np.abs(mae - final) > 0.01 * max(final, 1e-12))[0]
            start_t = int(away[-1] + 1) if len(away) else 0
            return {"kind": "stuck", "iteration": start_t, "final": final,
                    "message": f"training got stuck: the error stays at {final:.3f} from iteration {start_t:,}"}
    return {"kind": "converged", "final": final, "message": ""}


def checkpoints_of(spec, iterations: int, stopped_at: int | None = None) -> list[int]:
    """The checkpoint iterations: every N (or a list), plus the last iteration."""
    last = (stopped_at - 1 if stopped_at else iterations - 1)
    points = list(range(0, iterations, spec)) if isinstance(spec, int) else [t for t in spec if t < iterations]
    points = sorted({t for t in points if t <= last} | {last})
    return [t for t in points if t >= 0]


def _raw_table(dataset, layout: Layout) -> dict[str, Any] | None:
    """The data as read from the file (text, no trace numbers), cut like the matrices."""
    if not dataset.raw or not dataset.raw_header:
        return None
    rows = pick(len(dataset.raw), layout.max_rows, layout.example_rows)
    cols = pick(len(dataset.raw_header), layout.max_cols + 2)
    return {
        "header": ["\u2026" if c is None else dataset.raw_header[c] for c in cols],
        "rows": [{"label": "\u22ee" if r is None else str(r),
                  "cells": ["\u2026" if (r is None or c is None) else dataset.raw[r][c] for c in cols]}
                 for r in rows],
        "shape": f"{len(dataset.raw)} \u00d7 {len(dataset.raw_header)}",
    }


def _classified(trace, layout: Layout, dataset, t: int) -> dict[str, Any] | None:
    """Predicted class of each shown example (the output with the largest value) next to its true class."""
    names = dataset.class_names
    L = len(trace.layers) - 1
    if not names or len(names) != trace.layers[-1] or len(names) < 2:
        return None
    a, y = trace.get(f"a{L}", t), trace.get("y", t)
    best, truth = np.argmax(a, axis=1), np.argmax(y, axis=1)
    rows = []
    for r in layout.shown(a.shape[0], layout.max_rows, True):
        rows.append({"label": str(r), "true": names[truth[r]], "predicted": names[best[r]],
                     "output": num(trace, f"a{L}", t, r, int(best[r]), layout.precision),
                     "correct": bool(best[r] == truth[r])})
    correct = int(np.sum(best == truth))
    return {"rows": rows, "correct": f"{correct:,}", "total": f"{len(best):,}", "all": correct == len(best)}


def _trace_file(trace, config, beside: bool) -> dict[str, str | None]:
    """What the end slide says of the saved trace, and what its notes add.

    ``beside``: the deck folder holds ``trace.npz`` (False for an exported
    deck: a PDF or a single file has no trace beside it).
    """
    from .cache import deck_kept

    budget = None if trace.complete else (
        "Only the iterations shown were recorded in full: recording every iteration did not fit "
        "`training.memory_budget_mb`. The error was still recorded at every iteration.")
    if not beside:
        return {"text": None, "budget": budget}
    kept, errors = len(deck_kept(trace, config)), len(trace.series("mae"))
    if trace.complete and kept == len(trace.kept):
        text = f"`trace.npz` beside it holds every matrix of all {kept:,} iterations."
    else:
        text = (f"`trace.npz` beside it holds every matrix of the {kept:,} iterations shown "
                f"and the error of all {errors:,}.")
    return {"text": text, "budget": budget}


def build_story(config, dataset, trace, *, trace_beside: bool = True) -> Story:
    """The pure heart of deckgen: one view-model per slide, in order.

    ``trace_beside``: the deck is saved with its ``trace.npz`` (False for an
    export, whose last slide then claims no trace file).
    """
    deck = config.deck
    layers = trace.layers
    L = len(layers) - 1
    layout = Layout(precision=deck.precision, max_rows=deck.max_rows, max_cols=deck.max_cols,
                    example_rows=dataset.rows if dataset.rows and len(dataset.rows) < dataset.n_examples else None,
                    n_layers=L, trask_names=deck.trask_names,
                    feature_names=dataset.feature_names, target_names=dataset.target_names)
    b = _Builder(trace, layout, deck.worked_cells, trace.learning_rate)
    node_names = (dataset.feature_names,) + tuple(() for _ in layers[1:-1]) + (dataset.target_names,)
    diag = diagnose(trace)
    last = trace.last
    final_t = last - 1 if last >= 1 and trace.has(f"a{L}", last - 1) else last
    checkpoints = [t for t in checkpoints_of(deck.checkpoints, trace.iterations, trace.stopped_at) if trace.has(f"a{L}", t)]
    explain = [t for t in deck.explain if t < trace.iterations and trace.has(f"dW{L}", t)]
    skipped = [t for t in deck.explain if t not in explain]
    summary = {
        "layers": " \u2192 ".join(str(n) for n in layers), "activation": trace.activation,
        "iterations": f"{trace.iterations:,}", "learning_rate": b.eta, "bias": trace.bias,
        "examples": dataset.n_examples, "n_layers": L, "explain": explain, "skipped": skipped,
        "complete": trace.complete, "kept": len(trace.kept), "diagnosis": diag,
        "precision": deck.precision, "final_t": final_t,
    }
    raw = _raw_table(dataset, layout)
    slides: list[Slide] = [
        Slide("slides/title.html", "title", title=config.title, ctx=summary),
        *([Slide("slides/raw.html", "data-raw", ctx={"table": raw, "scaling": dataset.scaling,
                                                      "description": dataset.description})] if raw else []),
        Slide("slides/dataset.html", "data",
              matrices=(layout.matrix(trace, "X", 0), layout.matrix(trace, "y", 0)),
              ctx={"description": dataset.description, "scaling": dataset.scaling,
                   "examples": dataset.n_examples, "features": len(dataset.feature_names),
                   "class_names": dataset.class_names or ()}),
        Slide("slides/network.html", "network", ctx={**summary, "diagram": _diagram(trace, layout, 0, node_names),
                                                     "sizes": list(layers)}),
        Slide("slides/weights.html", "weights-0", animate=True,
              matrices=tuple(layout.matrix(trace, f"W{k}", 0, animate=True) for k in range(1, L + 1))
              + (tuple(layout.matrix(trace, f"b{k}", 0) for k in range(1, L + 1)) if trace.bias else ()),
              ctx={"seed": config.training.seed, "explicit": config.network.weights is not None}),
    ]
    for t in explain:
        slides.append(Slide("slides/iteration.html", f"t{t}", ctx={"t": t, "steps": None}))
        slides += b.iteration(t)
    for t in checkpoints:
        slides.append(Slide(
            "slides/checkpoint.html", f"checkpoint-{t}", animate=True,
            # the weights carry stable ids, so reveal's auto-animate morphs them from checkpoint to checkpoint
            matrices=(layout.matrix(trace, f"a{L}", t), layout.matrix(trace, "y", t),
                      *(layout.matrix(trace, f"W{k}", t, animate=True) for k in range(1, L + 1) if trace.has(f"W{k}", t))),
            ctx={"t": t, "t_text": f"{t:,}", "mae": b.n("mae", t, 0, 0), "loss": b.n("loss", t, 0, 0),
                 "diagram": _diagram(trace, layout, t, node_names, weight_labels=False) if trace.has("W1", t) else None}))
    slides.append(Slide("slides/curve.html", "curve",
                        ctx={"figure": MAE_FIGURE, "diagnosis": diag,
                             "first": b.n("mae", 0, 0, 0), "last": b.n("mae", final_t, 0, 0),
                             "last_t": f"{final_t:,}"}))
    if diag["kind"] != "converged":
        slides.append(Slide("slides/trouble.html", diag["kind"],
                            ctx={**diag, "iteration_text": f"{diag['iteration']:,}",
                                 "learning_rate": b.eta, "hidden": list(layers[1:-1]),
                                 "seed": config.training.seed, "figure": MAE_FIGURE,
                                 "mae": b.n("mae", diag.get("last_finite", last), 0, 0)}))
    slides.append(Slide("slides/predictions.html", "predictions",
                        matrices=(layout.matrix(trace, "X", final_t), layout.matrix(trace, "y", final_t),
                                  layout.matrix(trace, f"a{L}", final_t)),
                        ctx={"t": final_t, "t_text": f"{final_t:,}", "trained": f"{final_t:,}",
                             "class_names": dataset.class_names or (),
                             "classified": _classified(trace, layout, dataset, final_t)}))
    slides.append(Slide("slides/end.html", "end",
                        ctx={**summary, "trace_file": _trace_file(trace, config, trace_beside)}))
    figures = tuple({**spec, "theme": deck.theme} for spec in
                    ({"kind": "mae", "path": MAE_FIGURE, "checkpoints": checkpoints, "diagnosis": diag}, *b.figures))
    return Story(title=config.title, slides=tuple(slides), theme=deck.theme, summary=summary, figures=figures)

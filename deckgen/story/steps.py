"""The calculation slides of one explained iteration, in the order the network computes them.

Each slide shows the matrices of one step and works out some of its result
cells with the numbers as shown (``=`` when the rounded numbers give the shown
result, ``≈`` when they do not).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from deckgen.core.activations import FUNCTIONS, layer_activations
from deckgen.core.losses import loss_of
from deckgen.story.curves import frame
from deckgen.story.outputs import default_pair, loss_slide, softmax_cell, softmax_slide
from deckgen.story.fit import Spec, fit, lines_below, on_slide, room, visible
from deckgen.story.shown import of_num
from deckgen.story.slides import Slide
from deckgen.story.views import (MINUS, Layout, Num, Token, Worked, parse_number, per_example, pick, show, sig, split_name,
                                 tex_label, tok)


class Steps:
    """Collects slides for one trace; a class only to share the layout and trace."""

    def __init__(self, trace, layout: Layout, worked_cells: int, learning_rate: float,
                 worked_at_once: bool = False) -> None:
        self.trace = trace
        self.lay = layout
        self.p = layout.precision
        self.limit = worked_cells
        self.at_once = worked_at_once
        self.lr = float(learning_rate)
        self.eta = f"{self.lr:g}"
        self.L = len(trace.layers) - 1
        self.acts = layer_activations(self.L, trace.activation, trace.output)
        self.same = loss_of(trace.output, trace.loss).delta_is_error    # the output delta is the error itself
        self.figures: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- helpers
    def n(self, name: str, t: int, r: int, c: int) -> Num:
        return self.lay.num(self.trace, name, t, r, c)

    def shown_value(self, name: str, t: int, r: int, c: int) -> float:
        """A trace value as the slide shows it (rounded to its matrix's decimals)."""
        return parse_number(self.n(name, t, r, c).text)

    def equals(self, result: Num, from_shown: float) -> Token:
        """``=`` when the numbers on the slide give the shown result, else ``≈`` (they are rounded)."""
        return Token(f" {of_num(result, from_shown, self.p)} ")

    def with_eta(self, formula: str) -> str:
        """A formula with the learning rate, ``η``, stated beside it: ``ΔW = η Xᵀ·δ,  η = 1``."""
        return rf"{formula}, \quad \eta = {self.eta}"

    def src(self, k: int) -> str:
        return "X" if k == 1 else f"a{k - 1}"

    def cells(self, name: str, t: int, lay: Layout | None = None, rows_in: set[int] | None = None,
              cols_in: set[int] | None = None) -> list[tuple[int, int]]:
        """Result cells to work out: every shown cell when few, else the first ``limit`` shown ones; with
        ``rows_in``/``cols_in``, only cells whose operands the slide shows too."""
        lay = lay or self.lay
        m = self.trace.get(name, t)
        rows = [r for r in lay.shown(m.shape[0], lay.max_rows, per_example(name), self.trace, t)
                if rows_in is None or r in rows_in]
        cols = [c for c in lay.shown(m.shape[1], lay.max_cols, False) if cols_in is None or c in cols_in]
        return [(r, c) for r in rows for c in cols][: self.limit]

    def examples(self, n: int, t: int, lay: Layout) -> list[int | None]:
        """The example rows a sum over examples shows: the rows on the slide, ``None`` where rows are skipped."""
        return pick(n, lay.max_rows, lay.rows_at(self.trace, t), lay.groups_at(self.trace, t))

    def fitted(self, specs: list[Spec], ops: tuple[str, ...], lines: float | None) -> Layout:
        """The layout of one calculation slide: what fits above ``lines`` lines of worked steps and notes
        (None: room for the longest a slide has)."""
        return fit(self.trace, self.lay, specs, ops, height=room(6 if lines is None else lines))

    @staticmethod
    def settled(make) -> list[Slide]:
        """The slides ``make(lines)`` gives, laid out again for the lines of text they really have under their
        matrices, when that gives them more room and the text does not grow with it."""
        first = make(None)
        need = max(lines_below(s) for s in first)
        second = make(need)
        return second if max(lines_below(s) for s in second) <= need else first

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
    def matmul(self, t: int, k: int, lines: float | None = None) -> Slide:
        """``z{k} = a{k-1} · W{k} (+ b{k})``."""
        tr, src, W, z = self.trace, self.src(k), f"W{k}", f"z{k}"
        worked = []
        inner = tr.get(W, t).shape[0]
        ops = ("\u00b7", "+", "=") if tr.bias else ("\u00b7", "=")
        lay = self.fitted([Spec(src, t), Spec(W, t)] + ([Spec(f"b{k}", t)] if tr.bias else []) + [Spec(z, t)], ops, lines)
        inner_shown = visible(self.trace, lay, src, t, 1) & visible(self.trace, lay, W, t, 0)
        for r, c in self.cells(z, t, lay):
            pairs = self.cut(on_slide([(self.n(src, t, r, i), self.n(W, t, i, c)) for i in range(inner)], inner_shown))
            tokens = self.sum_terms(pairs)
            value = sum(self.shown_value(src, t, r, i) * self.shown_value(W, t, i, c) for i in range(inner))
            if tr.bias:
                tokens += [Token(" + "), *tok(self.n(f"b{k}", t, 0, c), wrap=True)]
                value += self.shown_value(f"b{k}", t, 0, c)
            zn = self.n(z, t, r, c)
            tokens += [self.equals(zn, value), *tok(zn)]
            worked.append(Worked(target=f"{z}:{r},{c}", rows=(f"{src}:{r}",), cols=(f"{W}:{c}",),
                                 cells=((f"b{k}:0,{c}",) if tr.bias else ()), tokens=tuple(tokens)))
        mats = [lay.matrix(tr, src, t), lay.matrix(tr, W, t)]
        if tr.bias:
            mats.append(lay.matrix(tr, f"b{k}", t))
        mats.append(lay.matrix(tr, z, t))
        return Slide("slides/matmul.html", f"t{t}-{z}", formula=tr.formula(z), matrices=tuple(mats),
                     worked=tuple(worked), worked_total=self.total(z, t), ops=ops,
                     ctx={"k": k, "left": tex_label(src), "right": tex_label(W), "inner": inner, "bias": tr.bias})

    def activate(self, t: int, k: int, lines: float | None = None) -> Slide:
        tr, z, a = self.trace, f"z{k}", f"a{k}"
        act = self.acts[k - 1]
        lay = self.fitted([Spec(z, t), Spec(a, t)], (FUNCTIONS[act].op,), lines)
        worked = []
        for r, c in self.cells(a, t, lay):
            zn, an = self.n(z, t, r, c), self.n(a, t, r, c)
            zs = self.shown_value(z, t, r, c)
            if act == "sigmoid":
                tokens = [Token("\u03c3("), *tok(zn), Token(") = 1 / (1 + e"),
                          Token(show(-zs, int(zn.precision or self.p)), kind="sup"), Token(")"), self.equals(an, 1 / (1 + np.exp(-zs)))]
            elif act == "tanh":
                tokens = [Token("tanh("), *tok(zn), Token(")"), self.equals(an, np.tanh(zs))]
            elif act == "softmax":
                worked.append(Worked(target=f"{a}:{r},{c}", rows=(f"{z}:{r}",), tokens=softmax_cell(self, t, k, r, c)))
                continue
            elif act == "linear":
                tokens = [*tok(zn), Token(" passed on unchanged"), self.equals(an, zs)]
            else:
                tokens = [Token("max(0, "), *tok(zn), Token(")"), self.equals(an, max(0.0, zs))]
            worked.append(Worked(target=f"{a}:{r},{c}", cells=(f"{z}:{r},{c}",), tokens=(*tokens, *tok(an))))
        return Slide("slides/squash.html", f"t{t}-{a}", formula=tr.formula(a),
                     matrices=(lay.matrix(tr, z, t), lay.matrix(tr, a, t)),
                     worked=tuple(worked), worked_total=self.total(a, t), ops=(FUNCTIONS[act].op,),
                     ctx={"k": k, "verb": FUNCTIONS[act].verb, "activation": act, "output": k == self.L,
                          "rowwise": act == "softmax", "identity": act == "linear"})

    def curve(self, t: int, k: int) -> Slide:
        """The activation function's own slide: its curve (one figure per function) with ``z{k}`` marked over it."""
        act = self.acts[k - 1]
        plot = frame(act)
        path = f"figures/{act}.svg"
        if not any(spec["path"] == path for spec in self.figures):
            self.figures.append(plot.spec(path))
        z = self.trace.get(f"z{k}", t)
        points = plot.points(z)
        nan = np.isnan(z)   # NaN is neither the smallest nor the largest (nor on the curve)
        low = np.unravel_index(np.argmin(np.where(nan, np.inf, z)), z.shape)
        high = np.unravel_index(np.argmax(np.where(nan, -np.inf, z)), z.shape)
        return Slide("slides/activation.html", f"t{t}-f{k}", formula=FUNCTIONS[act].definition,
                     ctx={"k": k, "t": t, "activation": act, "note": f"notes/{act}.html", "figure": path, "output": k == self.L,
                          "width": f"{plot.width:g}", "height": f"{plot.height:g}", "points": points,
                          "beyond": sum(p.beyond for p in points), "reach": f"{plot.x[1]:g}",
                          "count": int(z.size), "zmin": self.n(f"z{k}", t, *map(int, low)),
                          "zmax": self.n(f"z{k}", t, *map(int, high))})

    def slope(self, t: int, k: int) -> Slide:
        """The slope of layer ``k``'s activation, derived, with this iteration's sums marked on it."""
        act = self.acts[k - 1]
        plot = frame(act, slope=True)
        path = f"figures/{act}-slope.svg"
        if not any(spec["path"] == path for spec in self.figures):
            self.figures.append(plot.spec(path))
        z = np.asarray(self.trace.get(f"z{k}", t), dtype=float)
        slopes = np.asarray(FUNCTIONS[act].gradient(z), dtype=float)
        return Slide("slides/slope.html", f"t{t}-slope{k}", formula=FUNCTIONS[act].derivation,
                     ctx={"activation": act, "figure": path, "width": f"{plot.width:g}", "height": f"{plot.height:g}",
                          "points": plot.points(z), "steepest": FUNCTIONS[act].steepest, "layer": k,
                          "smallest": sig(float(np.nanmin(slopes)), self.p), "largest": sig(float(np.nanmax(slopes)), self.p),
                          "flat": int(np.sum(slopes < 0.01)), "count": int(slopes.size), "squashes": act != "relu"})

    def shows_curve(self, k: int) -> bool:
        """Whether layer ``k`` gets its activation's curve: not softmax (its own slide works it out) nor linear (a = z)."""
        return self.acts[k - 1] not in ("softmax", "linear")

    def shows_slope(self, k: int) -> bool:
        """Whether layer ``k``'s delta uses its activation's slope: not an output whose delta is the error itself."""
        return not (k == self.L and self.same)

    def error(self, t: int, lines: float | None = None) -> Slide:
        tr, L = self.trace, self.L
        e, a = f"e{L}", f"a{L}"
        lay = self.fitted([Spec("y", t), Spec(a, t), Spec(e, t)], (MINUS, "="), lines)
        worked = []
        for r, c in self.cells(e, t, lay):
            en = self.n(e, t, r, c)
            value = self.shown_value("y", t, r, c) - self.shown_value(a, t, r, c)
            tokens = [*tok(self.n("y", t, r, c)), Token(f" {MINUS} "), *tok(self.n(a, t, r, c), wrap=True),
                      self.equals(en, value), *tok(en)]
            worked.append(Worked(target=f"{e}:{r},{c}", cells=(f"y:{r},{c}", f"{a}:{r},{c}"), tokens=tuple(tokens)))
        return Slide("slides/error.html", f"t{t}-{e}", formula=tr.formula(e),
                     matrices=(lay.matrix(tr, "y", t), lay.matrix(tr, a, t), lay.matrix(tr, e, t)),
                     worked=tuple(worked), worked_total=self.total(e, t), ops=(MINUS, "="),
                     ctx={"loss": self.n("loss", t, 0, 0),
                          "mae": self.n("mae", t, 0, 0), "loss_formula": tr.formula("loss"),
                          "mae_formula": tr.formula("mae")})

    def delta(self, t: int, k: int, lines: float | None = None) -> Slide:
        tr, e, a, d = self.trace, f"e{k}", f"a{k}", f"d{k}"
        act = self.acts[k - 1]
        if not self.shows_slope(k):
            return self.same_delta(t, k, lines)
        lay = self.fitted([Spec(e, t), Spec(a, t), Spec(d, t)], (FUNCTIONS[act].slope_op, "="), lines)
        worked = []
        for r, c in self.cells(d, t, lay):
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
        return Slide("slides/delta.html", f"t{t}-{d}", formula=tr.formula(d),
                     matrices=(lay.matrix(tr, e, t), lay.matrix(tr, a, t), lay.matrix(tr, d, t)),
                     worked=tuple(worked), worked_total=self.total(d, t), ops=(FUNCTIONS[act].slope_op, "="),
                     ctx={"k": k, "output": k == self.L, "same": False, "slope_note": f"notes/{act}-slope.html"})

    def same_delta(self, t: int, k: int, lines: float | None = None) -> Slide:
        """The output delta of cross-entropy, or of a linear output on squared loss: the error itself."""
        tr, e, d = self.trace, f"e{k}", f"d{k}"
        lay = self.fitted([Spec(e, t), Spec(d, t)], ("=",), lines)
        worked = []
        for r, c in self.cells(d, t, lay):
            en, dn = self.n(e, t, r, c), self.n(d, t, r, c)
            if tr.output == "linear":
                tokens = [*tok(en, True), Token(" \u00b7 1"), self.equals(dn, self.shown_value(e, t, r, c)), *tok(dn)]
            else:               # cross-entropy: no slope factor at all
                tokens = [Token("e = "), *tok(en), Token(", so \u03b4 = "), *tok(dn)]
            worked.append(Worked(target=f"{d}:{r},{c}", cells=(f"{e}:{r},{c}",), tokens=tuple(tokens)))
        reason = "linear" if tr.loss == "squared" else tr.output
        return Slide("slides/delta.html", f"t{t}-{d}", formula=tr.formula(d),
                     matrices=(lay.matrix(tr, e, t), lay.matrix(tr, d, t)),
                     worked=tuple(worked), worked_total=self.total(d, t), ops=("=",),
                     ctx={"k": k, "output": True, "same": True, "same_note": f"notes/delta-{reason}.html"})

    def backprop(self, t: int, k: int, lines: float | None = None) -> Slide:
        """``e{k} = d{k+1} · W{k+1}ᵀ`` for a hidden layer."""
        tr, d, W, e = self.trace, f"d{k + 1}", f"W{k + 1}", f"e{k}"
        inner = tr.get(W, t).shape[1]
        lay = self.fitted([Spec(d, t), Spec(W, t, transposed=True), Spec(e, t)], ("\u00b7", "="), lines)
        worked = []
        inner_shown = visible(self.trace, lay, d, t, 1) & visible(self.trace, lay, W, t, 1)
        for r, c in self.cells(e, t, lay, cols_in=visible(self.trace, lay, W, t, 0)):
            pairs = self.cut(on_slide([(self.n(d, t, r, i), self.n(W, t, c, i)) for i in range(inner)], inner_shown))
            value = sum(self.shown_value(d, t, r, i) * self.shown_value(W, t, c, i) for i in range(inner))
            en = self.n(e, t, r, c)
            tokens = self.sum_terms(pairs) + [self.equals(en, value), *tok(en)]
            worked.append(Worked(target=f"{e}:{r},{c}", rows=(f"{d}:{r}", f"{W}:{c}"), tokens=tuple(tokens)))
        return Slide("slides/backprop.html", f"t{t}-{e}", formula=tr.formula(e),
                     matrices=(lay.matrix(tr, d, t), lay.matrix(tr, W, t, transposed=True),
                               lay.matrix(tr, e, t)),
                     worked=tuple(worked), worked_total=self.total(e, t), ops=("\u00b7", "="),
                     ctx={"k": k})

    def gradient(self, t: int, k: int, lines: float | None = None) -> list[Slide]:
        """``ΔW{k} = η · a{k-1}ᵀ · δ{k}`` (and ``Δb{k}``), summed over the examples on the slide."""
        tr, src, d, dW = self.trace, self.src(k), f"d{k}", f"dW{k}"
        n_examples = tr.get(d, t).shape[0]
        ops = ("\u00b7", "\u00d7 \u03b7 =")
        lay = self.fitted([Spec(src, t, transposed=True), Spec(d, t), Spec(dW, t)], ops, lines)
        rows = self.examples(n_examples, t, lay)
        worked = []
        for r, c in self.cells(dW, t, lay, rows_in=visible(self.trace, lay, src, t, 1), cols_in=visible(self.trace, lay, d, t, 1)):
            pairs = [None if i is None else (self.n(src, t, i, r), self.n(d, t, i, c)) for i in rows]
            value = self.lr * sum(self.shown_value(src, t, i, r) * self.shown_value(d, t, i, c) for i in range(n_examples))
            dn = self.n(dW, t, r, c)
            tokens = [Token(f"{self.eta} \u00b7 ("), *self.sum_terms(self.cut(pairs)), Token(")"),
                      self.equals(dn, value), *tok(dn)]
            worked.append(Worked(target=f"{dW}:{r},{c}", cols=(f"{src}:{r}", f"{d}:{c}"), tokens=tuple(tokens)))
        slides = [Slide("slides/gradient.html", f"t{t}-{dW}", formula=self.with_eta(tr.formula(dW)),
                        matrices=(lay.matrix(tr, src, t, transposed=True), lay.matrix(tr, d, t),
                                  lay.matrix(tr, dW, t)),
                        worked=tuple(worked), worked_total=self.total(dW, t), ops=ops,
                        ctx={"k": k, "left": tex_label(src) + r"^{\top}", "right": tex_label(d), "eta": self.eta,
                             "batch": tr.batch_size is not None, "rows": n_examples})]
        if tr.bias:
            db = f"db{k}"
            ops = ("\u2192 \u03b7 \u00d7 column sums \u2192",)
            lay = self.fitted([Spec(d, t), Spec(db, t)], ops, lines)
            rows = self.examples(n_examples, t, lay)
            worked = []
            for r, c in self.cells(db, t, lay):
                terms = [None if i is None else self.n(d, t, i, c) for i in rows]
                value = self.lr * sum(self.shown_value(d, t, i, c) for i in range(n_examples))
                dn = self.n(db, t, r, c)
                summed = ((Token(f"{self.eta} \u00b7 "), *tok(terms[0], wrap=True)) if len(terms) == 1 else
                          (Token(f"{self.eta} \u00b7 ("), *self.sum_terms(self.cut(terms)), Token(")")))
                worked.append(Worked(target=f"{db}:{r},{c}", cols=(f"{d}:{c}",),
                                     tokens=(*summed, self.equals(dn, value), *tok(dn))))
            slides.append(Slide("slides/bias-change.html", f"t{t}-{db}", formula=self.with_eta(tr.formula(db)),
                                matrices=(lay.matrix(tr, d, t), lay.matrix(tr, db, t)),
                                worked=tuple(worked), worked_total=self.total(db, t),
                                ops=ops,
                                ctx={"k": k, "batch": tr.batch_size is not None, "rows": n_examples}))
        return slides

    def update(self, t: int, k: int, name: str = "W", lines: float | None = None) -> Slide:
        tr, W, dW = self.trace, f"{name}{k}", f"d{name}{k}"
        specs = [Spec(W, t, caption=f"iteration {t}"), Spec(dW, t), Spec(W, t + 1, caption=f"iteration {t + 1}")]
        lay = self.fitted(specs, ("+", "="), lines)
        worked = []
        for r, c in self.cells(W, t, lay):
            new = self.n(W, t + 1, r, c)
            value = self.shown_value(W, t, r, c) + self.shown_value(dW, t, r, c)
            tokens = [*tok(self.n(W, t, r, c)), Token(" + "), *tok(self.n(dW, t, r, c), wrap=True),
                      self.equals(new, value), *tok(new)]
            worked.append(Worked(target=f"{W}:{r},{c}", cells=(f"{dW}:{r},{c}",), tokens=tuple(tokens)))
        after = lay.matrix(tr, W, t + 1, animate=True, caption=f"iteration {t + 1}")
        return Slide("slides/update.html", f"t{t}-update-{W}",
                     formula=rf"{tex_label(W)} \leftarrow {tex_label(W)} + {tex_label(dW)}",
                     matrices=(lay.matrix(tr, W, t, caption=f"iteration {t}"), lay.matrix(tr, dW, t), after),
                     worked=tuple(worked), worked_total=self.total(W, t), ops=("+", "="),
                     ctx={"name": tex_label(W), "t": t, "next": t + 1, "bias": name == "b"})

    def iteration(self, t: int) -> list[Slide]:
        """Every calculation step of iteration ``t``, in the order the network computes them."""
        L, slides = self.L, []

        def one(method, *args):
            return self.settled(lambda lines: [method(*args, lines=lines)])
        for k in range(1, L + 1):
            slides += one(self.matmul, t, k)
            if self.shows_curve(k):
                slides.append(self.curve(t, k))
            elif self.acts[k - 1] == "softmax":
                slides.append(softmax_slide(self, t, k))
            slides += one(self.activate, t, k)
        slides += one(self.error, t)
        if not default_pair(self.trace):      # the default talk states ½Σe² on the error slide
            slides.append(loss_slide(self, t))
        slides += one(self.delta, t, L)
        for k in range(L - 1, 0, -1):
            slides += [*one(self.backprop, t, k), *one(self.delta, t, k)]
        for k in range(1, L + 1):
            slides += self.settled(lambda lines, k=k: self.gradient(t, k, lines=lines))
        for k in range(1, L + 1):
            slides += one(self.update, t, k)
            if self.trace.bias:
                slides += one(self.update, t, k, "b")
        slides = [replace(s, worked=tuple(self.labelled(w, t) for w in s.worked)) for s in slides]
        return [replace(s, worked_at_once=True) for s in slides] if self.at_once else slides

    def labelled(self, w: Worked, t: int) -> Worked:
        """A worked cell of a matrix with a row per example, naming its row by the file's row number."""
        name, _, cell = w.target.partition(":")
        if split_name(name)[0] not in ("z", "a", "e", "d"):
            return w
        return replace(w, label=self.lay.label(self.trace, t, int(cell.partition(",")[0])))

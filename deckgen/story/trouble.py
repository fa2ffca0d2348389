"""The slide that explains a failed run with the evidence of its own numbers, and the cures that were tried.

Only causes the numbers support are named: examples that share a hidden code
but want different outputs, saturated units, outputs whose deltas are exactly
zero, a loss that rose. Commands and config keys go in the notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.core.evidence import evidence
from deckgen.core.learned import xor_like
from deckgen.story.slides import Slide
from deckgen.story.views import Layout, num

_TEMPLATES = {"stuck": "slides/trouble-stuck.html", "overshot": "slides/trouble-overshot.html",
              "diverged": "slides/trouble-overflow.html"}


def _unlearnable(trace, t: int) -> bool:
    """No hidden layer, and targets that are the XOR of two inputs: no single unit can separate them."""
    return len(trace.layers) == 2 and xor_like(np.asarray(trace.get("X", t)), np.asarray(trace.get("y", t))) is not None


def _telling_output(trace, t: int, r1: int, r2: int) -> int:
    """The output column that shows two examples' conflict: their targets differ and their deltas pull apart there."""
    L = len(trace.layers) - 1
    y, d = np.asarray(trace.get("y", t)), np.asarray(trace.get(f"d{L}", t))
    differ = [j for j in range(y.shape[1]) if y[r1, j] != y[r2, j]]
    return next((j for j in differ if d[r1, j] * d[r2, j] < 0), differ[0] if differ else 0)


def cures_slide(cures: tuple, diag: dict[str, Any], mae: str) -> Slide:
    """What was tried on a failed run and what each cure gave (``cures``: see ``deckgen.run.cures.cure_rows``)."""
    return Slide("slides/trouble-cures.html", f"{diag['kind']}-cures",
                 ctx={"cures": tuple(cures), "mae": mae, "all_helped": all(c["says"] == "helped" for c in cures),
                      "some_helped": any(c["says"] == "helped" for c in cures),
                      "longer_failed": diag["kind"] == "stuck" and any(c["setting"].startswith("training.iterations") and c["says"] != "helped"
                                           for c in cures)})


def trouble_slide(trace, layout: Layout, diag: dict[str, Any], final_t: int, eta: str, figure: str) -> Slide:
    """The trouble slide of a run diagnosed as stuck, overshot or diverged."""
    L = len(trace.layers) - 1
    t = final_t if diag["kind"] != "diverged" else diag["last_finite"]
    ev = evidence(trace, t) if trace.has(f"a{L}", t) else None
    ctx: dict[str, Any] = {"iteration_text": f"{diag['iteration']:,}", "learning_rate": eta, "figure": figure,
                           "mae": layout.num(trace, "mae", diag.get("last_finite", t) if diag["kind"] == "diverged" else t,
                                             0, 0), "t": f"{t:,}",
                           "rises": ev.rises if ev else 0,
                           "first_rise": f"{ev.first_rise:,}" if ev and ev.first_rise is not None else "",
                           "xor_unlearnable": _unlearnable(trace, t), "shared": None, "saturated": "", "saturated_all": False, "dead": None, "zero_inputs": "",
                           "batch": trace.batch_size is not None}
    if ev and ev.shared:
        r1, r2 = ev.shared
        k = L - 1
        # At the deck's precision: the codes and outputs are the same as far as the slide's own numbers go;
        # more decimals would show differences far too small to matter as if they were the point.
        p = layout.precision
        o = _telling_output(trace, t, r1, r2)
        one, two = ({"row": layout.label(trace, t, r), "code": tuple(num(trace, f"a{k}", t, r, j, p) for j in range(trace.layers[k])),
                     "target": num(trace, "y", t, r, o, p), "output": num(trace, f"a{L}", t, r, o, p),
                     "delta": num(trace, f"d{L}", t, r, o, p)} for r in (r1, r2))
        ctx["shared"] = {"one": one, "two": two, "flat": ev.shared_flat}
    if ev and ev.saturated:
        ctx["saturated"] = ", ".join(f"unit {j + 1}" + (f" of layer {k}" if L > 2 else "") for k, j in ev.saturated)
        ctx["saturated_all"] = len(ev.saturated) == sum(trace.layers[1:-1])
    # a delta of exactly 0 is a dead output only where the delta carries the output's slope (sigmoid, squared
    # loss); under cross-entropy or a linear output it means the output equals its target exactly
    if ev and ev.dead_output and trace.output == "sigmoid" and trace.loss == "squared":
        rows = ev.dead_output[: layout.max_rows]
        ctx["dead"] = {"sums": tuple(layout.num(trace, f"z{L}", t, r, 0) for r in rows),
                       "outputs": tuple(layout.num(trace, f"a{L}", t, r, 0) for r in rows),
                       "deltas": tuple(layout.num(trace, f"d{L}", t, r, 0) for r in rows),
                       "all": len(ev.dead_output) == trace.get(f"d{L}", t).shape[0]}
    if ev and ev.zero_inputs:
        ctx["zero_inputs"] = ", ".join(layout.label(trace, t, r) for r in ev.zero_inputs)
    if diag["kind"] == "stuck":
        del ctx["learning_rate"]          # a plateau is not a matter of step size: its slide does not mention it
    return Slide(_TEMPLATES[diag["kind"]], diag["kind"], ctx=ctx)

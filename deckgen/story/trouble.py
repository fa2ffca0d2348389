"""The slide that explains a failed run with the evidence of its own numbers, and the cures that were tried.

Only causes the numbers support are named: examples that share a hidden code
but want different outputs, saturated units, outputs whose deltas are exactly
zero, a loss that rose. Commands and config keys go in the notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.core.batches import chunks, epoch_means
from deckgen.core.activations import layer_activations
from deckgen.core.evidence import evidence
from deckgen.core.gradients import slope
from deckgen.core.learned import xor_like
from deckgen.story.slides import Slide
from deckgen.story.views import Layout, num, show, sig, tex_label

_TEMPLATES = {"stuck": "slides/trouble-stuck.html", "overshot": "slides/trouble-overshot.html",
              "diverged": "slides/trouble-overflow.html"}


def plateau(trace, diag: dict[str, Any], final_t: int, precision: int) -> dict[str, Any] | None:
    """What a slide may say of the plateau a stuck or overshot run ends on: where it starts (``t``), and either that
    the error stays there exactly (``exact``, at ``value``) or by how much it still falls (``fall``) over the
    iterations after (``span``). With mini-batches the fall is read from the epoch means. None without one."""
    if diag["kind"] not in ("stuck", "overshot") or diag["iteration"] >= final_t:
        return None
    start = int(diag["iteration"])
    mae = np.asarray(trace.series("mae"), dtype=float)
    if trace.batch_size is None:
        fall = mae[start] - mae[final_t]
    else:
        n, rows = chunks(trace.batch_size, len(trace.inputs["X"])), len(trace.inputs["X"])
        means = epoch_means(mae[: trace.iterations], trace.batch_size, rows)
        fall = means[min(start // n, len(means) - 1)] - means[-1]
    return {"t": f"{start:,}", "exact": bool(diag.get("exact")), "value": sig(mae[final_t], precision),
            "fall": sig(abs(fall), precision), "rose": fall < 0, "span": f"{final_t - start:,}"}


def _unlearnable(trace, t: int) -> bool:
    """No hidden layer, and targets that are the XOR of two inputs: no single unit can separate them."""
    return len(trace.layers) == 2 and xor_like(np.asarray(trace.get("X", t)), np.asarray(trace.get("y", t))) is not None


def _telling_output(trace, t: int, r1: int, r2: int) -> int:
    """The output column that shows two examples' conflict: their targets differ and their deltas pull apart there."""
    L = len(trace.layers) - 1
    y, d = np.asarray(trace.get("y", t)), np.asarray(trace.get(f"d{L}", t))
    differ = [j for j in range(y.shape[1]) if y[r1, j] != y[r2, j]]
    return next((j for j in differ if d[r1, j] * d[r2, j] < 0), differ[0] if differ else 0)


def _dead_range(trace, t: int, rows: tuple[int, ...], layout: Layout) -> dict[str, Any]:
    """The smallest and largest output sum of the examples whose output delta is exactly 0, and which of 0 and 1
    their outputs are exactly."""
    L = len(trace.layers) - 1
    z = np.asarray(trace.get(f"z{L}", t), dtype=float)[list(rows), 0]
    a = np.asarray(trace.get(f"a{L}", t), dtype=float)[list(rows), 0]
    low, high = (rows[int(np.argmin(z))], rows[int(np.argmax(z))])
    return {"low": layout.num(trace, f"z{L}", t, low, 0), "high": layout.num(trace, f"z{L}", t, high, 0),
            "exact": " or ".join(text for value, text in ((0.0, "0"), (1.0, "1")) if np.any(a == value))}


def _hidden_pull(trace, t: int, k: int, rows: tuple[int, int], precision: int) -> dict[str, Any]:
    """How little of the output's pull reaches the weights into hidden layer ``k`` for two examples: the largest
    slope of that layer's activation at them and the size of their largest hidden delta (derived values)."""
    act = layer_activations(len(trace.layers) - 1, trace.activation, trace.output)[k - 1]
    slopes = slope(act, np.asarray(trace.get(f"a{k}", t), dtype=float)[list(rows)])
    out: dict[str, Any] = {"slope": show(float(np.max(slopes)), precision), "weights": tex_label(f"W{k}"), "hidden_delta": ""}
    if trace.has(f"d{k}", t):
        out["hidden_delta"] = show(float(np.max(np.abs(np.asarray(trace.get(f"d{k}", t), dtype=float)[list(rows)]))),
                                   precision)
    return out


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
                           "plateau": plateau(trace, diag, final_t, layout.precision),
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
        ctx["shared"] = {"one": one, "two": two, "flat": ev.shared_flat, **_hidden_pull(trace, t, k, (r1, r2), p)}
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
                       "all": len(ev.dead_output) == trace.get(f"d{L}", t).shape[0], **_dead_range(trace, t, ev.dead_output, layout)}
    if ev and ev.zero_inputs:
        ctx["zero_inputs"] = ", ".join(layout.label(trace, t, r) for r in ev.zero_inputs)
    if diag["kind"] == "overshot":         # which quantity went up, besides the loss (its slide says)
        ctx["mae_rises"] = ev.mae_rises if ev else 0
    if diag["kind"] == "stuck":
        del ctx["learning_rate"]          # a plateau is not a matter of step size: its slide does not mention it
    return Slide(_TEMPLATES[diag["kind"]], diag["kind"], ctx=ctx)

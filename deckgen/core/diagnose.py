"""How a training run went, read from its error series: converged, stuck or diverged."""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.core.batches import chunks, epoch_means


def diagnose(trace) -> dict[str, Any]:
    """How training went: converged, stuck on a plateau, overshot, or diverged (with where, and a one-line message).

    Diverged means the numbers grew without bound: a value became infinite or NaN and
    training stopped there. Overshot means the error jumped up on the way and then
    ended no better than it started, though nothing grew without bound (steps so
    large that the units saturate and stop learning).

    With mini-batches each iteration's error is measured on its own batch, so
    the series read is the mean per epoch (iterations are still reported as
    iterations). Stuck means a plateau above 0.1; for a linear output, whose
    errors are in the target's units, above 0.1 of the target's range.
    """
    mae, step = _series(trace)
    if trace.stopped_at is not None:
        at = int(trace.stopped_at)
        return {"kind": "diverged", "reason": "overflow", "iteration": at, "last_finite": max(at - 1, 0),
                "message": f"training diverged at iteration {at:,}: a value became infinite or NaN"}
    final = float(mae[-1])
    start_t = 0
    if len(mae) >= 20 and final >= 0.98 * mae[0] and mae[: max(len(mae) // 10, 2)].max() > mae[0] * 1.01:
        start_t, exact = _plateau(mae, final, step)
        return {"kind": "overshot", "reason": "overshoot", "iteration": start_t, "exact": exact,
                "last_finite": len(trace.series("mae")) - 1, "final": final,
                "message": f"training overshot: from iteration {start_t:,} the error "
                           f"{'is stuck at' if exact else 'stays within 1% of'} {final:.3f}, no better than at the start"}
    if final > 0.1 * _scale(trace) and len(mae) >= 20:
        tail = mae[int(len(mae) * 0.8):]
        change = float(abs(tail[0] - tail[-1]) / max(tail[0], 1e-12))
        if change < 0.01:
            start_t, exact = _plateau(mae, final, step)
            return {"kind": "stuck", "iteration": start_t, "exact": exact, "final": final,
                    "message": f"training got stuck: the error stays {'at' if exact else 'within 1% of'} {final:.3f} "
                               f"from iteration {start_t:,}"}
    return {"kind": "converged", "final": final, "message": ""}


def _plateau(mae: np.ndarray, final: float, step: int) -> tuple[int, bool]:
    """Where the plateau the error ends on starts, and whether the error stays *exactly* at its final value from
    there. Exactly, when it does so for at least the last tenth of the run (a network whose numbers stopped
    moving); else from where it last differed from its final value by more than 1%."""
    moved = np.nonzero(mae != final)[0]
    start = int(moved[-1] + 1) if len(moved) else 0
    if len(mae) - start >= max(len(mae) // 10, 2):
        return start * step, True
    away = np.nonzero(np.abs(mae - final) > 0.01 * max(final, 1e-12))[0]
    return (int(away[-1] + 1) * step if len(away) else 0), False


def _series(trace) -> tuple[np.ndarray, int]:
    """The mae series the diagnosis reads, and how many iterations one of its entries spans."""
    mae = np.asarray(trace.series("mae"), dtype=float)
    size, n_rows = trace.batch_size, len(trace.inputs["X"])
    n = chunks(size, n_rows)
    trained = mae[: min(len(mae), trace.iterations)]
    if n == 1 or len(trained) < 2 * n:
        return mae, 1
    return epoch_means(trained, size, n_rows), n


def _scale(trace) -> float:
    """What an error of 1 means: 1 for outputs between 0 and 1, the target's range for a linear output."""
    if trace.output != "linear":
        return 1.0
    y = np.asarray(trace.inputs["y"], dtype=float)
    spread = float(y.max() - y.min()) if y.size else 0.0
    return spread if np.isfinite(spread) and spread > 0 else 1.0

"""Train a small fully connected network by gradient descent, recording every matrix.

The arithmetic is Trask's "A neural network in 11 lines of Python" (2015), one
step per iteration ``t``::

    z{k} = a{k-1} . W{k} (+ b{k})      a{k} = f(z{k})        (a0 = X)
    e{L} = y - a{L}                     d{L} = -dL/dz{L}
    e{k} = d{k+1} . W{k+1}^T            d{k} = e{k} * f'(a{k})   (k < L)
    dW{k} = eta * a{k-1}^T . d{k}       db{k} = eta * column sums of d{k}
    W{k} += dW{k}                       b{k} += db{k}           (after all deltas)

with ``f'`` written in terms of the activation's output (sigmoid ``a(1-a)``,
tanh ``1-a^2``, relu ``[a > 0]``). The output layer's function is sigmoid,
softmax or linear; its delta ``d{L}`` is ``e{L} * a{L}(1-a{L})`` for sigmoid
with squared loss and ``e{L}`` otherwise (see :mod:`deckgen.core.losses`).
With mini-batches (:mod:`deckgen.core.batches`) iteration ``t`` runs on its
batch's rows of ``X`` and ``y``.

Recording costs little: each recorded name has one preallocated array of shape
``(kept iterations, rows, cols)`` and the arithmetic writes straight into it
(``out=``); iterations that are not kept are computed into scratch arrays.
``loss`` and ``mae`` are worked out a chunk of iterations at a time from the
output errors (squared loss on every row), or as each iteration runs. A chunk in which anything became non-finite is run again one
iteration at a time to find where, and training stops there.
"""

from __future__ import annotations

import bisect
from typing import Callable, Iterable, Sequence

import numpy as np

from deckgen.core.activations import ACTIVATIONS, FUNCTIONS, OUTPUT, OUTPUTS, layer_activations
from deckgen.core.batches import batch_rows, normalize
from deckgen.core.kept import kept_iterations
from deckgen.core.losses import LOSS, loss_of, output_delta
from deckgen.core.ops import per_example
from deckgen.core.params import INIT_RANGE, checked, finite_prefix as _finite_prefix, initial_params, initial_weights
from deckgen.core.trace import BACKWARD_OPS, Trace, describe, pipeline

__all__ = ["ACTIVATIONS", "INIT_RANGE", "initial_weights", "train"]


_CHUNK = 1024  # iterations per chunk (fewer when the output errors are large)
_CHUNK_BYTES = 8 * 2**20  # memory for one chunk of output errors when not keeping every iteration


def train(
    X,
    y,
    layers: Sequence[int],
    *,
    activation: str = "sigmoid",
    output: str = OUTPUT,
    loss: str = LOSS,
    batch_size: int | None = None,
    learning_rate: float = 1.0,
    iterations: int = 60000,
    seed: int = 1,
    weights: Sequence | None = None,
    biases: Sequence | None = None,
    bias: bool = False,
    explain: Iterable[int] = (0,),
    checkpoints: int | Iterable[int] = 10000,
    memory_budget: int = 256 * 2**20,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = _CHUNK,
) -> Trace:
    """Train for ``iterations`` steps and return the :class:`Trace` of every matrix.

    Iterations run ``t = 0 .. T-1``; ``W{k}@T`` (and ``b{k}@T``) are the trained
    parameters and ``z a e loss mae`` at ``T`` their forward pass. Trask's
    printed "Output After Training" is the forward pass of his last loop turn,
    ``a{L}`` at ``T-1``, not ``a{L}`` at ``T``.

    Every iteration is kept when that fits ``memory_budget`` bytes; otherwise
    only ``explain`` (each with the iteration after it, whose weights its update
    produces), the ``checkpoints`` (every N iterations, or a list), ``T-1``
    and ``T`` are, while ``loss`` and ``mae`` are kept for every iteration. If a
    value becomes non-finite at iteration ``s``, training stops there:
    ``stopped_at = s``, and ``s-1`` plus whatever was finite at ``s`` are kept.

    ``output`` (sigmoid, softmax, linear) and ``loss`` (squared, cross_entropy)
    must go together (see :func:`deckgen.core.losses.pair_problem`).
    ``batch_size``: rows per mini-batch (None, or at least the number of rows:
    every row, every iteration).

    ``progress(done, T)``, when given, is called between chunks of iterations,
    at most about once per 1% of the run (for a progress bar). ``chunk``: at most
    this many iterations run between such calls; the trace does not depend on it.
    """
    layers, T, lr, X, y = checked(X, y, layers, activation, output, loss, iterations, learning_rate)
    params = initial_params(layers, weights, biases, bias, seed)
    shown = kept_iterations(T, explain, checkpoints)
    run = _Run(X, y, layers, activation, bias, lr, T, chunk, output, loss, normalize(batch_size, len(X)))
    kept = list(range(T + 1)) if run.bytes_per_iteration * (T + 1) <= memory_budget else shown
    with np.errstate(all="ignore"):
        return run.execute(params, kept, complete=len(kept) == T + 1, progress=progress)


class _Run:
    """The buffers and the loop of one training run.

    One iteration's arrays travel as a tuple ("slots") laid out as ``self.slots``
    names, followed by that iteration's ``X``, ``X^T`` and ``y``; ``W``/``b`` in
    the tuple of iteration ``t`` hold the parameters *at* ``t``, and the update
    writes them into the tuple of ``t+1``. Buffers are as tall as ``X``; with
    mini-batches a tuple holds views of their top rows, as many as its batch has.
    """

    def __init__(self, X, y, layers, activation, bias, lr, T, chunk=_CHUNK, output=OUTPUT, loss=LOSS, batch=None):
        self.X, self.XT, self.y = X, np.ascontiguousarray(X.T), y
        self.layers, self.activation, self.bias, self.lr, self.T = layers, activation, bias, lr, T
        self.output, self.loss_name, self.batch = output, loss, batch
        self.chosen = loss_of(output, loss)
        self.fast = batch is None and loss == "squared"    # loss and mae a chunk at a time, from the errors
        self.L = L = len(layers) - 1
        self.ops = describe(layers, activation, bias, output, loss)
        names = pipeline(layers, bias)[2:]
        self.step_names = [n for n in names if n not in ("loss", "mae")]
        self.slots = {n: i for i, n in enumerate(self.step_names)}
        self.iX = len(self.step_names)              # X, X^T and y follow the named slots
        self.full = (self.X, self.XT, self.y)
        self.rowwise = [per_example(n) for n in self.step_names]
        self.shapes = {n: self._shape(n) for n in self.step_names}
        self.bytes_per_iteration = 8 * sum(r * c for r, c in self.shapes.values())
        self.params = [n for n in self.step_names if self.ops[n][0] == "update"]
        self.backward = [n for n in names if self.ops[n][0] in BACKWARD_OPS]
        self.order = names
        self.eL = f"e{L}"
        self.chunk = max(1, min(int(chunk), _CHUNK_BYTES // (8 * y.size)))
        acts = layer_activations(L, activation, output)
        self.funcs = [(FUNCTIONS[a].forward, FUNCTIONS[a].delta) for a in acts[:-1]]
        self.funcs.append((OUTPUTS[output].forward, output_delta(output, loss)))
        # slot positions of W b z a e d dW db, each a list over layers 1..L (None without biases)
        self.layer_slots = [
            [self.slots[f"{p}{k}"] for k in range(1, L + 1)] if bias or "b" not in p else None
            for p in ("W", "b", "z", "a", "e", "d", "dW", "db")
        ]

    def _shape(self, name):
        k = int(name.lstrip("Wbzaed"))
        n = self.layers
        if name.startswith(("W", "dW")):
            return (n[k - 1], n[k])
        if name.startswith(("b", "db")):
            return (1, n[k])
        return (len(self.X), n[k])

    # -- the arithmetic ------------------------------------------------------------------

    def step(self, slots, scores=None):
        """Run iterations over ``slots`` (tuples for t, t+1, ...); a final ``None`` means forward only.

        ``scores``: a pair of arrays that receive the loss and mae of each iteration, as it runs.
        """
        lr, L, funcs, bias, iX = self.lr, self.L, self.funcs, self.bias, self.iX
        iW, ib, iz, ia, ie, id_, idW, idb = self.layer_slots
        scale = lr != 1.0
        back = range(L - 1, -1, -1)
        for i, (cur, nxt) in enumerate(zip(slots, slots[1:])):
            a = cur[iX]
            for k in range(L):
                z = cur[iz[k]]
                a.dot(cur[iW[k]], out=z)
                if bias:
                    np.add(z, cur[ib[k]], out=z)
                a = cur[ia[k]]
                funcs[k][0](z, a)
            np.subtract(cur[iX + 2], a, out=cur[ie[L - 1]])
            if scores is not None:
                scores[0][i], scores[1][i] = self.measure(cur)
            if nxt is None:
                return
            for k in back:
                e = cur[ie[k]]
                if k < L - 1:
                    d.dot(cur[iW[k + 1]].T, out=e)
                d = cur[id_[k]]
                funcs[k][1](e, cur[ia[k]], d)
            for k in back:
                d, dW = cur[id_[k]], cur[idW[k]]
                (cur[iX + 1] if k == 0 else cur[ia[k - 1]].T).dot(d, out=dW)
                if scale:
                    np.multiply(dW, lr, out=dW)
                np.add(cur[iW[k]], dW, out=nxt[iW[k]])
                if bias:
                    db = cur[idb[k]]
                    np.add.reduce(d, axis=0, keepdims=True, out=db)
                    if scale:
                        np.multiply(db, lr, out=db)
                    np.add(cur[ib[k]], db, out=nxt[ib[k]])

    @staticmethod
    def loss_mae(errors):
        """Squared ``loss`` and ``mae`` of each iteration in a stack of output errors (n, N, nL)."""
        flat = errors.reshape(len(errors), -1)
        return 0.5 * np.einsum("ij,ij->i", flat, flat), np.abs(flat).mean(axis=1)

    def measure(self, cur):
        """``loss`` and ``mae`` of the iteration whose slot tuple is ``cur``."""
        e = cur[self.slots[self.eL]]
        if self.fast:
            (loss,), (mae,) = self.loss_mae(e[None])
            return loss, mae
        return self.chosen.value(cur[self.iX + 2], cur[self.slots[f"a{self.L}"]], e), np.abs(e).mean()

    def at(self, t, arrays):
        """The slot tuple of iteration ``t`` over full-height ``arrays``: cut to its batch, with its X, X^T, y."""
        if self.batch is None:
            return (*arrays, *self.full)
        rows = batch_rows(t, self.batch, len(self.X), self.T)
        n, r0, r1 = len(rows), rows.start, rows.stop
        return (*(a[:n] if cut else a for a, cut in zip(arrays, self.rowwise)),
                self.X[r0:r1], self.XT[:, r0:r1], self.y[r0:r1])

    # -- the run -------------------------------------------------------------------------

    def execute(self, params, kept, complete, progress=None):
        T, n = self.T, len(kept)
        report, every = 0, max(1, T // 100)  # progress(done, T) at most about once per 1% of the run
        self.kept, self.complete = kept, complete
        self.index = {t: i for i, t in enumerate(kept)}
        self.bufs = {name: np.zeros((n, *shape)) for name, shape in self.shapes.items()}
        self.loss, self.mae = np.zeros(T + 1), np.zeros(T + 1)
        self.scratch = [np.zeros(self.shapes[name]) for name in self.step_names]
        if not complete:  # output errors of one chunk, so loss and mae cover every iteration
            self.ring = np.zeros((self.chunk, *self.shapes[self.eL]))
            e = self.slots[self.eL]
            self.ring_arrays = [[self.ring[i] if j == e else a for j, a in enumerate(self.scratch)]
                                for i in range(self.chunk)]
            self.ring_slots = [self.at(0, arrays) for arrays in self.ring_arrays] if self.batch is None else None
        state = [params[n] for n in self.params]
        before = (0, [p.copy() for p in state])  # where a replay starts: the previous chunk
        for c0 in range(0, T, self.chunk):
            c1 = min(c0 + self.chunk, T)
            start = (c0, [p.copy() for p in state])
            slots = self.chunk_slots(c0, c1)
            self.set_params(slots[0], state)
            if self.fast:
                self.step(slots)
                errors = self.bufs[self.eL][c0:c1] if complete else self.ring[: c1 - c0]
                self.loss[c0:c1], self.mae[c0:c1] = self.loss_mae(errors)
            else:
                self.step(slots, (self.loss[c0:c1], self.mae[c0:c1]))
            if self.chunk_finite(c0, c1, slots):
                if not complete:
                    for t in self.kept_in(c0, c1):
                        n = len(slots[t - c0][self.slots[self.eL]])
                        self.bufs[self.eL][self.index[t]][:n] = self.ring[t - c0][:n]
                state = [slots[-1][i] for i in self.param_slots]
                if progress is not None and c1 >= report:
                    progress(c1, T)
                    report = c1 + every
            else:
                state = self.replay(*before, c1)
                if isinstance(state, tuple):
                    return self.finish(*state)
            before = start
        final = self.at(T, self.views(T))
        self.set_params(final, state)
        self.step([final, None])
        self.loss[T], self.mae[T] = self.measure(final)
        values = self.named(final, self.loss[T], self.mae[T], forward_only=True)
        prefix = _finite_prefix(values)
        return self.finish(T if len(prefix) < len(values) else None, prefix)

    @property
    def param_slots(self):
        return [self.slots[n] for n in self.params]

    def set_params(self, slots, state):
        for i, p in zip(self.param_slots, state):
            np.copyto(slots[i], p)

    def views(self, t):
        """The named slots of kept iteration ``t`` (full height): views into the trace buffers."""
        i = self.index[t]
        return tuple(self.bufs[name][i] for name in self.step_names)

    def kept_in(self, c0, c1):
        return self.kept[bisect.bisect_left(self.kept, c0) : bisect.bisect_left(self.kept, c1)]

    def chunk_slots(self, c0, c1):
        """Slot tuples for iterations c0..c1 (c1 receives only the updated parameters)."""
        if self.complete:
            held = zip(*[list(self.bufs[name][c0 : c1 + 1]) for name in self.step_names])
            return [self.at(t, arrays) for t, arrays in enumerate(held, c0)]
        if self.batch is None:
            slots = self.ring_slots[: c1 - c0]
        else:
            slots = [self.at(t, arrays) for t, arrays in enumerate(self.ring_arrays[: c1 - c0], c0)]
        slots.append(self.at(c1, self.scratch))
        e = self.slots[self.eL]
        for t in self.kept_in(c0, c1 + 1):
            views = list(self.views(t))
            if t < c1:
                views[e] = self.ring[t - c0]
            slots[t - c0] = self.at(t, views)
        return slots

    def chunk_finite(self, c0, c1, slots):
        """Cheap check: did anything become non-finite in iterations c0..c1-1 (or W@c1)?"""
        if not (np.isfinite(self.loss[c0:c1]).all() and np.isfinite(self.mae[c0:c1]).all()):
            return False
        if not all(np.isfinite(slots[-1][i]).all() for i in self.param_slots):
            return False
        if self.complete:
            return all(np.isfinite(self.bufs[n][c0:c1]).all() for n in self.step_names)
        # Iterations not kept leave their values in the scratch arrays. A value that went
        # non-finite and back without reaching the loss or the weights (only a z beyond
        # 1e308 feeding a saturated unit could) is not seen here.
        held = [self.views(t) for t in self.kept_in(c0, c1)] + [self.scratch]
        return all(np.isfinite(a).all() for views in held for a in views)

    def named(self, slots, loss, mae, forward_only=False):
        """(name, value) of one iteration in pipeline order, loss and mae included."""
        values = {name: slots[i] for name, i in self.slots.items()}
        values.update(loss=np.float64(loss), mae=np.float64(mae))
        return [(n, values[n]) for n in self.order if not (forward_only and n in self.backward)]

    def replay(self, t0, state, t1):
        """Rerun t0..t1-1 from parameters ``state`` one iteration at a time, checking every value.

        Returns ``(s, names finite at s)`` at the first non-finite value, else the
        parameters at ``t1``.
        """
        before = None
        for t in range(t0, t1):
            cur = self.at(t, [np.zeros(self.shapes[n]) for n in self.step_names])
            nxt = self.at(t + 1, [np.zeros(self.shapes[n]) for n in self.step_names])
            self.set_params(cur, state)
            self.step([cur, nxt])
            loss, mae = self.measure(cur)
            values = self.named(cur, loss, mae)
            prefix = _finite_prefix(values)
            if "mae" in prefix:
                self.loss[t], self.mae[t] = loss, mae
            if len(prefix) < len(values):
                return self.stop_at(t, before, values)
            upcoming = [(n, nxt[self.slots[n]]) for n in self.params]
            if len(_finite_prefix(upcoming)) < len(upcoming):
                return self.stop_at(t + 1, values, upcoming)
            if t in self.index:
                self.store(self.index[t], values)
            before = values
            state = [nxt[i] for i in self.param_slots]
        return state

    def stop_at(self, s, before, at):
        """Keep ``s-1`` and what was finite at ``s`` in the slots after the kept iterations
        before them (``T-1`` and ``T`` are kept, so there are two)."""
        j = bisect.bisect_left(self.kept, s - 1)
        if before is not None:
            self.store(j, before)
        prefix = _finite_prefix(at)
        self.store(j + 1 if s > 0 else 0, at[: len(prefix)])
        return s, prefix

    def store(self, i, values):
        for name, value in values:
            if name in self.bufs:
                self.bufs[name][i][: len(value)] = value     # a batch fills the top rows

    def finish(self, stop, prefix):
        """Wrap the buffers into a Trace: a stack per name holds its kept iterations."""
        kept, T = self.kept, self.T
        if stop is None:
            last = T
            counts = {n: len(kept) - (n in self.backward) for n in self.step_names}
        else:
            kept = kept[: bisect.bisect_left(kept, stop - 1)] + ([stop - 1] if stop > 0 else [])
            counts = {n: len(kept) + (n in prefix) for n in self.step_names}
            last = stop if "mae" in prefix else stop - 1
            kept = kept + ([stop] if prefix else [])
        return Trace(
            layers=self.layers,
            activation=self.activation,
            bias=self.bias,
            learning_rate=self.lr,
            iterations=T,
            stopped_at=stop,
            kept=tuple(kept),
            complete=self.complete,
            inputs={"X": self.X, "y": self.y},
            stacks={n: self.bufs[n][: counts[n]] for n in self.step_names},
            scalars={"loss": self.loss[: last + 1], "mae": self.mae[: last + 1]},
            output=self.output,
            loss=self.loss_name,
            batch_size=self.batch,
        )


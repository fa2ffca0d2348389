"""Train a small fully connected network by full-batch gradient descent, recording every matrix.

The arithmetic is Trask's "A neural network in 11 lines of Python" (2015), one
step per iteration ``t``::

    z{k} = a{k-1} . W{k} (+ b{k})      a{k} = f(z{k})        (a0 = X)
    e{L} = y - a{L}                     d{L} = e{L} * f'(a{L})
    e{k} = d{k+1} . W{k+1}^T            d{k} = e{k} * f'(a{k})   (k < L)
    dW{k} = eta * a{k-1}^T . d{k}       db{k} = eta * column sums of d{k}
    W{k} += dW{k}                       b{k} += db{k}           (after all deltas)

with ``f'`` written in terms of the activation's output (sigmoid ``a(1-a)``,
tanh ``1-a^2``, relu ``[a > 0]``); the output layer is always a sigmoid.

Recording costs little: each recorded name has one preallocated array of shape
``(kept iterations, rows, cols)`` and the arithmetic writes straight into it
(``out=``); iterations that are not kept are computed into scratch arrays.
``loss`` and ``mae`` are worked out a chunk of iterations at a time from the
output errors. A chunk in which anything became non-finite is run again one
iteration at a time to find where, and training stops there.
"""

from __future__ import annotations

import bisect
from typing import Callable, Iterable, Sequence

import numpy as np

from deckgen.core.activations import ACTIVATIONS, layer_activations
from deckgen.core.kept import kept_iterations
from deckgen.core.trace import BACKWARD_OPS, Trace, describe, pipeline


_CHUNK = 1024  # iterations per chunk (fewer when the output errors are large)
_CHUNK_BYTES = 8 * 2**20  # memory for one chunk of output errors when not keeping every iteration


#: Random initial weights are uniform in [low, high).
INIT_RANGE = (-1, 1)


def initial_weights(layers: Sequence[int], seed: int) -> list[np.ndarray]:
    """Uniform weights in :data:`INIT_RANGE`, [-1, 1), drawn layer by layer from ``np.random.RandomState(seed)``.

    The same draws as Trask's ``2*np.random.random((n, m)) - 1`` after
    ``np.random.seed(seed)``: with seed 1, ``W1`` of a 3-4-1 network starts
    ``[-0.16595599, 0.44064899, -0.99977125, -0.39533485]``.
    """
    rs = np.random.RandomState(seed)
    low, high = INIT_RANGE
    return [(high - low) * rs.random_sample((n, m)) + low for n, m in zip(layers[:-1], layers[1:])]


def train(
    X,
    y,
    layers: Sequence[int],
    *,
    activation: str = "sigmoid",
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

    ``progress(done, T)``, when given, is called between chunks of iterations,
    at most about once per 1% of the run (for a progress bar). ``chunk``: at most
    this many iterations run between such calls; the trace does not depend on it.
    """
    layers = tuple(int(n) for n in layers)
    if len(layers) < 2 or min(layers) < 1:
        raise ValueError(f"layers must be at least two positive sizes, got {list(layers)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    T = int(iterations)
    if T < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    lr = float(learning_rate)
    if not np.isfinite(lr):
        raise ValueError(f"learning_rate must be finite, got {learning_rate}")
    X = _matrix("X", X, (None, layers[0]))
    if len(X) == 0:
        raise ValueError("X: needs at least one row")
    y = _matrix("y", np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y, (len(X), layers[-1]))
    params = _initial_params(layers, weights, biases, bias, seed)
    shown = kept_iterations(T, explain, checkpoints)
    run = _Run(X, y, layers, activation, bias, lr, T, chunk)
    kept = list(range(T + 1)) if run.bytes_per_iteration * (T + 1) <= memory_budget else shown
    with np.errstate(all="ignore"):
        return run.execute(params, kept, complete=len(kept) == T + 1, progress=progress)


def _initial_params(layers, weights, biases, bias, seed) -> dict[str, np.ndarray]:
    """``W{k}`` (and ``b{k}``, 1 x n_k) as float copies, checked against ``layers``."""
    pairs = list(zip(layers[:-1], layers[1:]))
    if weights is None:
        weights = initial_weights(layers, seed)
    if len(weights) != len(pairs):
        raise ValueError(f"weights: expected {len(pairs)} matrices for layers {list(layers)}, got {len(weights)}")
    params = {f"W{k}": _matrix(f"W{k}", w, shape) for k, (w, shape) in enumerate(zip(weights, pairs), 1)}
    if biases is not None and not bias:
        raise ValueError("biases were given but bias is off")
    if bias:
        biases = [np.zeros(m) for m in layers[1:]] if biases is None else biases
        if len(biases) != len(pairs):
            raise ValueError(f"biases: expected {len(pairs)} lists for layers {list(layers)}, got {len(biases)}")
        for k, (b, m) in enumerate(zip(biases, layers[1:]), 1):
            params[f"b{k}"] = _matrix(f"b{k}", np.reshape(b, (1, -1)), (1, m))
    return params


def _matrix(name: str, value, shape: tuple[int | None, int]) -> np.ndarray:
    array = np.array(value, dtype=np.float64, ndmin=2)
    if array.ndim != 2 or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        want = " x ".join("N" if n is None else str(n) for n in shape)
        raise ValueError(f"{name}: expected a {want} matrix, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains nan or infinity")
    return array


class _Run:
    """The buffers and the loop of one training run.

    One iteration's arrays travel as a tuple ("slots") laid out as ``self.slots``
    names; ``W``/``b`` in the tuple of iteration ``t`` hold the parameters *at*
    ``t``, and the update writes them into the tuple of ``t+1``.
    """

    def __init__(self, X, y, layers, activation, bias, lr, T, chunk=_CHUNK):
        self.X, self.XT, self.y = X, np.ascontiguousarray(X.T), y
        self.layers, self.activation, self.bias, self.lr, self.T = layers, activation, bias, lr, T
        self.L = L = len(layers) - 1
        self.ops = describe(layers, activation, bias)
        names = pipeline(layers, bias)[2:]
        self.step_names = [n for n in names if n not in ("loss", "mae")]
        self.slots = {n: i for i, n in enumerate(self.step_names)}
        self.shapes = {n: self._shape(n) for n in self.step_names}
        self.bytes_per_iteration = 8 * sum(r * c for r, c in self.shapes.values())
        self.params = [n for n in self.step_names if self.ops[n][0] == "update"]
        self.backward = [n for n in names if self.ops[n][0] in BACKWARD_OPS]
        self.order = names
        self.eL = f"e{L}"
        self.chunk = max(1, min(int(chunk), _CHUNK_BYTES // (8 * y.size)))
        acts = layer_activations(L, activation)
        self.funcs = [(ACTIVATIONS[a].forward, ACTIVATIONS[a].delta) for a in acts]
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

    def step(self, slots):
        """Run iterations over ``slots`` (tuples for t, t+1, ...); a final ``None`` means forward only."""
        X, XT, y, lr, L, funcs, bias = self.X, self.XT, self.y, self.lr, self.L, self.funcs, self.bias
        iW, ib, iz, ia, ie, id_, idW, idb = self.layer_slots
        scale = lr != 1.0
        back = range(L - 1, -1, -1)
        for cur, nxt in zip(slots, slots[1:]):
            a = X
            for k in range(L):
                z = cur[iz[k]]
                a.dot(cur[iW[k]], out=z)
                if bias:
                    np.add(z, cur[ib[k]], out=z)
                a = cur[ia[k]]
                funcs[k][0](z, a)
            np.subtract(y, a, out=cur[ie[L - 1]])
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
                (XT if k == 0 else cur[ia[k - 1]].T).dot(d, out=dW)
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
        """``loss`` and ``mae`` of each iteration in a stack of output errors (n, N, nL)."""
        flat = errors.reshape(len(errors), -1)
        return 0.5 * np.einsum("ij,ij->i", flat, flat), np.abs(flat).mean(axis=1)

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
            self.ring_slots = [tuple(self.ring[i] if j == e else a for j, a in enumerate(self.scratch)) for i in range(self.chunk)]
        state = [params[n] for n in self.params]
        before = (0, [p.copy() for p in state])  # where a replay starts: the previous chunk
        for c0 in range(0, T, self.chunk):
            c1 = min(c0 + self.chunk, T)
            start = (c0, [p.copy() for p in state])
            slots = self.chunk_slots(c0, c1)
            self.set_params(slots[0], state)
            self.step(slots)
            errors = self.bufs[self.eL][c0:c1] if complete else self.ring[: c1 - c0]
            self.loss[c0:c1], self.mae[c0:c1] = self.loss_mae(errors)
            if self.chunk_finite(c0, c1, slots):
                if not complete:
                    for t in self.kept_in(c0, c1):
                        self.bufs[self.eL][self.index[t]] = self.ring[t - c0]
                state = [slots[-1][i] for i in self.param_slots]
                if progress is not None and c1 >= report:
                    progress(c1, T)
                    report = c1 + every
            else:
                state = self.replay(*before, c1)
                if isinstance(state, tuple):
                    return self.finish(*state)
            before = start
        final = self.views(T)
        self.set_params(final, state)
        self.step([final, None])
        i = self.index[T]
        (self.loss[T],), (self.mae[T],) = self.loss_mae(self.bufs[self.eL][i : i + 1])
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
        """The slot tuple of kept iteration ``t``: views into the trace buffers."""
        i = self.index[t]
        return tuple(self.bufs[name][i] for name in self.step_names)

    def kept_in(self, c0, c1):
        return self.kept[bisect.bisect_left(self.kept, c0) : bisect.bisect_left(self.kept, c1)]

    def chunk_slots(self, c0, c1):
        """Slot tuples for iterations c0..c1 (c1 receives only the updated parameters)."""
        if self.complete:
            return list(zip(*[list(self.bufs[name][c0 : c1 + 1]) for name in self.step_names]))
        slots = self.ring_slots[: c1 - c0] + [tuple(self.scratch)]
        e = self.slots[self.eL]
        for t in self.kept_in(c0, c1 + 1):
            views = list(self.views(t))
            if t < c1:
                views[e] = self.ring[t - c0]
            slots[t - c0] = tuple(views)
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
            cur = tuple(np.zeros(self.shapes[n]) for n in self.step_names)
            nxt = tuple(np.zeros(self.shapes[n]) for n in self.step_names)
            self.set_params(cur, state)
            self.step([cur, nxt])
            (loss,), (mae,) = self.loss_mae(cur[self.slots[self.eL]][None])
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
                self.bufs[name][i] = value

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
        )


def _finite_prefix(values):
    """Names of the leading values that are all finite."""
    names = []
    for name, value in values:
        if not np.isfinite(value).all():
            break
        names.append(name)
    return names

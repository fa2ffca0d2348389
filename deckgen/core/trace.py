"""The record of a training run: named matrices per iteration, and how each was made.

A :class:`Trace` is read-only. ``get(name, t)`` returns the matrix called
``name`` at iteration ``t`` (see DESIGN.md, "Trace names"); ``op(name)`` and
``formula(name)`` say which operation made it and from which matrices, so a
reader (or a test) can recompute any number from the ones it came from.

On disk a trace is two files in one folder: ``trace.npz`` (one ``.npy`` per
name, stacked over the kept iterations) and ``trace.json`` (a manifest people
can read). Saving the same trace twice gives the same bytes.
"""

from __future__ import annotations

import bisect
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from deckgen import __version__
from deckgen.core.activations import OUTPUT
from deckgen.core.batches import batch_rows
from deckgen.core.losses import LOSS
from deckgen.core.ops import BACKWARD_OPS, INPUTS as _INPUTS, SCALARS as _SCALARS, describe, per_example, pipeline

FORMAT = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Held-out rows (``data.test_fraction``): their inputs and targets, and the trained network's output on them.
HELDOUT = ("Xtest", "ytest", "atest")
#: The files :meth:`Trace.save` writes into a folder.
FILES = ("trace.npz", "trace.json")


class MissingMatrix(KeyError):
    """``Trace.get`` was asked for a matrix the trace does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, eq=False, repr=False)
class Trace:
    """Named matrices of one training run (see DESIGN.md, "Trace names").

    ``stacks[name][i]`` is ``name`` at iteration ``kept[i]``; a name that does
    not exist at the later kept iterations (deltas at ``T``, whatever went
    non-finite at ``stopped_at``) simply has a shorter stack. ``series`` holds
    ``loss`` and ``mae`` for every iteration ``0..last``.

    ``complete``: every iteration is kept. ``light``: the run kept them all, but
    this copy (a deck folder's ``trace.npz``) holds only the iterations the deck
    shows; neither: the run itself kept only those, to stay within its memory
    budget. :attr:`kind` names the three.

    ``output`` and ``loss`` name the output function and the loss;
    ``batch_size`` is None when every iteration trains on every row. With
    mini-batches, ``get("X", t)``, ``get("y", t)`` and the matrices with one
    row per example (``z a e d``) hold the rows of :meth:`batch_rows` ``(t)``;
    their stacks are as tall as ``X`` (the forward pass at ``T`` uses every
    row), and a smaller batch fills only the top rows of its slot.
    """

    layers: tuple[int, ...]
    activation: str
    bias: bool
    learning_rate: float
    iterations: int
    stopped_at: int | None
    kept: tuple[int, ...]
    complete: bool
    inputs: Mapping[str, np.ndarray] = field(repr=False)
    stacks: Mapping[str, np.ndarray] = field(repr=False)
    scalars: Mapping[str, np.ndarray] = field(repr=False)
    light: bool = False
    heldout: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)   # see HELDOUT
    heldout_at: int | None = None      # the iteration whose weights made ``atest``
    output: str = OUTPUT
    loss: str = LOSS
    batch_size: int | None = None
    _ops: Mapping[str, tuple[str, tuple[str, ...], str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ops = describe(self.layers, self.activation, self.bias, self.output, self.loss)
        if self.heldout:
            L = len(self.layers) - 1
            weights = tuple(f"{p}{k}" for k in range(1, L + 1) for p in (("W", "b") if self.bias else ("W",)))
            ops.update({"Xtest": ("input", (), r"X_{\mathrm{test}}"), "ytest": ("input", (), r"y_{\mathrm{test}}"),
                        "atest": ("forward", ("Xtest", *weights),
                                  rf"a_{{\mathrm{{test}}}} = a_{{{L}}} \text{{ of }} X_{{\mathrm{{test}}}}")})
        object.__setattr__(self, "_ops", ops)
        for attr in ("inputs", "stacks", "scalars", "heldout"):
            arrays = dict(getattr(self, attr))
            for array in arrays.values():
                array.flags.writeable = False
            object.__setattr__(self, attr, MappingProxyType(arrays))
        missing = set(self._ops) - set(self.stacks) - set(_INPUTS) - set(_SCALARS) - set(self.heldout)
        if missing:
            raise ValueError(f"trace has no stack for {sorted(missing)}")

    # -- what is there -------------------------------------------------------------

    @property
    def last(self) -> int:
        """The last iteration with a complete forward pass (``T``, or before the stop)."""
        return len(self.scalars["loss"]) - 1

    @property
    def end(self) -> int:
        """The last iteration the run reached: ``stopped_at``, else ``iterations``."""
        return self.iterations if self.stopped_at is None else self.stopped_at

    @property
    def kind(self) -> str:
        """``"full"`` (every iteration), ``"light"`` (a deck's copy: the iterations it shows) or ``"budget"``
        (the run kept only the shown iterations, as every iteration did not fit its memory budget)."""
        return "full" if self.complete else "light" if self.light else "budget"

    def names(self) -> list[str]:
        """Recorded matrix names, in pipeline order."""
        return list(self._ops)

    def shape(self, name: str) -> tuple[int, int]:
        """The (rows, cols) of ``name``."""
        self._known(name)
        if name in _SCALARS:
            return (1, 1)
        array = self.inputs[name] if name in _INPUTS else self.heldout[name] if name in HELDOUT else self.stacks[name]
        return tuple(array.shape[-2:])  # type: ignore[return-value]

    def has(self, name: str, t: int) -> bool:
        """Whether ``get(name, t)`` would succeed."""
        if name not in self._ops or not isinstance(t, (int, np.integer)) or t < 0:
            return False
        if name in _INPUTS:
            return t <= self.end
        if name in _SCALARS:
            return t <= self.last
        if name in HELDOUT:
            return t == self.heldout_at if name == "atest" else t <= self.end
        i = bisect.bisect_left(self.kept, t)
        return i < len(self.stacks[name]) and self.kept[i] == t

    def batch_rows(self, t: int) -> range:
        """The rows of ``X`` iteration ``t`` used: every row without mini-batches, and at ``T``."""
        return batch_rows(int(t), self.batch_size, len(self.inputs["X"]), self.iterations)

    def get(self, name: str, t: int) -> np.ndarray:
        """The matrix ``name`` at iteration ``t``, always 2-D and read-only (with mini-batches: the batch's rows)."""
        if self.has(name, t):
            if name in HELDOUT:
                return self.heldout[name]
            if name in _SCALARS:
                return self.scalars[name][t : t + 1].reshape(1, 1)
            held = self.inputs[name] if name in _INPUTS else self.stacks[name][bisect.bisect_left(self.kept, t)]
            if self.batch_size is None or not (name in _INPUTS or per_example(name)):
                return held
            rows = self.batch_rows(t)
            return held[rows.start : rows.stop] if name in _INPUTS else held[: len(rows)]
        self._known(name)
        raise MissingMatrix(self._why_missing(name, int(t)))

    def value(self, name: str, t: int, row: int = 0, col: int = 0) -> float:
        """One number: ``get(name, t)[row, col]``."""
        return float(self.get(name, t)[row, col])

    def series(self, name: str) -> np.ndarray:
        """``loss`` or ``mae`` for every iteration ``0..last``."""
        if name not in _SCALARS:
            raise MissingMatrix(f"only 'loss' and 'mae' are recorded at every iteration, not {name!r}")
        return self.scalars[name]

    def op(self, name: str) -> tuple[str, tuple[str, ...]]:
        """The operation that made ``name`` and the names it was made from."""
        self._known(name)
        return self._ops[name][:2]  # type: ignore[return-value]

    def formula(self, name: str) -> str:
        """LaTeX of the operation that made ``name``."""
        self._known(name)
        return self._ops[name][2]

    def _known(self, name: str) -> None:
        if name not in self._ops:
            raise MissingMatrix(f"no matrix named {name!r}; this trace records {', '.join(self._ops)}")

    def _why_missing(self, name: str, t: int) -> str:
        where = f"{name} at iteration {t}"
        if name == "atest":
            return f"{where}: the held-out rows are evaluated once, with the weights of iteration {self.heldout_at}"
        if t < 0 or t > self.end:
            return f"{where}: the run covers iterations 0..{self.end}"
        if t == self.stopped_at or (name in _SCALARS and t > self.last):
            return f"{where}: training stopped at iteration {self.stopped_at}, where values became non-finite"
        if t == self.iterations and t in self.kept:
            return f"{where}: the last iteration ({t}) has a forward pass only, no deltas or updates"
        if self.light:
            return (
                f"{where} is not kept: this is a deck's light trace, which holds {_span(self.kept)} (the ones "
                f"the deck shows); build with deck.full_trace = true to keep every iteration"
            )
        return (
            f"{where} is not kept: keeping every iteration did not fit the memory budget, so this "
            f"trace keeps {_span(self.kept)}; list {t} in deck.explain or deck.checkpoints to keep it"
        )

    def subset(self, want: Sequence[int], *, light: bool = False) -> "Trace":
        """This trace keeping only the iterations ``want`` (all of which it keeps).

        ``light``: the copy is cut for a deck folder rather than to what a run
        over its memory budget keeps.
        """
        stacks = {}
        for name, stack in self.stacks.items():
            held = self.kept[: len(stack)]     # a shorter stack holds the first kept iterations
            idx = [bisect.bisect_left(held, t) for t in want if t in held]
            stacks[name] = np.ascontiguousarray(stack[idx])
        return Trace(layers=self.layers, activation=self.activation, bias=self.bias,
                     learning_rate=self.learning_rate, iterations=self.iterations, stopped_at=self.stopped_at,
                     kept=tuple(want), complete=False, inputs=dict(self.inputs), stacks=stacks,
                     scalars=dict(self.scalars), light=light, heldout=dict(self.heldout), heldout_at=self.heldout_at,
                     output=self.output, loss=self.loss, batch_size=self.batch_size)

    def __repr__(self) -> str:
        stop = "" if self.stopped_at is None else f", stopped_at={self.stopped_at}"
        mode = "".join(f", {k}={v!r}" for k, v in self._modes().items())
        return (
            f"Trace(layers={self.layers}, activation={self.activation!r}{mode}, bias={self.bias}, "
            f"learning_rate={self.learning_rate}, iterations={self.iterations}{stop}, "
            f"kept={len(self.kept)} iterations, kind={self.kind!r})"
        )

    # -- disk ------------------------------------------------------------------------

    def _modes(self) -> dict:
        """``output``, ``loss`` and ``batch_size`` where they differ from the defaults (sigmoid, squared, every row).

        A run with the defaults writes none of them, so its manifest is the one
        deckgen wrote before these settings existed, byte for byte.
        """
        modes = {"output": self.output, "loss": self.loss, "batch_size": self.batch_size}
        return {k: v for k, v in modes.items() if v != {"output": OUTPUT, "loss": LOSS, "batch_size": None}[k]}

    def manifest(self) -> dict:
        """The JSON-ready description written next to the arrays."""
        held = {"heldout_at": self.heldout_at} if self.heldout else {}
        return {**held,
            **self._modes(),
            "format": FORMAT,
            "deckgen": __version__,
            "layers": list(self.layers),
            "activation": self.activation,
            "bias": self.bias,
            "learning_rate": self.learning_rate,
            "iterations": self.iterations,
            "stopped_at": self.stopped_at,
            "last": self.last,
            "complete": self.complete,
            "kind": self.kind,
            "kept": _runs(self.kept),
            "names": self.names(),
            "shapes": {n: list(self.shape(n)) for n in self._ops},
            "counts": {n: len(a) for n, a in self.stacks.items()},
            "ops": {n: [op, list(args)] for n, (op, args, _) in self._ops.items()},
            "formulas": {n: tex for n, (_, _, tex) in self._ops.items()},
        }

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``folder/trace.npz`` and ``folder/trace.json``; same trace, same bytes."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {**self.inputs, **{n: self.stacks[n] for n in self._ops if n in self.stacks}, **self.scalars,
                  **self.heldout}
        arrays["kept"] = np.asarray(self.kept, dtype=np.int64)
        _write_atomic(folder / "trace.npz", lambda f: _write_npz(f, arrays))
        text = json.dumps(self.manifest(), sort_keys=True, indent=1, ensure_ascii=True) + "\n"
        _write_atomic(folder / "trace.json", lambda f: f.write(text.encode("ascii")))


def load_trace(folder_or_file: str | os.PathLike) -> Trace:
    """Read a trace written by :meth:`Trace.save` (give its folder or either file).

    Both kinds a deck folder may hold load the same way: a full trace, and a
    light one (``deck.full_trace = false``, the default); ``Trace.kind`` says which.
    """
    path = Path(folder_or_file)
    folder = path if path.is_dir() else path.parent
    meta = json.loads((folder / "trace.json").read_text(encoding="ascii"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder / 'trace.json'}: unknown trace format {meta.get('format')!r}")
    with np.load(folder / "trace.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    kept = tuple(int(t) for t in arrays.pop("kept"))
    return Trace(
        layers=tuple(meta["layers"]),
        activation=meta["activation"],
        bias=meta["bias"],
        learning_rate=meta["learning_rate"],
        iterations=meta["iterations"],
        stopped_at=meta["stopped_at"],
        kept=kept,
        complete=meta["complete"],
        light=meta.get("kind") == "light",
        output=meta.get("output", OUTPUT),
        loss=meta.get("loss", LOSS),
        batch_size=meta.get("batch_size"),
        inputs={n: arrays.pop(n) for n in _INPUTS},
        scalars={n: arrays.pop(n) for n in _SCALARS},
        heldout={n: arrays.pop(n) for n in HELDOUT if n in arrays},
        heldout_at=meta.get("heldout_at"),
        stacks=arrays,
    )


def _runs(ts: Sequence[int]) -> list[list[int]]:
    """Sorted iterations as inclusive [first, last] runs: 0,1,2,5 -> [[0, 2], [5, 5]]."""
    runs: list[list[int]] = []
    for t in ts:
        if runs and runs[-1][1] == t - 1:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return runs


def _span(ts: Sequence[int]) -> str:
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in _runs(ts)]
    return "iterations " + (", ".join(parts) if len(parts) <= 12 else ", ".join(parts[:12]) + ", ...")


def _write_npz(f: io.BufferedIOBase, arrays: Mapping[str, np.ndarray]) -> None:
    # np.savez stamps entries with the current time; fixed dates keep the bytes stable.
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)

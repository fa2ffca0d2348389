""""What if" variants: parse them, drop repeats, and fetch or train each one of the deck's network and set them side by side.

A variant is a table of config overrides (``deck.compare`` in the deck file, or
``--compare training.learning_rate=0.1,1,10`` on the command line). Each one is
trained like the main run, through the trace cache, with the variants that
miss the cache trained in parallel worker processes. Two slides come out: the
error curves of every run overlaid on one plot, and a table of each run's
final error and predictions.

Provenance: only numbers from the deck's own trace carry ``data-trace`` (the
"this talk" row of the table). A variant's numbers come from another run, so
they are plain text inside elements carrying ``data-variant="N"`` (N counts
the variants from 1, in the order given); ``trace.json`` of the deck does not
describe them.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deckgen.config import Config, parse_override
from deckgen.core.diagnose import diagnose
from deckgen.core.kept import final_iteration
from deckgen.core.trace import load_trace
from deckgen.data import load_dataset, resolve_layers
from deckgen.errors import ConfigError, DeckgenError
from deckgen.run.traces import obtain_trace, remember, train_for, trace_key

#: Keys a variant may change: the ones that change the run. (Slides come from the main config.)
TRAINING_SECTIONS = ("data.", "network.", "training.")
#: How the keys read on a slide.
_NAMES = {"training.learning_rate": "learning rate", "network.layers": "layers", "training.seed": "seed",
          "training.iterations": "iterations", "network.activation": "activation", "network.bias": "bias"}
#: A variant keeps only what the comparison slides need, so its runs stay small in memory and cache.
_VARIANT_DECK = {"deck.explain": [], "deck.checkpoints": []}


# --------------------------------------------------------------------------- parsing

def split_values(text: str) -> list[str]:
    """``"0.1,1,[3,4,1]"`` -> ``["0.1", "1", "[3,4,1]"]``: commas inside brackets or quotes stay."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _toml(value: Any) -> str:
    """A TOML literal for a value parsed from TOML (numbers, strings, booleans, lists)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def compare_override(options: tuple[str, ...] | list[str]) -> str | None:
    """``--compare`` options as one ``deck.compare=[...]`` override (None when there are none).

    Each option is ``KEY=V1,V2,...`` and gives one variant per value; several
    options add their variants one after the other. They replace the deck
    file's ``deck.compare``.
    """
    variants: list[dict] = []
    errors: list[str] = []
    for option in options:
        key, sep, raw = option.partition("=")
        values = split_values(raw)
        if not sep or not key.strip() or not values:
            errors.append(f"--compare {option}: expected KEY=V1,V2,... — write it like "
                          "--compare training.learning_rate=0.1,1,10")
            continue
        for text in values:
            try:
                k, v = parse_override(f"{key.strip()}={text}")
            except ConfigError as exc:
                errors += [m.replace("--set", "--compare", 1) for m in exc.messages]
                continue
            variants.append({k: v})
    if errors:
        raise ConfigError(*errors)
    if not variants:
        return None
    return "deck.compare=" + _toml(variants)


def _flat(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in ("data", "network", "training", "deck"):
            flat.update(_flat(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- variants

@dataclass(frozen=True)
class Variant:
    index: int                       # 1-based, in the order given
    label: str                       # "learning rate 10"
    overrides: dict[str, Any]
    config: Config


def label_of(overrides: dict[str, Any]) -> str:
    parts = []
    for key, value in overrides.items():
        name = _NAMES.get(key, key.rpartition(".")[2].replace("_", " "))
        if isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, float):
            text = f"{value:g}"
        elif isinstance(value, (list, dict)):
            text = json.dumps(value)
        else:
            text = str(value)
        parts.append(f"{name} {text.replace(',', ', ').replace('  ', ' ')}")
    return ", ".join(parts)


def variants_of(config: Config) -> list[Variant]:
    """One validated config per ``deck.compare`` entry; every problem is reported at once.

    A variant that would train the same run as the deck itself (``--compare
    training.learning_rate=0.1,1,10`` on a talk at 1), or as an earlier variant,
    is left out: the talk's own run already stands for it. The others keep
    their number in the order given.
    """
    out, errors = [], []
    for i, table in enumerate(config.deck.compare, 1):
        overrides = _flat(table)
        where = f"{config.where('deck.compare')}: deck.compare variant {i}"
        bad = [k for k in overrides if not k.startswith(TRAINING_SECTIONS)]
        if bad:
            errors.append(f"{where}: {', '.join(bad)} only change the slides, "
                          "not the run — a variant may change data.*, network.* and training.* keys")
            continue
        try:
            cfg = config.with_overrides({**overrides, **_VARIANT_DECK}, origin=where)
        except ConfigError as exc:
            errors += exc.messages
            continue
        out.append(Variant(index=i, label=label_of(overrides), overrides=overrides, config=cfg))
    if errors:
        raise ConfigError(*errors)
    return distinct(config, out)


def _run_spec(config: Config) -> dict:
    """What decides a run's numbers, as written in the config (not what only changes what is kept)."""
    spec = config.training_key()
    spec["data"].pop("rows", None)
    spec["training"].pop("memory_budget_mb", None)
    return spec


def distinct(config: Config, variants: list[Variant]) -> list[Variant]:
    """``variants`` without those whose run equals the deck's own or an earlier variant's.

    Equal settings are found from the configs alone; when two differ only in
    the data source or the layer sizes (``"auto"`` against a number), the data
    is loaded and the resolved layers and the matrices the network sees decide.
    """

    effective: dict[int, tuple | None] = {}

    def resolved(cfg: Config) -> tuple | None:
        if id(cfg) not in effective:
            try:
                dataset = load_dataset(cfg)
                layers = resolve_layers(cfg, dataset)
            except DeckgenError:      # the variant's own build reports it
                effective[id(cfg)] = None
            else:
                effective[id(cfg)] = (tuple(layers), dataset.X.shape, dataset.X.tobytes(),
                                      dataset.y.shape, dataset.y.tobytes())
        return effective[id(cfg)]

    def rest(spec: dict) -> dict:
        return {**spec, "data": None, "network": {**spec["network"], "layers": None}}

    runs = [(config, _run_spec(config))]
    kept = []
    for v in variants:
        spec = _run_spec(v.config)
        same = any(spec == other or (rest(spec) == rest(other) and resolved(v.config) is not None
                                     and resolved(v.config) == resolved(cfg))
                   for cfg, other in runs)
        if not same:
            kept.append(v)
            runs.append((v.config, spec))
    return kept


@dataclass
class Run:
    """What the comparison slides need from one run."""
    label: str
    index: int                        # 0 = the deck's own run
    mae: np.ndarray                   # every iteration 0..last
    final_t: int
    final_mae: float
    predictions: np.ndarray           # a{L} at final_t, N x nL
    diagnosis: dict
    trained: bool = False
    seconds: float = 0.0
    key: str = ""


def summarize(trace, label: str, index: int, **extra) -> Run:
    L = len(trace.layers) - 1
    t = final_iteration(trace)
    preds = np.full(trace.inputs["y"].shape, np.nan)
    if trace.has(f"a{L}", t):      # a run with mini-batches that stopped early has one batch's rows only
        rows = trace.batch_rows(t)
        preds[rows.start:rows.stop] = trace.get(f"a{L}", t)
    return Run(label=label, index=index, mae=np.asarray(trace.series("mae"), dtype=float), final_t=t,
               final_mae=float(trace.series("mae")[t]) if t < len(trace.series("mae")) else float("nan"),
               predictions=np.array(preds), diagnosis=diagnose(trace), **extra)


# --------------------------------------------------------------------------- training in parallel
# Variants that miss the cache train in worker processes, at most ``jobs`` at a time. A worker is a
# fresh ``python -c`` running :func:`worker_main`: nothing is forked from this process (which may be
# a server with threads running) and no main module is re-imported (notebooks, ``python -m deckgen``).
# It reports progress as ``progress DONE TOTAL`` lines on stdout and saves the trace into a folder.

def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of a worker: ``CONFIG.pickle OUT_FOLDER``."""
    config_file, folder = (argv if argv is not None else sys.argv[1:])[:2]
    with open(config_file, "rb") as f:
        config = pickle.load(f)
    dataset = load_dataset(config)
    layers = resolve_layers(config, dataset)

    def progress(done: int, total: int) -> None:
        print(f"progress {done} {total}", flush=True)

    trace = train_for(config, dataset, layers, progress=progress)
    trace.save(folder)
    print("done", flush=True)
    return 0


class VariantJobs:
    """Variants being fetched from the cache or trained; :meth:`results` waits for them."""

    def __init__(self, variants: list[Variant], *, cache=None, session=None, progress=None,
                 jobs: int | None = None) -> None:
        self.variants, self.cache, self.session = variants, cache, session
        self.runs: dict[int, Run] = {}
        self.keys: dict[int, str] = {}
        missing = []
        for v in variants:
            dataset = load_dataset(v.config)
            layers = resolve_layers(v.config, dataset)
            key = self.keys[v.index] = trace_key(v.config, dataset, layers)
            trace = obtain_trace(v.config, dataset, layers, key=key, cache=cache, session=session, lookup_only=True)
            if trace is not None:
                self.runs[v.index] = summarize(trace, v.label, v.index, key=key)
            else:
                missing.append(v)
        self.tmp = Path(tempfile.mkdtemp(prefix="deckgen-variants-")) if missing else None
        self.procs: list[subprocess.Popen] = []
        self.lock = threading.Lock()
        self.cancelled = False
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(jobs or os.cpu_count() or 1, len(missing) or 1)))
        self.futures = {v.index: self.pool.submit(self._train, v, progress(f"variant {v.index}: {v.label}")
                                                  if progress else None) for v in missing}

    def _train(self, v: Variant, bar) -> float:
        folder = self.tmp / str(v.index)
        config_file = self.tmp / f"{v.index}.pickle"
        config_file.write_bytes(pickle.dumps(v.config))
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])   # a checkout that is not installed works too
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        start = time.perf_counter()
        with self.lock:
            if self.cancelled:
                raise DeckgenError("cancelled")
            proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from deckgen.run.variants import worker_main; sys.exit(worker_main())",
                 str(config_file), str(folder)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            self.procs.append(proc)
        for line in proc.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "progress" and bar is not None:
                bar(int(parts[1]), int(parts[2]))
        err = proc.stderr.read()
        if proc.wait() != 0:
            last = next((l for l in reversed(err.strip().splitlines()) if l.strip()), f"exit code {proc.returncode}")
            raise DeckgenError(f"deck.compare variant {v.index} ({v.label}): training failed: {last}")
        return time.perf_counter() - start

    def results(self) -> list[Run]:
        try:
            for index, future in self.futures.items():
                seconds = future.result()
                v = next(v for v in self.variants if v.index == index)
                trace = load_trace(self.tmp / str(index))
                remember(trace, v.config, self.keys[index], cache=self.cache, session=self.session,
                         folder=self.tmp / str(index))
                self.runs[index] = summarize(trace, v.label, index, trained=True, seconds=seconds,
                                             key=self.keys[index])
        finally:
            self.close()
        return [self.runs[v.index] for v in self.variants]

    def cancel(self) -> None:
        """Stop every worker (the build failed or was interrupted) and clean up."""
        with self.lock:
            self.cancelled = True
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
        self.close()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main_label(config: Config, variants: list[Variant]) -> str:
    """The deck's own run described by the keys the variants change: "learning rate 1"."""
    changed = list(dict.fromkeys(k for v in variants for k in v.overrides))
    values = {}
    for key in changed:
        section, _, leaf = key.rpartition(".")
        value = getattr(getattr(config, section) if section else config, leaf, None)
        values[key] = _plain(value) if value is not None else "none"
    return label_of(values) or "this talk"


def changed_names(variants: list[Variant]) -> tuple[str, ...]:
    """How the keys the variants change read on a slide: ("learning rate", "layers")."""
    return tuple(dict.fromkeys(_NAMES.get(k, k.rpartition(".")[2].replace("_", " "))
                               for v in variants for k in v.overrides))

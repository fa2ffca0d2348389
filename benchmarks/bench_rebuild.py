"""Rebuilds in a warm ``deckgen serve`` process, against baselines measured in the same process.

    python benchmarks/bench_rebuild.py [--repeats 5] [--iterations 60000]

1. A presentation-only change (the title) to the default talk: the rebuild
   ``deckgen serve`` runs after a save, against the first (cold) build of the
   same process. Target: under 0.3 s.
2. A hyperparameter change (a new learning rate each time, so the trace cache
   cannot help): the rebuild, against training the same run alone
   (``deckgen.pipeline.train_for``), interleaved. Target: at most 1.3x.

Rebuilds are timed around ``DevServer.rebuild()``: reading the deck file,
building and publishing the new version to the browsers. The watcher's wait
for a burst of changes to settle (0.05 s by default) comes on top, by design.
The trace cache is a fresh folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from deckgen.run.traces import train_for  # noqa: E402
from deckgen.run.cache import TraceCache  # noqa: E402
from deckgen.config import load_config  # noqa: E402
from deckgen.data import load_dataset, resolve_layers  # noqa: E402
from deckgen.resources import default_deck  # noqa: E402
from deckgen.run.serve import DevServer  # noqa: E402


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, pattern
    path.write_text(new, encoding="utf-8")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=60000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="deckgen-bench-") as tmp:
        tmp = Path(tmp)
        deck = tmp / "talk.toml"
        shutil.copy(default_deck(), deck)
        overrides = [f"training.iterations={args.iterations}"]
        server = DevServer(deck, overrides, port=0, cache=TraceCache(tmp / "cache"), echo=lambda m: None)
        cold = timed(lambda: server.start(fail_fast=True, watch=False))
        slides = server.last_result.slides
        try:
            # 1. presentation only
            title = []
            for i in range(args.repeats):
                edit(deck, r"^title = .*$", f'title = "A neural network, take {i}"')
                title.append(timed(server.rebuild))
                assert server.state.error is None and not server.last_result.trained
            # 2. a new learning rate each time: the rebuild trains; so does the baseline
            rebuild, alone = [], []
            for i in range(args.repeats):
                rate = 1.0 + 0.01 * (i + 1)
                edit(deck, r"^learning_rate = .*$", f"learning_rate = {rate}")
                rebuild.append(timed(server.rebuild))
                assert server.state.error is None and server.last_result.trained
                config = load_config(deck, overrides)
                data = load_dataset(config)
                layers = resolve_layers(config, data)
                alone.append(timed(lambda: train_for(config, data, layers)))
        finally:
            server.stop()

    best_t, med_t = min(title), statistics.median(title)
    ratios = [r / a for r, a in zip(rebuild, alone)]
    print(f"default talk: {slides} slides, {args.iterations:,} iterations; {args.repeats} repeats")
    print(f"cold first build (serve start, trains)      {cold:7.3f} s")
    print(f"1. presentation-only rebuild  best {best_t:6.3f} s  median {med_t:6.3f} s  "
          f"({med_t / cold:.2f}x the cold build; target < 0.3 s)")
    print(f"2. hyperparameter rebuild     best {min(rebuild):6.3f} s  median {statistics.median(rebuild):6.3f} s")
    print(f"   training alone             best {min(alone):6.3f} s  median {statistics.median(alone):6.3f} s")
    print(f"   ratio rebuild / training   best {min(ratios):6.2f}x   median {statistics.median(ratios):6.2f}x"
          "  (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

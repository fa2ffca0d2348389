"""The render stage per slide: a deck explaining 10 iterations against the default talk, in one process.

    python benchmarks/bench_render.py [--repeats 5] [--explain 10]

Both decks are built with ``deckgen.build`` into fresh folders from a warm
trace cache (a fresh cache folder, filled by a first build of each that is not
counted), so training is not timed and the figures are drawn in this process.
Builds alternate (default talk, explained deck, ...). The figure reported is
``BuildResult.timings["render"]``: figures, HTML, assets and the trace file,
divided by the deck's slide count. Target: at most 3 ms per slide for the
explained deck.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from deckgen.config import load_config  # noqa: E402
from deckgen.pipeline import build  # noqa: E402
from deckgen.run.cache import TraceCache  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--explain", type=int, default=10, help="iterations the second deck explains (0, 1, ...)")
    args = ap.parse_args()

    decks = {"default talk": load_config(None),
             f"{args.explain} explained": load_config(None, [f"deck.explain={list(range(args.explain))}"])}
    per_slide: dict[str, list[float]] = {name: [] for name in decks}
    slides: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="deckgen-bench-") as tmp:
        tmp = Path(tmp)
        cache = TraceCache(tmp / "cache")
        for round_ in range(args.repeats + 1):      # round 0 fills the cache and imports: not counted
            for i, (name, config) in enumerate(decks.items()):
                result = build(config, tmp / f"deck-{round_}-{i}", cache=cache)
                assert not result.trained or round_ == 0
                slides[name] = result.slides
                if round_:
                    per_slide[name].append(result.timings["render"] / result.slides)

    base = statistics.median(per_slide["default talk"])
    print(f"render stage per slide, {args.repeats} builds of each, warm trace cache, one process")
    for name, times in per_slide.items():
        ms = [t * 1000 for t in times]
        print(f"{name:>14}: {slides[name]:4d} slides  best {min(ms):5.2f} ms  median {statistics.median(ms):5.2f} ms"
              f"  ({statistics.median(times) / base:.2f}x the default talk's median)")
    print("target: at most 3 ms per slide for the explained deck")
    return 0


if __name__ == "__main__":
    sys.exit(main())

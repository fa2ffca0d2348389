"""How much recording costs: Trask's bare 11-line loop against deckgen's train() on the same run.

    python benchmarks/bench_train.py [--repeats 5] [--iterations 60000]

Runs are interleaved (bare, train, bare, train, ...) and the best of each is
reported, so a busy moment on the machine hurts neither side alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from deckgen.core.train import train  # noqa: E402

X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
Y = np.array([[0, 1, 1, 0]]).T


def bare(iterations: int) -> np.ndarray:
    """Trask's "A neural network in 11 lines of Python", as published (seeded)."""
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, 4)) - 1
    syn1 = 2 * np.random.random((4, 1)) - 1
    for j in range(iterations):
        l1 = 1 / (1 + np.exp(-(np.dot(X, syn0))))
        l2 = 1 / (1 + np.exp(-(np.dot(l1, syn1))))
        l2_delta = (Y - l2) * (l2 * (1 - l2))
        l1_delta = l2_delta.dot(syn1.T) * (l1 * (1 - l1))
        syn1 += l1.T.dot(l2_delta)
        syn0 += X.T.dot(l1_delta)
    return syn0


def recorded(iterations: int, memory_budget: int) -> np.ndarray:
    trace = train(X, Y, [3, 4, 1], iterations=iterations, seed=1, memory_budget=memory_budget)
    return trace.get("W1", iterations)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=60000)
    args = parser.parse_args()
    n = args.iterations

    if not np.array_equal(bare(n), recorded(n, 256 * 2**20)):
        raise SystemExit("train() and the bare loop disagree on the final weights")
    times: dict[str, list[float]] = {"bare": [], "all": [], "checkpoints": []}
    for _ in range(args.repeats):
        times["bare"].append(timed(bare, n))
        times["all"].append(timed(recorded, n, 256 * 2**20))  # every iteration kept
        times["checkpoints"].append(timed(recorded, n, 0))  # only explain/checkpoints kept
    b = min(times["bare"])
    print(f"Trask 3-4-1, {n} iterations, best of {args.repeats}")
    print(f"  bare 11-line loop               {b:7.3f} s")
    for key, label in (("all", "train(), every iteration kept"), ("checkpoints", "train(), checkpoints only")):
        t = min(times[key])
        print(f"  {label:31s} {t:7.3f} s   ratio {t / b:.2f}")


if __name__ == "__main__":
    main()

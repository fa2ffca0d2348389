"""A cold ``deckgen build`` of the default talk against ``jupyter nbconvert --to slides --execute``.

    python benchmarks/bench_cold.py [--repeats 3] [--nb-venv PATH]

Both sides start a fresh process and produce a reveal.js deck of Trask's 3-4-1
network trained for 60,000 iterations:

* ``python -m deckgen build --no-cache`` (no trace cache: it trains);
* ``jupyter nbconvert --to slides --execute`` of a notebook this script
  writes: iteration 0 worked out cell by cell (a slide each, like the talk's
  step-by-step slides), the training loop keeping every matrix, a slide per
  checkpoint, the error curve drawn with matplotlib, and the predictions.

nbconvert and ipykernel are not deckgen dependencies. They are installed into
a separate virtual environment made for this benchmark (``--nb-venv``, by
default ``$XDG_CACHE_HOME/deckgen-bench/nbconvert-venv``), once.
Runs alternate (deckgen, nbconvert, ...) and the best of each is compared.
Target: deckgen at most 0.4x nbconvert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB_PACKAGES = ["nbconvert", "ipykernel", "numpy", "matplotlib"]


def md(text: str, slide: str = "slide") -> dict:
    return {"cell_type": "markdown", "metadata": {"slideshow": {"slide_type": slide}}, "source": text}


def code(text: str, slide: str = "slide") -> dict:
    return {"cell_type": "code", "metadata": {"slideshow": {"slide_type": slide}}, "source": text,
            "outputs": [], "execution_count": None}


def notebook() -> dict:
    """The default talk as a notebook: same data, seed, network, iterations and slides."""
    cells = [
        md("# A neural network, number by number\n\nTrask's 3-4-1 network, trained for 60,000 iterations."),
        code("import numpy as np\nnp.set_printoptions(precision=3, suppress=True)\n"
             "X = np.array([[0,0,1],[0,1,1],[1,0,1],[1,1,1]], dtype=float)\n"
             "y = np.array([[0,1,1,0]], dtype=float).T\nX, y"),
        md("## The network\n\n3 inputs, 4 hidden units, 1 output; sigmoid everywhere."),
        code("np.random.seed(1)\nsyn0 = 2*np.random.random((3,4)) - 1\nsyn1 = 2*np.random.random((4,1)) - 1\n"
             "syn0, syn1"),
        md("## Iteration 0, step by step"),
        code("sigmoid = lambda z: 1/(1+np.exp(-z))\nz1 = X.dot(syn0)\nz1"),
        code("l1 = sigmoid(z1)\nl1"),
        code("z2 = l1.dot(syn1)\nz2"),
        code("l2 = sigmoid(z2)\nl2"),
        code("l2_error = y - l2\nl2_error, np.mean(np.abs(l2_error))"),
        code("l2_delta = l2_error * l2 * (1 - l2)\nl2_delta"),
        code("l1_error = l2_delta.dot(syn1.T)\nl1_error"),
        code("l1_delta = l1_error * l1 * (1 - l1)\nl1_delta"),
        code("dW2 = l1.T.dot(l2_delta)\ndW2"),
        code("dW1 = X.T.dot(l1_delta)\ndW1"),
        code("syn1 + dW2, syn0 + dW1"),
        md("## Training: 60,000 iterations, every matrix kept"),
        code("T = 60000\nnp.random.seed(1)\nW1 = 2*np.random.random((3,4)) - 1\nW2 = 2*np.random.random((4,1)) - 1\n"
             "keep = {k: np.zeros((T+1,) + s) for k, s in [('W1',(3,4)),('W2',(4,1)),('a1',(4,4)),('a2',(4,1)),"
             "('e2',(4,1)),('d2',(4,1)),('e1',(4,4)),('d1',(4,4))]}\nmae = np.zeros(T+1)\n"
             "for t in range(T):\n"
             "    a1 = sigmoid(X.dot(W1)); a2 = sigmoid(a1.dot(W2))\n"
             "    e2 = y - a2; d2 = e2 * a2 * (1 - a2); e1 = d2.dot(W2.T); d1 = e1 * a1 * (1 - a1)\n"
             "    for k, v in (('W1',W1),('W2',W2),('a1',a1),('a2',a2),('e2',e2),('d2',d2),('e1',e1),('d1',d1)):\n"
             "        keep[k][t] = v\n"
             "    mae[t] = np.mean(np.abs(e2))\n"
             "    W2 = W2 + a1.T.dot(d2); W1 = W1 + X.T.dot(d1)\n"
             "mae[T] = np.mean(np.abs(y - sigmoid(sigmoid(X.dot(W1)).dot(W2))))\nmae[::10000]"),
    ]
    for t in range(0, 60000, 10000):
        cells.append(code(f"print('iteration {t:,}: error', mae[{t}])\nkeep['a2'][{t}], keep['W1'][{t}]"))
    cells.append(code("print('iteration 59,999: error', mae[59999])\nkeep['a2'][59999]"))
    cells += [
        code("%matplotlib inline\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(10, 4.6))\n"
             "ax.plot(mae); ax.set_yscale('log'); ax.set_xlabel('iteration'); ax.set_ylabel('mean absolute error')\n"
             "plt.show()"),
        md("## What the network learned"),
        code("keep['a2'][59999]"),
        md("## The end"),
    ]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def nb_venv(path: Path) -> Path:
    """The benchmark's own environment with nbconvert; made (once) when missing."""
    python = path / "bin" / "python"
    if not (path / "bin" / "jupyter-nbconvert").exists():
        print(f"making {path} with {', '.join(NB_PACKAGES)} (once)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *NB_PACKAGES], check=True)
    return path


def timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap.add_argument("--nb-venv", type=Path, default=cache / "deckgen-bench" / "nbconvert-venv")
    args = ap.parse_args()
    venv = nb_venv(args.nb_venv)

    deck_times, nb_times = [], []
    with tempfile.TemporaryDirectory(prefix="deckgen-bench-cold-") as tmp:
        tmp = Path(tmp)
        nb = tmp / "talk.ipynb"
        nb.write_text(json.dumps(notebook(), indent=1), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT), DECKGEN_NO_CACHE="1")
        nb_env = dict(os.environ, MPLBACKEND="Agg")
        for i in range(args.repeats):
            deck_times.append(timed([sys.executable, "-m", "deckgen", "build", "-q", "-o", str(tmp / f"deck{i}")],
                                    env=env, cwd=tmp))
            nb_times.append(timed([str(venv / "bin" / "jupyter-nbconvert"), "--to", "slides", "--execute",
                                   str(nb), "--output-dir", str(tmp / f"nb{i}")], env=nb_env, cwd=tmp))
        slides = (tmp / "nb0" / "talk.slides.html").read_text(encoding="utf-8").count("<section")
        deck_slides = (tmp / "deck0" / "index.html").read_text(encoding="utf-8").count("<section")

    ratio = min(deck_times) / min(nb_times)
    print(f"{args.repeats} runs each, alternating; fresh processes")
    print(f"deckgen build (no cache, {deck_slides} slides)   best {min(deck_times):6.2f} s   "
          f"median {statistics.median(deck_times):6.2f} s")
    print(f"nbconvert --to slides --execute ({slides} sections)   best {min(nb_times):6.2f} s   "
          f"median {statistics.median(nb_times):6.2f} s")
    print(f"ratio deckgen / nbconvert: {ratio:.2f}x best, "
          f"{statistics.median(deck_times) / statistics.median(nb_times):.2f}x median  (target <= 0.4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The same config gives byte-identical deck folders: every file, its name and its bytes.

Builds run in separate processes with different hash seeds and working folders,
so neither set ordering, nor timestamps, nor absolute paths can hide.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deckgen.pipeline import build
from deckgen.run.cache import TraceCache
from deckgen.config import load_config
from deckgen.resources import decks_dir

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "training.iterations=400", "--set", "deck.checkpoints=100"]


def contents(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_build(out: Path, cwd: Path, seed: str, *args: str, cache: Path | None = None) -> None:
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
    env.pop("DECKGEN_CACHE_DIR", None)
    if cache is None:
        env["DECKGEN_NO_CACHE"] = "1"
    else:
        env["DECKGEN_CACHE_DIR"] = str(cache)
    proc = subprocess.run([sys.executable, "-m", "deckgen", "build", "-q", "-o", str(out), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    pytest.param([], id="default"),
    pytest.param(["--compare", "training.learning_rate=0.5,4", "--set", "deck.theme=black"], id="compare"),
    pytest.param([str(decks_dir() / "iris.toml"), "--set", "training.iterations=300",
                  "--set", "deck.checkpoints=[1, 100, 300]"], id="iris-csv"),
])
def test_two_builds_are_byte_identical(args, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    # The first build trains (the cache is empty) and stores its run; the second reads it back
    # from the trace cache, in another folder, with another hash seed.
    run_build(tmp_path / "one" / "deck", tmp_path / "one", "1", *SMALL, *args, cache=tmp_path / "cache")
    assert any((tmp_path / "cache").rglob("entry.json"))
    run_build(tmp_path / "two" / "deck", tmp_path / "two", "2", *SMALL, *args, cache=tmp_path / "cache")
    first, second = contents(tmp_path / "one" / "deck"), contents(tmp_path / "two" / "deck")
    assert list(first) == list(second)
    assert first == second
    assert {"index.html", "trace.npz", "trace.json", ".deckgen.json", "figures/mae.svg"} <= set(first)


def test_the_same_process_builds_the_same_bytes_again(tmp_path):
    config = load_config(None, ["training.iterations=300", "deck.checkpoints=100"])
    build(config, tmp_path / "a")
    build(config, tmp_path / "b", cache=TraceCache(tmp_path / "cache"))
    build(config, tmp_path / "c", cache=TraceCache(tmp_path / "cache"))      # from the cache
    a, b, c = (contents(tmp_path / n) for n in "abc")
    assert a == b == c


def test_figures_and_trace_carry_no_dates_or_random_ids(tmp_path):
    build(load_config(None, ["training.iterations=300", "deck.checkpoints=100"]), tmp_path / "d")
    for svg in (tmp_path / "d" / "figures").glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<dc:date>" not in text
    import zipfile
    with zipfile.ZipFile(tmp_path / "d" / "trace.npz") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_figures_from_the_worker_process_are_the_same_bytes(tmp_path, monkeypatch):
    config = load_config(None, ["training.iterations=300", "deck.checkpoints=100"])
    monkeypatch.setenv("DECKGEN_FIGURE_WORKER", "1")    # on a machine with more than one core: the default
    build(config, tmp_path / "worker")
    monkeypatch.setenv("DECKGEN_FIGURE_WORKER", "0")
    build(config, tmp_path / "here")
    assert contents(tmp_path / "worker") == contents(tmp_path / "here")


def test_a_failing_figure_worker_falls_back_to_drawing_here(tmp_path, monkeypatch):
    import deckgen.pipeline

    import json

    def bad_job(self, trace, specs, folder, scratch):    # a job the worker cannot do: it exits with an error
        self.proc.stdin.write(json.dumps({"trace": str(scratch / "missing"), "specs": [], "out": str(folder)}) + "\n")
        self.proc.stdin.close()
        self.proc.stdin = None
        return True

    monkeypatch.setenv("DECKGEN_FIGURE_WORKER", "1")
    monkeypatch.setattr(deckgen.pipeline.FigureWorker, "send", bad_job)   # a worker that fails
    build(load_config(None, ["training.iterations=300", "deck.checkpoints=100"]), tmp_path / "d")
    assert (tmp_path / "d" / "figures" / "mae.svg").stat().st_size > 1000

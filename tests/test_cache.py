"""The trace cache: what reuses a run, what retrains, corrupt entries, size bound, the cache commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import deckgen.core.train
from deckgen.pipeline import build
from deckgen.run.session import Session
from deckgen.core.kept import wanted
from deckgen.run.cache import TraceCache, by_budget, default_dir, fit_to, training_key
from deckgen.run.traces import obtain_trace, train_for
from deckgen.commands.cli import cli
from deckgen.config import load_config
from deckgen.data import load_dataset, resolve_layers

SMALL = ["training.iterations=400", "deck.checkpoints=100"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DECKGEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DECKGEN_CACHE_SIZE_MB", raising=False)
    monkeypatch.delenv("DECKGEN_NO_CACHE", raising=False)


class Trainer:
    """A trainer for ``build(trainer=...)`` / ``obtain_trace(trainer=...)`` that counts the runs it trains."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, config, dataset, layers):
        self.calls.append(config.training.learning_rate)
        return train_for(config, dataset, layers)


@pytest.fixture
def trainings() -> Trainer:
    """Counts training runs (the cache must make these unnecessary)."""
    return Trainer()


@pytest.fixture
def cache(tmp_path) -> TraceCache:
    return TraceCache(tmp_path / "cache")


def cfg(*overrides: str):
    return load_config(None, [*SMALL, *overrides])


def key_of(config) -> str:
    data = load_dataset(config)
    return training_key(config, data, resolve_layers(config, data))


@pytest.fixture(scope="module")
def base_run():
    """The base config's trace, trained once for the key and reuse checks below."""
    config = cfg()
    data = load_dataset(config)
    trace = train_for(config, data, resolve_layers(config, data))
    return trace, by_budget(trace, config)


PRESENTATION = ['title="Another title"', "deck.precision=5", "deck.theme=black", "deck.explain=[0,3]",
                "deck.checkpoints=50", "data.rows=[0,3]", "deck.worked_cells=2", "deck.trask_names=true"]


@pytest.mark.parametrize("change", PRESENTATION)
def test_a_presentation_only_change_keeps_the_key_and_fits_the_cached_run(change, base_run):
    trace, budget = base_run
    assert key_of(cfg(change)) == key_of(cfg()), f"{change} changes the training key"
    assert fit_to(trace, cfg(change), budget) is not None, f"{change} needs iterations the run did not keep"


def test_a_presentation_only_change_does_not_retrain(cache, tmp_path, trainings):
    templates = tmp_path / "mine"
    (templates / "slides").mkdir(parents=True)
    (templates / "slides" / "end.html").write_text('<section id="end"><h2>Questions?</h2></section>\n')
    first = build(cfg(), tmp_path / "a", cache=cache, trainer=trainings)
    assert len(trainings.calls) == 1 and first.trained
    result = build(cfg('title="Another title"', "deck.explain=[0,3]", f'deck.templates="{templates}"'),
                   tmp_path / "b", cache=cache, trainer=trainings)
    assert len(trainings.calls) == 1 and result.trained is False
    html = (tmp_path / "b" / "index.html").read_text()
    assert "Questions?" in html and "Another title" in html


@pytest.mark.parametrize("change", [
    "training.learning_rate=0.5", "training.seed=2", "training.iterations=401", "network.layers=[3,5,1]",
    "network.activation=tanh", "network.bias=true", "data.dataset=trask-2layer", "training.memory_budget_mb=1",
])
def test_a_training_change_changes_the_key(change):
    assert key_of(cfg(change)) != key_of(cfg())


def test_a_training_change_retrains(cache, tmp_path, trainings):
    build(cfg(), tmp_path / "a", cache=cache, trainer=trainings)
    result = build(cfg("training.seed=2"), tmp_path / "b", cache=cache, trainer=trainings)
    assert len(trainings.calls) == 2 and result.trained


def test_the_key_follows_the_data_not_how_it_is_given():
    inputs = "data.inputs=[[0,0,1],[0,1,1],[1,0,1],[1,1,1]]"
    a, b = cfg(), cfg(inputs, "data.targets=[[0],[1],[1],[0]]")
    c = cfg(inputs, "data.targets=[[0],[1],[1],[1]]")
    keys = [key_of(config) for config in (a, b, c)]
    assert keys[0] == keys[1]          # the built-in trask data, written out: the same run
    assert keys[0] != keys[2]


def test_no_cache_always_trains(tmp_path, trainings):
    build(cfg(), tmp_path / "a", trainer=trainings)
    assert build(cfg(), tmp_path / "b", trainer=trainings).trained
    assert len(trainings.calls) == 2


def _entry_files(cache: TraceCache) -> list[Path]:
    [(_, _, folder)] = cache.entries()
    return [folder / "trace.npz", folder / "trace.json", folder / "entry.json"]


def obtain(config, cache: TraceCache, trainer: Trainer):
    """The run's trace through the cache, as a build gets it, without rendering a deck."""
    data = load_dataset(config)
    layers = resolve_layers(config, data)
    return obtain_trace(config, data, layers, key=training_key(config, data, layers), cache=cache, trainer=trainer)


def saved(trace, folder: Path) -> bytes:
    trace.save(folder)
    return (folder / "trace.npz").read_bytes()


@pytest.mark.parametrize("damage", ["flip", "truncate", "json", "entry", "missing"])
def test_a_corrupt_entry_is_detected_and_rebuilt(damage, cache, tmp_path, trainings):
    good = saved(obtain(cfg(), cache, trainings), tmp_path / "good")
    npz, manifest, entry = _entry_files(cache)
    if damage == "flip":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0x01
        npz.write_bytes(bytes(data))
    elif damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:1000])
    elif damage == "json":
        manifest.write_text(manifest.read_text().replace('"sigmoid"', '"tanh"'))
    elif damage == "entry":
        entry.write_text("{ not json")
    else:
        npz.unlink()
    again = obtain(cfg(), cache, trainings)
    assert len(trainings.calls) == 2
    assert cache.corrupt
    assert saved(again, tmp_path / "again") == good
    # ...and stored again, whole: the next lookup reuses it.
    assert saved(obtain(cfg(), cache, trainings), tmp_path / "reused") == good
    assert len(trainings.calls) == 2


def test_a_run_that_kept_only_some_iterations_is_reused_only_when_it_holds_what_is_needed(cache, trainings):
    tight = ["training.memory_budget_mb=0.1", "deck.explain=[0]"]
    obtain(cfg(*tight), cache, trainings)
    assert len(trainings.calls) == 1
    # Iterations 399 and 400 (T-1 and T) are always kept, so explaining 399 needs no training.
    assert 399 in obtain(cfg(*tight[:1], "deck.explain=[399]"), cache, trainings).kept
    assert len(trainings.calls) == 1
    # Iteration 7 was not kept: training again is the only way to show it.
    assert 7 in obtain(cfg(*tight[:1], "deck.explain=[7]"), cache, trainings).kept
    assert len(trainings.calls) == 2


def test_a_reused_run_gives_the_same_deck_as_a_fresh_one(cache, tmp_path):
    tight = "training.memory_budget_mb=0.1"
    build(cfg(tight, "deck.explain=[0,100]", "deck.checkpoints=50"), tmp_path / "warm", cache=cache)
    build(cfg(tight), tmp_path / "reused", cache=cache)          # cut down from the cached run
    build(cfg(tight), tmp_path / "fresh")                        # trained from scratch
    for name in ("trace.npz", "trace.json", "index.html"):
        assert (tmp_path / "reused" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_the_cache_keeps_the_whole_run_while_the_deck_folder_gets_the_light_copy(cache, tmp_path, trainings):
    from deckgen.core.trace import load_trace

    build(cfg("deck.explain=[0]"), tmp_path / "a", cache=cache, trainer=trainings)
    (_, _, entry), = cache.entries()
    stored, deck = load_trace(entry), load_trace(tmp_path / "a")
    assert stored.kind == "full" and stored.kept == tuple(range(401))
    assert deck.kind == "light" and deck.kept == (0, 1, 100, 200, 300, 399, 400)
    # the whole run serves a deck that explains another iteration, and a full deck, without training
    build(cfg("deck.explain=[7]"), tmp_path / "b", cache=cache, trainer=trainings)
    build(cfg("deck.full_trace=true"), tmp_path / "c", cache=cache, trainer=trainings)
    assert len(trainings.calls) == 1
    assert load_trace(tmp_path / "b").kept == (0, 7, 8, 100, 200, 300, 399, 400)
    whole = load_trace(tmp_path / "c")
    assert whole.kind == "full" and whole.kept == tuple(range(401))
    # and from the cache, the deck is the same, byte for byte, as a fresh one
    build(cfg("deck.explain=[7]"), tmp_path / "fresh")
    for name in ("trace.npz", "trace.json", "index.html"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_fit_to_cuts_a_trace_to_what_a_fresh_run_keeps():
    big = cfg("training.memory_budget_mb=0.1", "deck.explain=[0,5]")
    data = load_dataset(big)
    trace = deckgen.core.train.train(data.X, data.y, (3, 4, 1), iterations=400, explain=(0, 5), checkpoints=100,
                                memory_budget=10_000)
    small = cfg("training.memory_budget_mb=0.1")
    cut = fit_to(trace, small, False)
    assert list(cut.kept) == wanted(small)
    assert {0, 100, 200, 300, 399, 400} <= set(cut.kept) and 5 not in cut.kept
    for name in ("W1", "dW2", "a2"):
        for t in cut.kept:
            if trace.has(name, t):
                assert np.array_equal(cut.get(name, t), trace.get(name, t))
    assert fit_to(trace, cfg("training.memory_budget_mb=0.1", "deck.explain=[6]"), False) is None


def test_the_cache_stays_under_its_size_limit_least_recently_used_first(tmp_path):
    config = cfg()
    data = load_dataset(config)
    traces = [deckgen.core.train.train(data.X, data.y, (3, 4, 1), iterations=400, seed=s, checkpoints=100)
              for s in range(3)]
    probe = TraceCache(tmp_path / "probe")
    probe.put("e" * 64, traces[0])
    size = probe.info().size
    cache = TraceCache(tmp_path / "c", limit=int(size * 2.5))
    cache.put("a" * 64, traces[0], config)
    cache.put("b" * 64, traces[1], config)
    import os
    import time
    for i, key in enumerate(("a" * 64, "b" * 64)):   # make the order unambiguous on coarse clocks
        os.utime(cache._entry(key) / "entry.json", (time.time() - 100 + i, time.time() - 100 + i))
    assert cache.get("a" * 64) is not None                     # "a" is now the most recently used
    cache.put("c" * 64, traces[2], config)
    assert cache.info().entries == 2 and cache.info().size <= cache.limit
    assert cache.get("b" * 64) is None and cache.get("a" * 64) is not None
    assert TraceCache(tmp_path / "tiny", limit=10).put("d" * 64, traces[0]) is False   # too big to keep at all


@pytest.mark.parametrize("platform", ["unix", "macos", "windows"])
def test_the_cache_lives_where_platformdirs_puts_caches(platform, tmp_path, monkeypatch):
    import platformdirs
    import platformdirs.windows
    from platformdirs.macos import MacOS
    from platformdirs.unix import Unix
    from platformdirs.windows import Windows

    kind = {"unix": Unix, "macos": MacOS, "windows": Windows}[platform]
    monkeypatch.setattr(platformdirs, "PlatformDirs", kind)     # what platformdirs picks on that system
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    # Windows asks the shell for %LOCALAPPDATA%; on other systems a stand-in answers for it.
    monkeypatch.setattr(platformdirs.windows, "get_win_folder", lambda name: "C:\\Users\\ada\\AppData\\Local")
    expected = kind(appname="deckgen", appauthor=False).user_cache_path / "traces"
    assert default_dir() == expected
    assert expected.parts[-2:] == (("Cache", "traces") if platform == "windows" else ("deckgen", "traces"))
    if platform == "unix":
        assert default_dir() == Path.home() / ".cache" / "deckgen" / "traces"
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
        assert default_dir() == tmp_path / "elsewhere" / "deckgen" / "traces"
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_dir() == tmp_path / "explicit"


def test_cache_commands(tmp_path):
    runner = CliRunner()
    out = tmp_path / "deck"
    result = runner.invoke(cli, ["build", "-q", "-o", str(out), *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "xdg" / "deckgen" / "traces"
    info = runner.invoke(cli, ["cache", "info"])
    assert info.exit_code == 0 and str(folder) in info.output and ": 1 run, " in info.output
    cleared = runner.invoke(cli, ["cache", "clear"])
    assert cleared.exit_code == 0 and "Removed 1 cached run from" in cleared.output
    assert TraceCache(folder).info().entries == 0


def test_a_session_skips_loading_and_drawing_again(cache, tmp_path, trainings):
    session = Session()
    build(cfg(), tmp_path / "a", cache=cache, session=session, trainer=trainings)
    drawn = dict(session.figures)          # figure -> (what it read, digest, SVG bytes), made by drawing it
    assert drawn
    build(cfg('title="Again"'), tmp_path / "a", cache=cache, session=session, trainer=trainings)
    assert len(trainings.calls) == 1
    assert session.figures.keys() == drawn.keys()
    assert all(session.figures[k] is drawn[k] for k in drawn), "a figure was drawn again"
    assert (tmp_path / "a" / "figures" / "mae.svg").is_file()
    assert json.loads((tmp_path / "a" / ".deckgen.json").read_text())["files"]


def test_cache_clear_removes_only_what_deckgen_made(tmp_path, monkeypatch):
    """A cache folder pointed at a shared place keeps everyone else's files."""
    shared = tmp_path / "shared"
    monkeypatch.setenv("DECKGEN_CACHE_DIR", str(shared))
    runner = CliRunner()
    result = runner.invoke(cli, ["build", "-q", "-o", str(tmp_path / "deck"), *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    (shared / "myproject").mkdir()
    (shared / "myproject" / "notes.txt").write_text("mine")
    (shared / "photos" / "2024").mkdir(parents=True)
    (shared / "ab").mkdir()                                       # looks like a key prefix, is not ours
    (shared / "ab" / "holiday.jpg").write_bytes(b"\xff\xd8")
    (shared / "readme.txt").write_text("hello")
    (shared / ".put-not-ours").mkdir()
    (shared / ".put-not-ours" / "thesis.tex").write_text("x")
    stale = shared / ".put-stale"                                  # an interrupted write of ours
    stale.mkdir()
    (stale / "trace.npz").write_bytes(b"partial")
    before = sorted(p for p in shared.rglob("*") if "myproject" in str(p) or "photos" in str(p)
                    or p.name in {"holiday.jpg", "readme.txt", "thesis.tex"})

    cleared = runner.invoke(cli, ["cache", "clear"])

    assert cleared.exit_code == 0, cleared.output
    assert "Removed 1 cached run from" in cleared.output
    assert "Left 5 other items there that deckgen did not make" in cleared.output
    assert all(p.exists() for p in before)
    assert (shared / "myproject" / "notes.txt").read_text() == "mine"
    assert not stale.exists()
    assert TraceCache(shared).info().entries == 0


def test_eviction_leaves_files_it_did_not_write(tmp_path):
    cache = TraceCache(tmp_path, limit=0)
    key = "ab" + "0" * 62
    entry = tmp_path / "ab" / key
    entry.mkdir(parents=True)
    for name in ("trace.npz", "trace.json", "entry.json"):
        (entry / name).write_text("{}")
    (entry / "keep-me.txt").write_text("a user's file")
    cache.evict()
    assert (entry / "keep-me.txt").read_text() == "a user's file"
    assert not (entry / "trace.npz").exists()

"""``deckgen.build(config, out)``: the whole pipeline, written safely.

config -> dataset -> trace -> story -> HTML + figures + assets, built in a
temporary folder beside ``out`` and swapped into place only when complete, so a
failed or interrupted build leaves the last good deck as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import Config
from .data import Dataset, load_dataset, resolve_layers
from .output import check_out, install
from .story import Story, build_story

@dataclass
class BuildResult:
    out: Path
    slides: int
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: dict = field(default_factory=dict)
    trained: bool = True


def train_for(config: Config, dataset: Dataset, layers: tuple[int, ...], progress: Callable | None = None):
    """Train the network a config describes and return its trace."""
    import numpy as np

    from .train import train

    net, tr = config.network, config.training
    return train(
        dataset.X, dataset.y, layers,
        activation=net.activation, learning_rate=tr.learning_rate, iterations=tr.iterations, seed=tr.seed,
        weights=[np.array(w, dtype=float) for w in net.weights] if net.weights else None,
        biases=[np.array(b, dtype=float) for b in net.biases] if net.biases else None,
        bias=net.bias, explain=config.deck.explain, checkpoints=config.deck.checkpoints,
        memory_budget=int(tr.memory_budget_mb * 2**20),
    )


def default_out(config: Config) -> Path:
    return Path("build") / config.name


def write_deck(story: Story, trace, config: Config, folder: Path) -> list[Path]:
    """Render a story into an empty ``folder``: index.html, assets, figures and the trace."""
    from .render import copy_assets, draw_figures, make_environment, render_story
    from .resources import reveal_version

    user_dirs = tuple(p for p in (config.deck.templates,) if p is not None)
    env = make_environment(user_dirs)
    written = copy_assets(folder, story.theme, user_dirs)
    written += draw_figures(trace, story.figures, folder)
    html = render_story(env, story, reveal_version=reveal_version(), theme_css=f"assets/reveal/theme/{story.theme}.css")
    (folder / "index.html").write_text(html, encoding="utf-8")
    trace.save(folder)
    written += [folder / "index.html", folder / "trace.npz", folder / "trace.json"]
    return written


def build(config: Config, out: str | Path | None = None, *, force: bool = False,
          trainer: Callable | None = None) -> BuildResult:
    """Build the deck a config describes into ``out`` (default ``build/<name>``)."""
    out = Path(out) if out is not None else default_out(config)
    out = out.absolute()
    ours_before = check_out(out, force)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    dataset = load_dataset(config)
    layers = resolve_layers(config, dataset)
    lap("data")
    trace = (trainer or train_for)(config, dataset, layers)
    lap("train")
    story = build_story(config, dataset, trace)
    lap("story")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.deckgen-tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a deck is meant to be served and shared
    try:
        write_deck(story, trace, config, tmp)
        lap("render")
        install(tmp, out, ours_before)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    lap("write")
    return BuildResult(out=out, slides=len(story.slides), timings=timings, diagnosis=story.summary["diagnosis"])
